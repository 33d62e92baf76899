"""Run the platform in one process: web server plus, on the in-process broker, the worker."""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.jobs import embedded_worker_start
from core.schedule import embedded_scheduler_start
from core.storage import bucket_ensure
from profiles import indexes


class Command(BaseCommand):
    help = "Serve the web app; with no broker URL set, also run the job worker in-process."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        bucket_ensure()
        index = indexes.items().ready(force=True)
        self.stdout.write(f"item index ready: {len(index)} videos")
        if embedded_worker_start():
            embedded_scheduler_start()
            from generation.rendering import renders_recover

            # The in-process queue died with the last process: queue its unfinished renders again.
            resent = renders_recover(everything_queued=True)
            self.stdout.write(f"jobs: in-process broker, worker and scheduler ({resent} unfinished renders resumed)")
            from generation.loops import loops_queue

            loops_queue(progress=self.stdout.write)  # moving pictures for the demo catalogue, at low priority
        self.stdout.write(f"Tailor is up: http://{addrport}/  (health: http://{addrport}/healthz)")
        # `serve` is the embedded mode of `make run`; production runs gunicorn (platform/Procfile).
        os.environ.setdefault("DJANGO_RUNSERVER_HIDE_WARNING", "true")
        call_command("runserver", addrport, use_reloader=False, use_threading=True)
