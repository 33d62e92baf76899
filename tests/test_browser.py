"""The web feed in a real browser: Debian's chromium driven by Playwright."""

import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.services import unavailable

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def wait_until(page, expression: str, timeout: float = 20_000) -> None:
    """page.wait_for_function runs its predicate through eval() in the page, which the site's
    Content-Security-Policy refuses (no 'unsafe-eval'); page.evaluate goes through the DevTools
    protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


@pytest.fixture
def page(monkeypatch):

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server answers each request in a new thread: with persistent connections each
    # would leave a database session open. Close them at the end of every request instead.
    from django.db import connections

    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 480, "height": 860})
        page = context.new_page()
        page.set_default_timeout(20_000)
        # Anything the Content-Security-Policy blocks (an inline script or style, media from an
        # origin it does not name) is logged by the browser; every test ends with none.
        blocked = []
        page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
        yield page
        context.close()
        browser.close()
    assert not blocked, blocked


@pytest.mark.browser
def test_signup_onboard_like_and_scroll(transactional_db, catalog, live_server, page, genre_lookup):
    from profiles.models import Interaction

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.click("text=Create an account")
    page.fill("#id_username", "browser-viewer")
    page.fill("#id_password1", "a-Long-pass-9876")
    page.fill("#id_password2", "a-Long-pass-9876")
    page.click("button:has-text('Sign up')")
    page.wait_for_url(re.compile(r".*/onboarding$"))

    page.click("label.chip:has-text('Gardening')")
    page.click("button:has-text('Show me my feed')")
    page.wait_for_selector("article.card")
    first_ids = [int(x) for x in page.eval_on_selector_all("article.card", "els => els.map(e => e.dataset.video)")]
    assert genre_lookup(first_ids[0]) == "gardening"
    page.screenshot(path=str(ARTIFACTS / "feed-first-page.png"))

    # Like a card from outside the picked topic; the button turns on once the server has it.
    first_genres = [genre_lookup(v) for v in first_ids]
    target = next(n for n, g in enumerate(first_genres) if g != "gardening")
    liked_genre = first_genres[target]
    card = page.locator("article.card").nth(target)
    card.scroll_into_view_if_needed()
    card.locator("button[data-kind=like]").click()
    page.wait_for_selector(f"article.card >> nth={target} >> button.done[data-kind=like]")
    assert Interaction.objects.filter(user__username="browser-viewer", kind="like", video_id=first_ids[target]).exists()

    # Infinite scroll: reaching the end loads the next page, with no repeats, and the like shows.
    page.evaluate("document.getElementById('feed').scrollTo(0, 1e9)")
    wait_until(page, f"document.querySelectorAll('article.card').length > {len(first_ids)}")
    all_ids = [int(x) for x in page.eval_on_selector_all("article.card", "els => els.map(e => e.dataset.video)")]
    assert len(all_ids) == len(set(all_ids))
    second_page = all_ids[len(first_ids):]
    before = first_genres.count(liked_genre) - 1
    after = [genre_lookup(v) for v in second_page].count(liked_genre)
    assert after > 0 and after >= before, (liked_genre, first_genres, [genre_lookup(v) for v in second_page])
    page.locator("article.card").nth(len(first_ids)).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "feed-after-like.png"))

    page.goto(live_server.url + "/taste")
    assert page.locator(".interest .label", has_text="Gardening").count() == 1


@pytest.mark.browser
def test_make_me_something_with_a_brief(transactional_db, catalog, live_server, page, make_user, worker):
    from generation.models import RenderJob
    from generation.services import generation_data_load
    from profiles.services import onboarding_apply

    ARTIFACTS.mkdir(exist_ok=True)
    generation_data_load()
    viewer = make_user("maker")
    onboarding_apply(user=viewer, topics=["cooking", "jazz"])
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "maker")
    page.fill("#id_password", "x-Pass-123!")
    page.click("button[type=submit]")
    page.wait_for_selector("article.card")

    # A blocked brief: a clear reason, and nothing queued.
    page.fill("#brief", "a video of naked people")
    page.click("#make button")
    page.wait_for_selector("#make-status[data-state=error]")
    assert "blocked (sexual)" in page.inner_text("#make-status")
    assert not RenderJob.objects.exists()

    page.fill("#brief", "an original musical about garlic bread")
    page.click("#make button")
    page.wait_for_selector("#make-status[data-state=ready]", timeout=120_000)
    made = page.locator("article.card.made")
    assert made.count() == 1
    job = RenderJob.objects.get(user=viewer)
    assert job.state == "ready" and made.get_attribute("data-video") == str(job.video_id)
    src = made.locator("video").get_attribute("src")
    assert src and job.video.video_key.rsplit("/", 1)[-1] in src
    # The browser can load and decode the clip.
    wait_until(page, "document.querySelector('article.card.made video').readyState >= 1", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "feed-made-for-you.png"))


@pytest.mark.browser
def test_operator_dashboard_and_admin_for_staff_only(transactional_db, catalog, live_server, page, make_user):
    from generation.models import RenderJob
    from generation.rendering import RenderBlocked, render_job_create, render_job_run
    from generation.services import videos_embed
    from profiles.services import interaction_record, onboarding_apply

    ARTIFACTS.mkdir(exist_ok=True)
    # Some platform life: viewers with taste and history, renders ready and failed, a safety block.
    viewers = [make_user() for _ in range(4)]
    for n, viewer in enumerate(viewers):
        onboarding_apply(user=viewer, topics=[["cooking"], ["scifi"], ["gardening", "cars"], ["cooking", "scifi"]][n])
        for video in catalog["cooking"][:3]:
            interaction_record(user=viewer, video=video, kind="like" if n % 2 else "view", watch_fraction=0.8)
        interaction_record(user=viewer, video=catalog["cars"][0], kind="skip")
        job, _ = render_job_create(prompt=f"A film made for viewer {n}", seed=n, user=viewer, model="null")
        render_job_run(job_id=job.pk)
    failed, _ = render_job_create(prompt="A film that fails", seed=99, user=viewers[0], model="null")
    RenderJob.objects.filter(pk=failed.pk).update(state="failed", error="RuntimeError: out of memory")
    videos_embed()
    with pytest.raises(RenderBlocked):
        render_job_create(prompt="gore and torture in a cellar", seed=1, user=viewers[1], model="null")
    from django.utils import timezone

    from generation.models import GpuWorker

    GpuWorker.objects.create(name="gpu-box:4242", host="gpu-box", pid=4242, warm=["wan2.1-t2v-1.3b"],
                             loaded=["wan2.1-t2v-1.3b"], busy=True, jobs_done=17,
                             seen_at=timezone.now() + timedelta(hours=1))  # live for the whole test
    make_user("operator", is_staff=True, is_superuser=True)
    make_user("viewer-only")

    def log_in(username):
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "x-Pass-123!")
        page.click("button[type=submit]")

    # A viewer is refused: the dashboard and its data send them to the staff login.
    log_in("viewer-only")
    page.goto(live_server.url + "/ops/")
    assert "/admin/login/" in page.url
    page.goto(live_server.url + "/ops/data.json")
    assert "/admin/login/" in page.url
    page.context.clear_cookies()

    log_in("operator")
    page.goto(live_server.url + "/ops/?refresh=1000")
    page.wait_for_selector("#ops[data-loaded]")
    page.evaluate("window.__sameDocument = true")
    for chart in ("chart-jobs", "chart-gpu", "chart-engagement", "chart-taste"):
        points = int(page.get_attribute(f"#{chart}", "data-points"))
        assert points > 0, chart
    index = re.search(r"items in index\s*(\d+) / (\d+)", page.inner_text("#index"))
    assert index and index.group(1) == index.group(2) and int(index.group(1)) > 0  # the index matches the database
    assert "violence" in page.inner_text("#blocks")
    fleet = page.inner_text("#fleet")  # the GPU worker's heartbeat: the model it keeps warm, busy, jobs done
    assert "gpu-box:4242" in fleet and "wan2.1-t2v-1.3b" in fleet and "rendering" in fleet and "17 jobs" in fleet
    assert page.locator("#tiles .tile").count() == 5
    # It refreshes in place: new data arrives and the page is the same document.
    wait_until(page, "Number(document.getElementById('ops').dataset.loaded) >= 2", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.goto(live_server.url + "/admin/generation/renderjob/")
    assert page.locator("#result_list tbody tr").count() == 5
    page.screenshot(path=str(ARTIFACTS / "admin-renderjobs.png"), full_page=True)

    # The API docs run under the same policy: Swagger UI's set-up script is a file, and it draws the schema.
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
