"""The GPU worker fleet: workers advertise the models they keep warm, and renders route to them.

Loading a video model takes minutes and tens of GB of GPU memory, so a render should go to a
worker that already holds its model. A GPU worker started with TAILOR_WORKER_MODELS=a,b:
1. loads those pipelines at boot (they are never evicted, see renderer._evict);
2. then consumes each model's own queue, gpu.<model>, beside the shared gpu queue;
3. and advertises itself with a heartbeat row (GpuWorker) every FLEET_HEARTBEAT_S.

A render is sent to its model's queue when a live worker advertises that model, else to the
shared queue, where any GPU worker takes it and loads the model on demand. When the last worker
of a model goes away, the recovery sweep sends its queued renders again, to the shared queue.
The broker does the delivery: there is no scheduler of ours between jobs and workers.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.backends.signals import connection_created
from django.utils import timezone
from dramatiq.middleware import Middleware

logger = logging.getLogger("tailor.fleet")

GPU_QUEUE = "gpu"
_ROUTE_CACHE_S = 2.0
_routes: tuple[float, frozenset[str]] = (0.0, frozenset())
_routes_lock = threading.Lock()


def model_queue(model: str) -> str:
    """The queue of the workers that keep `model` warm."""
    return f"{GPU_QUEUE}.{re.sub(r'[^A-Za-z0-9_-]+', '-', model)}"


def live_workers():
    from generation.models import GpuWorker

    return GpuWorker.objects.filter(seen_at__gte=timezone.now() - timedelta(seconds=3 * settings.FLEET_HEARTBEAT_S))


def warm_models(*, fresh: bool = False) -> frozenset[str]:
    """Models some live worker advertises (looked up at most every two seconds per process)."""
    global _routes
    with _routes_lock:
        checked, models = _routes
        if fresh or time.monotonic() - checked > _ROUTE_CACHE_S:
            models = frozenset(m for warm in live_workers().values_list("warm", flat=True) for m in warm)
            _routes = (time.monotonic(), models)
        return models


def queue_for(model: str, *, fresh: bool = False) -> str:
    return model_queue(model) if model in warm_models(fresh=fresh) else GPU_QUEUE


def models_warm(names: list[str]) -> list[str]:
    """Load these models (and the audio model each needs) into this process; the ones that
    loaded, in order. A model that cannot load is logged and left out, so it is not advertised."""
    from generation import renderer

    warm = []
    for name in names:
        try:
            spec = renderer.model_spec(name)
            renderer.pipeline_load(spec)
            if spec.audio_model:
                renderer.pipeline_load(renderer.model_spec(spec.audio_model))
        except renderer.ConfigurationError as exc:
            logger.error("worker cannot keep model warm model=%s error=%s", name, exc)
            continue
        warm.append(name)
    return warm


COMMIT_ASYNC_UID = "tailor-gpu-worker-commit-async"


def commit_async(sender, **kwargs) -> None:
    """A GPU worker's new PostgreSQL session commits without waiting for the WAL flush
    (settings.WORKER_ASYNC_COMMIT says why that is safe); rendering.py makes the transaction
    that publishes a video wait for it again."""
    db = kwargs["connection"]
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")


def routes_clear() -> None:
    global _routes
    with _routes_lock:
        _routes = (0.0, frozenset())


class FleetMiddleware(Middleware):
    """In a GPU worker process on a real broker: warm the advertised models, consume their queues
    and keep the heartbeat row fresh; the row goes when the worker stops."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = f"{socket.gethostname()}:{os.getpid()}"
        self._rendering: set[str] = set()  # ids of GPU messages being processed now
        self.done = 0
        self._lock = threading.Lock()

    @staticmethod
    def _gpu_worker(worker) -> bool:
        """A worker process on a real broker that renders (a worker on gpu.<model> alone does too)."""
        whitelist = worker.consumer_whitelist
        if settings.BROKER_KIND == "stub":
            return False  # one process does everything, web included
        return not whitelist or any(queue.split(".")[0] == GPU_QUEUE for queue in whitelist)

    def before_worker_boot(self, broker, worker):
        if self._gpu_worker(worker) and settings.WORKER_ASYNC_COMMIT:
            connection_created.connect(commit_async, dispatch_uid=COMMIT_ASYNC_UID)  # before any thread connects

    def after_worker_boot(self, broker, worker):
        if not self._gpu_worker(worker) or not settings.WORKER_ADVERTISE:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(broker, worker), name="fleet-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        connection_created.disconnect(dispatch_uid=COMMIT_ASYNC_UID)
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None

    def before_process_message(self, broker, message):
        if message.queue_name.split(".")[0] == GPU_QUEUE:
            with self._lock:
                self._rendering.add(message.message_id)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            if message.message_id in self._rendering:  # a message skipped before it got here never was
                self._rendering.discard(message.message_id)
                self.done += 1

    after_skip_message = after_process_message

    def _run(self, broker, worker) -> None:
        from generation import renderer
        from generation.models import GpuWorker

        try:
            warm = models_warm(settings.WORKER_MODELS)
            for name in warm:
                queue = model_queue(name)
                if worker.consumer_whitelist is not None:
                    worker.consumer_whitelist.add(queue)
                broker.declare_queue(queue)  # the worker starts consuming it
            logger.info("worker advertises name=%s models=%s", self._name, warm)
            while True:
                close_old_connections()
                with self._lock:
                    busy, done = bool(self._rendering), self.done
                try:
                    GpuWorker.objects.update_or_create(name=self._name, defaults=dict(
                        host=socket.gethostname(), pid=os.getpid(), warm=warm, loaded=renderer.loaded_models(),
                        queues=sorted(worker.consumer_whitelist or ["*"]), busy=busy, jobs_done=done,
                        seen_at=timezone.now(),
                    ))
                except DatabaseError as exc:  # a database blip: beat again next time
                    logger.warning("fleet heartbeat failed: %s", exc)
                if self._stop.wait(settings.FLEET_HEARTBEAT_S):
                    break
            GpuWorker.objects.filter(name=self._name).delete()
            logger.info("worker withdrew name=%s", self._name)
        except Exception:  # noqa: BLE001 - the worker goes on; routing falls back to the shared queue
            logger.exception("fleet heartbeat stopped")
        finally:
            connection.close()
