"""`make run` on a fresh data dir: migrates, seeds, prints an admin password once, and serves the feed."""

import http.cookiejar
import io
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from generation.encoding import mp4_probe
from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


class Browser:
    """A cookie-keeping HTTP client that speaks Django's CSRF, enough to log in and post forms."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.status, r.geturl(), r.read().decode()

    def post(self, path, fields):
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=60) as r:
            return r.status, r.geturl(), r.read().decode()


@pytest.mark.timeout(600)
def test_make_run_serves_a_personalized_feed(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_", "TAILOR_RENDER_MODEL"))}  # the real defaults
    env.update(TAILOR_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"ADDR=127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 400
        while True:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "make run did not come up"
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
                    health = r.status
                break
            except OSError:
                time.sleep(1)
        assert health == 200
        output = (tmp_path / "run.log").read_text()
        passwords = re.findall(r"password: (\S+)", output)
        assert len(passwords) == 1, output[-2000:]

        browser = Browser(base)
        status, url, _ = browser.get("/")
        assert "/accounts/login/" in url
        status, url, _ = browser.post("/accounts/login/", {"username": "admin", "password": passwords[0]})
        assert url.endswith("/onboarding"), url
        status, url, html = browser.post("/onboarding", {"topics": ["cooking", "jazz"]})
        assert url == base + "/" and status == 200
        cards = re.findall(r'<article class="card"', html)
        assert len(cards) >= 5
        assert "Because you like Cooking" in html or "Because you like Jazz" in html

        # Within minutes the platform renders its first "made for you" pieces on the CPU, through
        # the production jobs: the demo viewers' cluster renders, and one planned for this
        # newcomer when they onboarded.
        deadline = time.monotonic() + 300
        while True:
            status, url, html = browser.get("/")
            if "Made for you" in html:
                break
            assert time.monotonic() < deadline, "no made-for-you video within 4 minutes:\n" + (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(3)
        card = html[html.index("Made for you") - 1500 : html.index("Made for you")]
        src = re.findall(r'<video src="([^"]+)"', card)[-1]
        with browser.opener.open(base + src if src.startswith("/") else src, timeout=30) as r:
            data = r.read()
        info = mp4_probe(io.BytesIO(data))
        streams = info["streams"]
        # A watchable piece, not a test clip: the storyboard renderer's 9:16 frames, 8-30 s, with
        # sound, and its captions beside it.
        assert streams["video"]["codec"] == "h264" and streams["audio"]["codec"] == "aac"
        assert (streams["video"]["width"], streams["video"]["height"]) == (540, 960), streams
        assert 8.0 <= info["duration_s"] <= 30.5, info
        track = re.findall(r'<track kind="captions" src="([^"]+)"', card)
        assert track, card
        with browser.opener.open(base + track[-1] if track[-1].startswith("/") else track[-1], timeout=30) as r:
            assert r.read().decode().startswith("WEBVTT")
        # A newcomer reads progress and the admin password, not library internals: no Python
        # warnings (TracerWarning, FutureWarning, ...) and no ONNX Runtime advice, from the
        # first start through the first renders.
        output = (tmp_path / "run.log").read_text()
        noise = re.findall(r".*(?:\b[A-Z]\w*Warning\b|warnings\.warn|pre-processing|onnxruntime).*", output)
        assert not noise, "\n".join(noise[:20])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
