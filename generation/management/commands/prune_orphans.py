from django.core.management.base import BaseCommand

from generation.rendering import orphans_prune


class Command(BaseCommand):
    help = "Delete rendered objects in storage that no Video points at, and abort multipart uploads left open."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args, dry_run, **options):
        result = orphans_prune(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {result['objects']} orphaned objects and {result['multipart_uploads']} open multipart uploads")
