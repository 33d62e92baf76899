"""The Content-Security-Policy header: scripts and styles from our origin only, media also from
the S3 endpoint or custom domain that media URLs point at. tests/test_browser.py checks that the
pages still work under it in a real browser."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_the_feed_page_has_the_strict_policy(client, catalog, make_user, settings):
    from profiles.services import onboarding_apply

    viewer = make_user()
    onboarding_apply(user=viewer, topics=["cooking"])
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    # Media and thumbnails also come from the S3 endpoint (or custom domain) where there is one.
    assert policy["img-src"] == ["'self'", "data:", *settings.MEDIA_ORIGINS]
    assert policy["media-src"] == ["'self'", *settings.MEDIA_ORIGINS]
    assert bool(settings.MEDIA_ORIGINS) == settings.USE_S3
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]
    assert "unsafe" not in response["Content-Security-Policy"]
    # What the policy would block is not in the page: no inline script, style element or attribute.
    html = response.content.decode()
    assert re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html) is None
    assert " style=" not in html and "<style" not in html and ' class="poster hue-' in html


def test_the_taste_page_and_the_next_feed_page_carry_no_inline_style(client, catalog, make_user):
    from profiles.services import onboarding_apply

    viewer = make_user()
    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    client.force_login(viewer)
    for path in ("/taste", "/feed/page"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert " style=" not in response.content.decode(), path


def test_the_api_docs_load_their_script_as_a_file(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # the UI's own <style> elements; see config/api_urls.py
    html = response.content.decode()
    assert re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html) is None
    script = re.search(r'<script src="([^"]*script[^"]*)"', html).group(1).replace("&amp;", "&")
    assert client.get(script)["Content-Type"].startswith("application/javascript")
    redoc = directives(client.get("/api/redoc/"))
    assert redoc["script-src"] == ["'self'"] and redoc["worker-src"] == ["'self'", "blob:"]  # its search worker


def _policy_with(tmp_path, **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("USE_S3", "AWS_"))}
    env.update(TAILOR_DATA_DIR=str(tmp_path), **env_extra)
    code = "import json; from django.conf import settings; print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    proc = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_media_may_come_from_the_s3_endpoint_and_the_custom_domain(tmp_path):
    s3 = {"USE_S3": "true", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    policy = _policy_with(tmp_path, **s3, AWS_S3_ENDPOINT_URL="http://127.0.0.1:8333", AWS_S3_CUSTOM_DOMAIN="media.example.com")
    for directive in ("media-src", "img-src"):
        assert "http://127.0.0.1:8333" in policy[directive] and "https://media.example.com" in policy[directive]
    assert policy["script-src"] == ["'self'"]  # media origins are for media only
    aws = _policy_with(tmp_path, **s3, AWS_S3_REGION_NAME="eu-west-1")
    assert "https://s3.eu-west-1.amazonaws.com" in aws["media-src"]
