import logging
import time

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from core.schedule import SCHEDULE

logger = logging.getLogger("tailor.scheduler")


class Command(BaseCommand):
    help = "Enqueue periodic jobs on their intervals (run exactly one of these per deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Enqueue every job once and exit.")

    def handle(self, *args, once, **options):
        due = {name: 0.0 for name, _, _ in SCHEDULE}
        while True:
            now = time.monotonic()
            for name, interval, path in SCHEDULE:
                if now >= due[name]:
                    message = import_string(path).send()
                    logger.info("scheduled job=%s message=%s", name, message.message_id)
                    due[name] = now + interval
            if once:
                return
            time.sleep(max(0.5, min(due.values()) - time.monotonic()))
