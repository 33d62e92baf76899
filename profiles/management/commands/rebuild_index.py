from django.core.management.base import BaseCommand, CommandError

from profiles import indexes


class Command(BaseCommand):
    help = "Rebuild FAISS indexes from the database, which is the source of truth."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=f"which indexes: {', '.join(indexes.ALL)} (default: all)")

    def handle(self, *args, names, **options):
        unknown = sorted(set(names) - set(indexes.ALL))
        if unknown:
            raise CommandError(f"unknown index {', '.join(unknown)}; choose from {', '.join(indexes.ALL)}")
        for name in names or list(indexes.ALL):
            def progress(done, total, name=name):
                self.stdout.write(f"{name}: indexed {done}/{total}")

            synced = indexes.ALL[name]()
            n = synced.rebuild(progress=progress)
            self.stdout.write(self.style.SUCCESS(f"{name} index rebuilt: {n} vectors ({synced.index.kind})"))
