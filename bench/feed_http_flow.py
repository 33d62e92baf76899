"""The HTTP side of the `feed_http` benchmark: the real web process and its clients.

Starts gunicorn exactly as the Procfile's web process does (platform/gunicorn.conf.py, gthread),
on a free local port against the benchmark's data dir, waits until every worker has loaded the
item index, then drives `GET /` (a viewer's first page) and `GET /feed/page?cursor=...` (the next
ones, following the cursor in the returned fragment) over keep-alive connections, one per
viewer (a viewer's feed session of several pages on one connection), each logged in by its
session cookie. Only the standard library on the client side.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

_NEXT = re.compile(rb'data-next="([^"]+)"')
_CARD = re.compile(rb'<article class="card"')
# /healthz tells anonymous callers the status only; with this token it says what is not ready yet.
_HEALTHZ_TOKEN = secrets.token_urlsafe(32)
_HEALTHZ = {"Authorization": f"Bearer {_HEALTHZ_TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the web process ---------------------------------------------------------------


def gunicorn_start(root: Path, port: int, log_path: Path, workers: int = 2) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(TAILOR_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), TAILOR_HEALTHZ_TOKEN=_HEALTHZ_TOKEN)
    env.pop("DATABASE_URL", None)  # the benchmark's SQLite file under TAILOR_DATA_DIR
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it; a pipe nobody reads would block it
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "platform/gunicorn.conf.py"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stopping it stops every worker
        )
    finally:
        log.close()


def gunicorn_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command can hold spaces and parentheses: fields after the last ')' are fixed.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry))
    return sorted(pids)


def proc_status_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB (MiB)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- clients -----------------------------------------------------------------------


@dataclass
class Stats:
    first: list[float] = field(default_factory=list)  # GET /  (a feed session's first page)
    next: list[float] = field(default_factory=list)  # GET /feed/page?cursor=...
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    empty_pages: int = 0
    bytes: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])

    def merge(self, other: Stats) -> None:
        self.first += other.first
        self.next += other.next
        self.errors += other.errors
        self.error_samples = (self.error_samples + other.error_samples)[:5]
        self.reconnects += other.reconnects
        self.empty_pages += other.empty_pages
        self.bytes += other.bytes


class Client:
    """One viewer's browser tab at a time: a persistent connection and a session cookie."""

    def __init__(self, port: int, stats: Stats):
        self.port = port
        self.stats = stats
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def _get(self, path: str, cookie: str) -> tuple[int, bytes, float]:
        headers = {"Cookie": f"sessionid={cookie}", "Accept": "text/html"}
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers=headers)
                resp = self.conn.getresponse()
                body = resp.read()
                return resp.status, body, time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest):
                # The server closed an idle keep-alive connection (or a worker was recycled): a
                # browser reconnects and resends a GET; the timing is the resent request's.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.stats.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def page(self, cookie: str, cursor: str | None) -> str | None:
        """One feed page; returns the next cursor (None on an error or an empty feed)."""
        path = "/" if cursor is None else f"/feed/page?cursor={quote(cursor, safe='')}"
        try:
            status, body, elapsed = self._get(path, cookie)
        except Exception as exc:  # counted, never fatal: the run reports its error rate
            self.stats.error(f"{path.split('?')[0]}: {type(exc).__name__}: {exc}")
            return None
        if status != 200:
            self.stats.error(f"{path.split('?')[0]}: HTTP {status}: {body[:200]!r}")
            return None
        (self.stats.first if cursor is None else self.stats.next).append(elapsed)
        self.stats.bytes += len(body)
        match = _NEXT.search(body)
        if match is None:
            if _CARD.search(body) is None:
                self.stats.empty_pages += 1
            else:
                self.stats.error(f"{path.split('?')[0]}: no next cursor in a page with cards")
            return None
        return match.group(1).decode()

    def new_viewer(self) -> None:
        """Another viewer is another browser: a new connection. (Keep-alive pins a connection to
        one gunicorn worker, so 8 connections held for the whole run would split the load
        between the 2 workers by the luck of the first accept.)"""
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def browse(self, cookie: str, pages: int) -> None:
        """A feed session: the first page, then the next ones by cursor, on one connection."""
        self.new_viewer()
        cursor = self.page(cookie, None)
        for _ in range(pages - 1):
            if cursor is None:
                return
            cursor = self.page(cookie, cursor)

    def close(self) -> None:
        self.conn.close()


def get(port: int, path: str, timeout: float = 120, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(port: int, proc: subprocess.Popen, workers: int, index_bytes: int, timeout: float = 600) -> dict:
    """Until /healthz answers 200 and every worker has the item index in memory.

    Workers load the index on first use, so /healthz is sent from several connections at once
    until each worker's RSS has grown by the size of the index file."""
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        pids = worker_pids(proc.pid)
        rss = [proc_status_mb(p).get("VmRSS", 0.0) for p in pids]
        if len(pids) >= workers and min(rss) * 1024 * 1024 > 0.9 * index_bytes:
            status, body = get(port, "/healthz", headers=_HEALTHZ)
            if status == 200:
                return {"ready_s": round(time.monotonic() - started, 1), "worker_rss_at_ready_mb": rss}
            last = body[:300].decode(errors="replace")

        def probe():
            nonlocal last
            try:
                status, body = get(port, "/healthz", headers=_HEALTHZ)
                if status != 200:
                    last = body[:300].decode(errors="replace")
            except OSError as exc:
                last = repr(exc)

        threads = [threading.Thread(target=probe) for _ in range(2 * workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.5)
    raise RuntimeError(f"web process not ready after {timeout:.0f}s: {last}")


def one_client(port: int, cookies: list[str], pages_per_session: int) -> Stats:
    """One viewer at a time, sequentially: the latency a single client sees."""
    stats = Stats()
    client = Client(port, stats)
    for cookie in cookies:
        client.browse(cookie, pages_per_session)
    client.close()
    return stats


def concurrent_clients(port: int, pools: list[list[str]], pages_per_session: int, seconds: float) -> tuple[Stats, float]:
    """len(pools) client threads in a closed loop for `seconds`, each browsing as its own viewers
    in turn (a feed session of pages_per_session pages each). Returns the stats and the elapsed time."""
    stop = threading.Event()
    per_thread = [Stats() for _ in pools]

    def run(n: int) -> None:
        client = Client(port, per_thread[n])
        k = 0
        cursor = None
        pages = 0
        while not stop.is_set():
            cookie = pools[n][k % len(pools[n])]
            if not pages:
                client.new_viewer()
            cursor = client.page(cookie, cursor if pages else None)
            pages += 1
            if cursor is None or pages >= pages_per_session:
                k, pages, cursor = k + 1, 0, None
        client.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(pools))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=150)
    elapsed = time.perf_counter() - started
    stats = Stats()
    for s in per_thread:
        stats.merge(s)
    return stats, elapsed


def pct(samples_s: list[float]) -> dict[str, float]:
    if not samples_s:
        return {}
    ms = np.array(samples_s) * 1000
    return {**{f"p{p}_ms": round(float(np.percentile(ms, p)), 2) for p in (50, 95, 99)}, "max_ms": round(float(ms.max()), 2)}
