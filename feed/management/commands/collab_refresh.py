from django.core.management.base import BaseCommand

from feed.collaborative import neighbours_refresh


class Command(BaseCommand):
    help = "Rebuild the item-item co-engagement table from the stored interactions."

    def handle(self, *args, **options):
        table = neighbours_refresh()
        self.stdout.write(self.style.SUCCESS(f"co-engagement table: {len(table.ids)} videos, {len(table.neighbours)} neighbour pairs"))
