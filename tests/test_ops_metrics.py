"""/metrics: the Prometheus series operators graph, and who may scrape them (configured networks,
by the client address rule of core/clientip.py, or a bearer token)."""

import ipaddress

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient
from profiles.auth import RefreshToken

TOKEN = "metrics-token-0123456789abcdef"


def scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **extra)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_series_operators_graph(client, catalog, make_user, broker):
    from generation import tasks
    from generation.models import RenderJob
    from generation.rendering import RenderBlocked, render_job_create, render_job_run
    from profiles.services import onboarding_apply

    viewer = make_user("watcher")
    onboarding_apply(user=viewer, topics=["cooking"])
    before = scrape(client)

    # A ready render with its GPU time, one still queued, a blocked prompt, a queued message.
    done, _ = render_job_create(prompt="A film about bread", seed=1, user=viewer, model="null")
    render_job_run(job_id=done.pk)
    RenderJob.objects.filter(pk=done.pk).update(gpu_seconds=12.5)
    render_job_create(prompt="A film about soup", seed=2, user=viewer, model="null")
    with pytest.raises(RenderBlocked):
        render_job_create(prompt="gore and torture in a cellar", seed=3, user=viewer, model="null")
    tasks.embed_videos.send([catalog["cooking"][0].pk])  # no worker runs: it waits in the queue

    # Feed requests: the web page, its next page, and the API.
    client.force_login(viewer)
    assert client.get("/").status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(viewer).access_token}")
    assert api.get("/api/v1/feed").status_code == 200

    after = scrape(client)
    broker.flush_all()

    assert value(after, "tailor_render_jobs", state="ready", model="null") == 1
    assert value(after, "tailor_render_jobs", state="queued", model="null") == 1
    assert ("tailor_render_jobs", (("model", "null"), ("state", "failed"))) in after  # zeros are series too
    assert value(after, "tailor_render_gpu_seconds", model="null") == pytest.approx(12.5)
    assert value(after, "tailor_queue_depth", queue=tasks.CPU_QUEUE) == 1
    assert ("tailor_queue_depth", (("queue", tasks.GPU_QUEUE),)) in after
    videos = sum(len(v) for v in catalog.values())
    assert value(after, "tailor_index_vectors", index="items") == videos
    assert value(after, "tailor_index_rows", index="items") == videos
    assert ("tailor_index_vectors", (("index", "interests"),)) in after
    assert value(after, "tailor_safety_blocks", kind="prompt", category="violence") == 1
    assert value(after, "tailor_safety_checks") >= 3  # two allowed prompts and the blocked one
    assert all(value(after, "tailor_metrics_section_failed", section=s) == 0 for s in ("jobs", "queues", "index", "safety"))

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tailor_feed_latency_seconds_count", surface="web") == 1
    assert grew("tailor_feed_latency_seconds_count", surface="api") == 1
    assert grew("tailor_feed_latency_seconds_sum", surface="web") > 0
    assert grew("django_http_requests_latency_seconds_by_view_method_count", view="feed:home", method="GET") == 1
    assert grew("django_http_requests_latency_seconds_by_view_method_count", view="v1:feed", method="GET") == 1


def test_a_section_that_fails_is_flagged_and_the_rest_still_come(client, db, monkeypatch):
    from ops import metrics

    def broken():
        raise ConnectionError("broker gone")

    monkeypatch.setitem(metrics.SECTIONS, "queues", broken)
    samples = scrape(client)
    assert value(samples, "tailor_metrics_section_failed", section="queues") == 1
    assert value(samples, "tailor_metrics_section_failed", section="jobs") == 0
    assert not any(name == "tailor_queue_depth" for name, _ in samples)


# --- Who may scrape ----------------------------------------------------------------------------

@pytest.mark.parametrize("remote, forwarded", [
    ("203.0.113.9", None),  # outside the allowed networks
    ("203.0.113.9", "127.0.0.1"),  # a header the client wrote: not believed without TAILOR_TRUSTED_PROXIES
    ("127.0.0.1", "203.0.113.9"),  # through a proxy nobody configured: its address is everyone's
    ("127.0.0.1", {"HTTP_X_REAL_IP": "203.0.113.9"}),
    ("127.0.0.1", {"HTTP_FORWARDED": "for=203.0.113.9"}),
    ("::ffff:203.0.113.9", None),
])
def test_an_outside_address_is_refused(client, db, remote, forwarded):
    extra = forwarded if isinstance(forwarded, dict) else {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    response = client.get("/metrics", REMOTE_ADDR=remote, **extra)
    assert response.status_code == 403
    assert b"tailor_" not in response.content


def test_loopback_is_allowed_by_default(client, db):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200


def test_behind_a_trusted_proxy_the_client_address_decides(client, db, settings):
    settings.TRUSTED_PROXIES = 1
    settings.METRICS_ALLOWED_NETS = (ipaddress.ip_network("10.0.0.0/8"),)
    # The proxy (on 127.0.0.1) appends what it saw; anything left of that is the client's own writing.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3, 203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403


def test_configured_networks_replace_the_default(client, db, settings):
    settings.METRICS_ALLOWED_NETS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics", REMOTE_ADDR="10.200.0.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_the_bearer_token_works_from_anywhere(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-0123456789abcdef", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **outside).status_code == 403
    settings.METRICS_TOKEN = None
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **outside).status_code == 403


def test_staff_get_no_pass_from_their_session(client, db, make_user):
    """/metrics is for scrapers; a staff session from outside the networks is still refused."""
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_the_grafana_dashboard_graphs_only_series_we_expose(client, db):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parent.parent / "platform/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {re.sub(r"_(bucket|count|sum)$", "", name) for e in exprs for name in re.findall(r"\b(?:tailor|django)_\w+", e)}
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    exposed = {f.name for f in text_string_to_metric_families(response.content.decode())}  # with samples or not yet
    assert used and used <= exposed, used - exposed
    needed = {"django_http_requests_latency_seconds_by_view_method", "tailor_render_jobs", "tailor_render_gpu_seconds",
              "tailor_queue_depth", "tailor_feed_latency_seconds", "tailor_index_vectors", "tailor_safety_blocks"}
    assert needed <= used, needed - used
