"""Periodic work, as (name, interval, actor path). The scheduler enqueues each on time.

Only one scheduler should run per deployment (`manage.py scheduler`, or the thread that
`manage.py serve` starts in embedded mode); the jobs are idempotent, so a second one (or
a restart) costs duplicate work, never wrong results.
"""

from __future__ import annotations

import logging
import threading
import time

from django.utils.module_loading import import_string

logger = logging.getLogger("tailor.scheduler")

SCHEDULE: list[tuple[str, float, str]] = [
    ("index-refresh", 60.0, "profiles.tasks.index_refresh"),
    ("collab-refresh", 600.0, "feed.tasks.collab_refresh"),
    ("interests-recluster", 24 * 3600.0, "profiles.tasks.interests_recluster_all"),
    ("renders-recover", 60.0, "generation.tasks.renders_recover"),
    ("bandit-refresh", 300.0, "generation.tasks.bandit_refresh"),  # before a plan reads the arms' statistics
    ("renders-plan", 1800.0, "generation.tasks.renders_plan"),
    ("orphans-prune", 24 * 3600.0, "generation.tasks.orphans_prune"),
    ("index-snapshot", 600.0, "profiles.tasks.index_snapshot"),
]


def schedule_run(*, once: bool = False, stop: threading.Event | None = None) -> None:
    """Enqueue every job when it is due; each is due at start, then every interval."""
    due = {name: 0.0 for name, _, _ in SCHEDULE}
    stop = stop or threading.Event()
    while not stop.is_set():
        now = time.monotonic()
        for name, interval, path in SCHEDULE:
            if now >= due[name]:
                message = import_string(path).send()
                logger.info("scheduled job=%s message=%s", name, message.message_id)
                due[name] = now + interval
        if once:
            return
        stop.wait(max(0.5, min(due.values()) - time.monotonic()))


def embedded_scheduler_start() -> threading.Thread:
    thread = threading.Thread(target=schedule_run, name="tailor-scheduler", daemon=True)
    thread.start()
    return thread
