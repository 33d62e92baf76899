"""Locust load on the mobile feed API of several web replicas (bench/locust_flow.py runs it).

Each simulated viewer is pinned to one replica (round robin over LOCUST_HOSTS) and one JWT from
LOCUST_TOKENS (a file, one token a line), and loops: a first feed page, following pages by
cursor, and now and then (LOCUST_REACT_WEIGHT) a like, skip or view of an item it was shown, with a
random think time of 0.5-1.5 x LOCUST_PACING_S between requests; bounded both by locust's --run-time and by
LOCUST_MAX_REQUESTS in all. Loopback only: the hosts are given, nothing else is contacted.
"""

from __future__ import annotations

import itertools
import os
import random
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

HOSTS = [h for h in os.environ.get("LOCUST_HOSTS", "http://127.0.0.1:8000").split(",") if h]
for _host in HOSTS:
    if urlparse(_host).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"load tests run on loopback only, not {_host}")
with open(os.environ["LOCUST_TOKENS"]) as _f:
    TOKENS = [line.strip() for line in _f if line.strip()]
MAX_REQUESTS = int(os.environ.get("LOCUST_MAX_REQUESTS", "0"))
PACING_S = float(os.environ.get("LOCUST_PACING_S", "0"))
PAGE_SIZE = int(os.environ.get("LOCUST_PAGE_SIZE", "10"))
REACT_WEIGHT = int(os.environ.get("LOCUST_REACT_WEIGHT", "1"))  # 0: read-only load

_viewers = itertools.count()
_requests = itertools.count(1)
_runner = None


@events.request.add_listener
def _stop_at_the_count(**_kwargs):
    if MAX_REQUESTS and next(_requests) == MAX_REQUESTS and _runner is not None:
        _runner.quit()


@events.init.add_listener
def _keep_runner(environment, **_kwargs):
    global _runner
    _runner = environment.runner


class Viewer(HttpUser):
    host = HOSTS[0]
    # Random think time around the pacing: viewers do not act in step (lock-step bursts would
    # measure queueing behind each other, not the service).
    wait_time = between(0.5 * PACING_S, 1.5 * PACING_S)

    def on_start(self):
        n = next(_viewers)
        self.base = HOSTS[n % len(HOSTS)]
        self.replica = f"replica {n % len(HOSTS)}"
        self.headers = {"Authorization": f"Bearer {TOKENS[n % len(TOKENS)]}"}
        self.cursor = None
        self.seen: list[int] = []
        self.rng = random.Random(n)

    def _page(self, cursor):
        path = f"/api/v1/feed?size={PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")
        name = "feed next page" if cursor else "feed first page"
        with self.client.get(self.base + path, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{self.replica}: HTTP {r.status_code} {r.text[:200]}")
                return
            body = r.json()
            if not body.get("items"):
                if cursor:  # the end of this viewer's feed: start a new session
                    self.cursor = None
                else:
                    r.failure(f"{self.replica}: an empty first page")
                return
            self.cursor = body.get("next_cursor") or None
            self.seen = [item["video"]["id"] for item in body["items"]]

    @task(2)
    def first_page(self):
        self._page(None)

    @task(6)
    def next_page(self):
        self._page(self.cursor)

    @task(REACT_WEIGHT)
    def react(self):
        if not self.seen:
            return self._page(None)
        event = {"video": self.rng.choice(self.seen), "kind": self.rng.choice(["like", "skip", "view"])}
        if event["kind"] == "view":
            event["watch_fraction"] = round(self.rng.random(), 2)
        with self.client.post(self.base + "/api/v1/interactions", json={"events": [event]}, headers=self.headers,
                              name="interaction", catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{self.replica}: HTTP {r.status_code} {r.text[:200]}")
