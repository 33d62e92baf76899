from django.core.management.base import BaseCommand

from feed.importers import interactions_import
from feed.management.commands._batch import open_input, print_report


class Command(BaseCommand):
    help = "Import interactions from JSON Lines (user, item, kind, value?, timestamp). Unknown users are created. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .jsonl file, or - for standard input")
        parser.add_argument("--no-fit", action="store_true",
                            help="do not fit the ranking weights to the imported history afterwards")

    def handle(self, *args, file, no_fit, **options):
        with open_input(file) as stream:
            report = interactions_import(stream=stream, progress=lambda line: self.stdout.write(line), fit=not no_fit)
        print_report(self, report, "interactions")
