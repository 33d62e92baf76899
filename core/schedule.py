"""Periodic work, as (name, interval, actor path). The scheduler process enqueues each on time.

Only one scheduler should run per deployment; the jobs are idempotent, so a
second one (or a restart) costs duplicate work, never wrong results.
"""

from __future__ import annotations

SCHEDULE: list[tuple[str, float, str]] = [
    ("index-refresh", 60.0, "profiles.tasks.index_refresh"),
    ("collab-refresh", 600.0, "feed.tasks.collab_refresh"),
    ("interests-recluster", 24 * 3600.0, "profiles.tasks.interests_recluster_all"),
]
