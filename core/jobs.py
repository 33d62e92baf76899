"""Dramatiq plumbing: one log line per job, and the in-process worker for embedded mode."""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
from django.conf import settings
from dramatiq.middleware import Middleware

logger = logging.getLogger("tailor.job")


class JobLogMiddleware(Middleware):
    def __init__(self):
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker, message):
        with self._lock:
            self._started[message.message_id] = time.perf_counter()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            started = self._started.pop(message.message_id, None)
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        retries = message.options.get("retries", 0)
        if exception is None:
            status = "ok"
        else:
            status = f"error:{type(exception).__name__}"
        logger.log(
            logging.INFO if exception is None else logging.WARNING,
            "job id=%s actor=%s queue=%s status=%s retries=%s ms=%.1f args=%s%s",
            message.message_id,
            message.actor_name,
            message.queue_name,
            status,
            retries,
            ms,
            _short(message.args),
            f" error={exception}" if exception is not None else "",
        )

    after_skip_message = after_process_message


def _short(args) -> str:
    text = repr(args)
    return text if len(text) <= 200 else text[:197] + "..."


_embedded: dramatiq.Worker | None = None


def embedded_worker_start() -> dramatiq.Worker | None:
    """Start worker threads inside this process when jobs use the in-process broker."""
    global _embedded
    if settings.BROKER_KIND != "stub":
        return None
    if _embedded is None:
        _embedded = dramatiq.Worker(
            dramatiq.get_broker(), worker_threads=settings.EMBEDDED_WORKER_THREADS, worker_timeout=200
        )
        _embedded.start()
        logger.info("embedded worker started threads=%d", settings.EMBEDDED_WORKER_THREADS)
    return _embedded


def broker_ping(timeout: float = 2.0) -> None:
    """Raise if the broker cannot be reached right now."""
    if settings.BROKER_KIND == "stub":
        return
    if settings.BROKER_KIND == "redis":
        import redis

        client = redis.Redis.from_url(settings.BROKER_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    import pika

    params = pika.URLParameters(settings.BROKER_URL)
    params.socket_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    pika.BlockingConnection(params).close()


def queue_depths(queues: list[str]) -> dict[str, int | None]:
    """Messages waiting in each of these queues of the configured broker (None where it could
    not be read: /healthz reports a broken broker). The one place that knows each broker's API."""
    broker = dramatiq.get_broker()
    out: dict[str, int | None] = {}
    for queue in queues:
        try:
            if settings.BROKER_KIND == "stub":
                out[queue] = broker.queues[queue].qsize() if queue in broker.queues else 0
            elif settings.BROKER_KIND == "redis":
                out[queue] = int(broker.client.llen(f"{broker.namespace}:{queue}"))
            else:
                out[queue] = int(broker.get_queue_message_counts(queue)[0])
        except Exception:  # noqa: BLE001 - a depth is a reading, never a failure
            out[queue] = None
    return out
