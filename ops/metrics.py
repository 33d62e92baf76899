"""Prometheus series for /metrics, the one module that uses prometheus_client.

Two kinds of series:
- Measured in this process: request latency by view (django-prometheus's middleware) and feed
  latency (FeedLatencyMiddleware below). Under gunicorn, platform/gunicorn.conf.py points
  PROMETHEUS_MULTIPROC_DIR at a folder the workers share, so a scrape of any worker sums them all.
- Read at scrape time (TableCollector): render jobs, GPU-seconds, queue depth, index size and
  safety blocks. Job state lives in our tables, not in the worker that ran the job, so reading the
  tables gives every scrape the whole fleet's answer and no Dramatiq worker needs an exporter (or
  an HTTP server) of its own. These are gauges, not counters, even where they only grow in
  practice: rows go when an account is deleted, and a counter that drops reads as a reset, which
  rate() would turn into a spike.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

logger = logging.getLogger("tailor.metrics")

FEED_LATENCY = Histogram(
    "tailor_feed_latency_seconds",
    "Time to serve a feed page that answered 200, by surface (web: the first page, web_scroll: the next ones, api).",
    ["surface"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0),
)
# URL names of the feed's views, and the surface each one is.
FEED_VIEWS = {"feed:home": "web", "feed:page": "web_scroll", "v1:feed": "api"}


class FeedLatencyMiddleware:
    """Times the feed's views, whole (retrieval, ranking, serialization or templates), wherever
    they live: the web page, its infinite scroll, and the API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        surface = FEED_VIEWS.get(match.view_name) if match is not None else None
        # Only pages served: a redirect to the login page or a bad cursor is fast and says nothing.
        if surface is not None and response.status_code == 200:
            FEED_LATENCY.labels(surface=surface).observe(time.perf_counter() - started)
        return response


def _jobs():
    from django.db.models import Count, Sum

    from generation.models import RenderJob

    jobs = GaugeMetricFamily("tailor_render_jobs", "Render jobs in the job table, by state and model.", labels=["state", "model"])
    gpu = GaugeMetricFamily(
        "tailor_render_gpu_seconds",
        "GPU-seconds spent rendering (the sum of RenderJob.gpu_seconds over the job table), by model.",
        labels=["model"],
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    seconds: dict[str, float] = defaultdict(float)
    for row in RenderJob.objects.values("state", "model").annotate(n=Count("id"), s=Sum("gpu_seconds")).order_by():
        counts[row["model"]][row["state"]] = row["n"]
        seconds[row["model"]] += row["s"] or 0.0
    for model in sorted(counts):
        for state in RenderJob.State.values:  # every state, zeros too: a graph has no gap when a state empties
            jobs.add_metric([state, model], counts[model].get(state, 0))
        gpu.add_metric([model], round(seconds[model], 3))
    return [jobs, gpu]


def _queues():
    from ops.dashboard import broker_depth

    depth = GaugeMetricFamily("tailor_queue_depth", "Messages waiting in the broker, by queue.", labels=["queue"])
    for queue, n in broker_depth().items():
        if n is not None:  # unreadable right now; /healthz says why
            depth.add_metric([queue], n)
    return [depth]


def _index():
    from profiles import indexes

    vectors = GaugeMetricFamily("tailor_index_vectors", "Vectors in this process's FAISS index.", labels=["index"])
    rows = GaugeMetricFamily("tailor_index_rows", "Rows in the database the index mirrors.", labels=["index"])
    for name, synced_index in indexes.ALL.items():
        synced = synced_index()
        vectors.add_metric([name], len(synced.ready()))
        rows.add_metric([name], synced.table_count())
    return [vectors, rows]


def _safety():
    from django.db.models import Count

    from generation.models import SafetyDecision

    blocks = GaugeMetricFamily(
        "tailor_safety_blocks", "Safety checks that blocked a brief or a prompt, by kind and category.", labels=["kind", "category"]
    )
    checks = GaugeMetricFamily("tailor_safety_checks", "Safety checks recorded, allowed or not.")
    total = 0
    for row in SafetyDecision.objects.values("kind", "category", "allowed").annotate(n=Count("id")).order_by("kind", "category"):
        total += row["n"]
        if not row["allowed"]:
            blocks.add_metric([row["kind"], row["category"] or "unknown"], row["n"])
    checks.add_metric([], total)
    return [blocks, checks]


SECTIONS = {"jobs": _jobs, "queues": _queues, "index": _index, "safety": _safety}


class TableCollector(Collector):
    """The platform's state, read from the tables (and the broker) when Prometheus scrapes."""

    def collect(self):
        failed = GaugeMetricFamily("tailor_metrics_section_failed", "1 when a section of this scrape could not be read.",
                                   labels=["section"])
        for name, section in SECTIONS.items():
            try:
                families = section()
            except Exception as exc:  # one unreadable part must not take the others' series with it
                logger.warning("metrics section=%s failed: %s", name, exc)
                failed.add_metric([name], 1)
                continue
            failed.add_metric([name], 0)
            yield from families
        yield failed


def metrics_exposition() -> tuple[bytes, str]:
    """The text a scrape gets: this process's (or every gunicorn worker's) measured series, then the tables'."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        measured = CollectorRegistry()
        multiprocess.MultiProcessCollector(measured)
    else:
        measured = REGISTRY
    tables = CollectorRegistry(auto_describe=False)
    tables.register(TableCollector())
    return generate_latest(measured) + generate_latest(tables), CONTENT_TYPE_PLAIN_0_0_4  # every Prometheus reads it
