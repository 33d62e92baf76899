from django.core.management.base import BaseCommand

from feed.demo import demo_seed


class Command(BaseCommand):
    help = "Load the demo catalogue and simulated viewers (idempotent)."

    def handle(self, *args, **options):
        result = demo_seed(progress=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS(f"demo ready: {result}"))
