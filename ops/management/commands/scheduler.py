from django.core.management.base import BaseCommand

from core.schedule import schedule_run


class Command(BaseCommand):
    help = "Enqueue periodic jobs on their intervals (run exactly one of these per deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Enqueue every job once and exit.")

    def handle(self, *args, once, **options):
        schedule_run(once=once)
