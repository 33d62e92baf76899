from django.core.management.base import BaseCommand

from feed.collaborative import neighbours_refresh
from feed.ease import ease_refresh
from feed.sequence import covisit_rebuild, covisit_trim


class Command(BaseCommand):
    help = ("Rebuild the item-item co-engagement table and refit the long-term model (EASE) from the stored "
            "interactions, and trim the sequence table (--rebuild-sequences: make it again from the log).")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild-sequences", action="store_true")

    def handle(self, *args, rebuild_sequences, **options):
        table = neighbours_refresh()
        self.stdout.write(self.style.SUCCESS(f"co-engagement table: {len(table.ids)} videos, {len(table.neighbours)} neighbour pairs"))
        table = ease_refresh()
        self.stdout.write(self.style.SUCCESS(f"long-term model (EASE): {len(table.ids)} videos, {len(table.neighbours)} pairs"))
        if rebuild_sequences:
            self.stdout.write(self.style.SUCCESS(f"sequence table rebuilt: {covisit_rebuild()} pairs"))
        else:
            self.stdout.write(self.style.SUCCESS(f"sequence table trimmed: {covisit_trim()} pairs removed"))
