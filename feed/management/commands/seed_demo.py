from django.conf import settings
from django.core.management.base import BaseCommand

from feed.demo import demo_seed


class Command(BaseCommand):
    help = "Load the demo catalogue and simulated viewers (idempotent). Skipped when TAILOR_SEED_DEMO=false."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even when TAILOR_SEED_DEMO is false.")

    def handle(self, *args, force, **options):
        if not (settings.SEED_DEMO or force):
            self.stdout.write("demo seeding is off (TAILOR_SEED_DEMO=false)")
            return
        result = demo_seed(progress=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS(f"demo ready: {result}"))
