"""gunicorn for the web process type. Each worker loads the embedder and the item index once."""

import os
import shutil
import tempfile
from pathlib import Path

# One OpenMP thread per web worker (FAISS search, torch): requests run side by side on
# gunicorn's threads, and a team of spinning OpenMP threads per search only burns the cores
# the other requests need (measured: 28.8 ms of CPU per feed request at 1M items before).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

bind = os.environ.get("TAILOR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
# No preload: torch and FAISS are loaded after fork, in each worker.
preload_app = False
max_requests = 5000
max_requests_jitter = 500
accesslog = None  # core.middleware.RequestLogMiddleware writes one line per request with its id
errorlog = "-"

# /metrics sums request and feed latency over every worker, whichever one a scrape reaches:
# prometheus_client's multiprocess mode keeps each worker's samples in files in one folder. It is
# set here, in the master, before any worker imports prometheus_client.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tailor-prometheus-")
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)


def on_starting(server):
    # Files from an earlier run in a configured folder would add its counts to this one's.
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
