from django.core.management.base import BaseCommand

from feed.importers import catalog_import
from feed.management.commands._batch import open_input, print_report


class Command(BaseCommand):
    help = "Import videos from JSON Lines (external_id, title, description, tags, created_at?, video_url?). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .jsonl file, or - for standard input")

    def handle(self, *args, file, **options):
        with open_input(file) as stream:
            report = catalog_import(stream=stream, progress=lambda line: self.stdout.write(line))
        print_report(self, report, "catalogue")
