"""Property-based API testing: schemathesis generates requests from /api/schema/ (valid and
invalid), sends them to a real server, with a viewer's token and then without one, and checks
every response against the schema, status codes, content types, auth handling and server errors."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(1800)
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="run once per CI, on the embedded pass")
def test_schemathesis_finds_no_failures(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_"))}
    # Generous limits: this run checks behaviour, the throttle and lockout tests check those (a
    # wrong current password counts as a failed login, and the run sends many).
    env.update(TAILOR_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", TAILOR_THROTTLE_USER="100000/min",
               TAILOR_THROTTLE_LOGIN="100000/min", TAILOR_THROTTLE_ANON="100000/min",
               TAILOR_THROTTLE_SIGNUP="100000/hour", TAILOR_LOGIN_FAILURE_LIMIT="1000000",
               TAILOR_THROTTLE_GENERATION="100000/hour", TAILOR_RENDER_DAILY_QUOTA="100000", TAILOR_LOG_LEVEL="WARNING")
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen([sys.executable, str(ROOT / "tests/flows/api_server.py"), f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        token = ""
        for _ in range(50):  # set-up commands print their progress first
            token = server.stdout.readline().strip()
            if re.match(r"^[\w-]+\.[\w-]+\.[\w-]+$", token) or server.poll() is not None:
                break
        assert re.match(r"^[\w-]+\.[\w-]+\.[\w-]+$", token), (tmp_path / "server.log").read_text()[-3000:]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
                time.sleep(0.5)
        examples = int(os.environ.get("TAILOR_SCHEMATHESIS_EXAMPLES", "200"))
        runs = [
            # Deleting the account would end the run's own session half-way.
            ("with a token", ["-H", f"Authorization: Bearer {token}", "--exclude-operation-id", "me_destroy"], examples),
            # Without one: every private operation is a 401, and signup, login and refresh get fresh eyes.
            ("without a token", [], max(10, examples // 8)),
        ]
        for name, args, n in runs:
            run = subprocess.run(
                [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(ROOT / "tests/schemathesis.toml"),
                 "run", f"{base}/api/schema/", "--checks", "all", "--max-examples", str(n), *args,
                 "--request-timeout", "30", "--generation-deterministic", "--no-color"],
                cwd=tmp_path, capture_output=True, text=True, timeout=1700,
            )
            report = f"{name}:\n" + run.stdout[-6000:] + run.stderr[-2000:]
            (tmp_path / f"schemathesis {name}.txt".replace(" ", "-")).write_text(run.stdout + run.stderr)
            assert run.returncode == 0, report
            assert re.search(r"\b\d+ passed\b", run.stdout) or "No issues found" in run.stdout, report
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
        log.close()
