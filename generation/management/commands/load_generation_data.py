from django.core.management.base import BaseCommand

from generation.services import generation_data_load


class Command(BaseCommand):
    help = "Load the shipped concept vocabulary and prompt templates (idempotent; admin edits are kept)."

    def handle(self, *args, **options):
        result = generation_data_load(progress=lambda m: self.stdout.write(m))
        self.stdout.write(self.style.SUCCESS(f"generation data: {result}"))
