from django.core.management.base import BaseCommand

from profiles import indexes


class Command(BaseCommand):
    help = "Rebuild the FAISS item index from the database, which is the source of truth."

    def handle(self, *args, **options):
        def progress(done, total):
            self.stdout.write(f"indexed {done}/{total}")

        n = indexes.items().rebuild(progress=progress)
        self.stdout.write(self.style.SUCCESS(f"item index rebuilt: {n} vectors"))
