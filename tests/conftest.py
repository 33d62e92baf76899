from __future__ import annotations

import os

import dramatiq
import numpy as np
import pytest
from django.conf import settings as django_settings

from tests.services import SEAWEED, services_required, unavailable


def pytest_report_header(config):
    db = django_settings.DATABASES["default"]
    storage = "s3 " + str(django_settings.AWS_S3_ENDPOINT_URL) if django_settings.USE_S3 else "local disk"
    return [
        f"tailor backends: database={db['ENGINE'].rsplit('.', 1)[-1]} broker={django_settings.BROKER_KIND} "
        f"storage={storage} services_required={services_required()}"
    ]


@pytest.fixture(scope="session")
def seaweedfs():
    endpoint = SEAWEED.ensure()
    yield endpoint
    SEAWEED.stop()


@pytest.fixture(scope="session", autouse=True)
def _configured_services(request):
    """When the settings point at real services, make sure they are there (and start SeaweedFS)."""
    if django_settings.USE_S3:
        request.getfixturevalue("seaweedfs")
    if django_settings.BROKER_KIND != "stub":
        from core.jobs import broker_ping

        try:
            broker_ping()
        except Exception as exc:
            unavailable(f"broker {django_settings.BROKER_URL}: {exc}")
    os.environ.setdefault("TAILOR_TEST_RUN", "1")


@pytest.fixture(scope="session", autouse=True)
def _no_stray_database_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end sessions that threads of a live server or a
    killed worker may have left open (PostgreSQL refuses to drop a database in use)."""
    yield
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql" or not str(connection.settings_dict["NAME"]).startswith("test_"):
        return
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        except DatabaseError:  # nothing to end if the test database is already gone
            pass


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test gets its own index and media folders and fresh in-process indexes."""
    from feed.collaborative import neighbours_reset
    from feed.sources import global_lists_clear
    from generation.fleet import routes_clear
    from ops.health import health_cache_clear
    from profiles import indexes

    settings.DATA_DIR = tmp_path  # fitted ranker weights and other per-installation files
    # The tiny diffusers pipelines unless a test asks for the storyboard (the Makefile says the same
    # to worker processes that tests start).
    settings.RENDER_MODEL = os.environ.get("TAILOR_RENDER_MODEL", "tiny-wan")
    settings.INDEX_DIR = tmp_path / "index"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RENDER_WORK_DIR = tmp_path / "renders"
    settings.INDEX_SNAPSHOTS = False  # the S3 bucket outlives a test's database; snapshot tests opt in
    settings.INDEX_SYNC_SECONDS = 0.0
    settings.WORKER_ADVERTISE = False  # in-process test workers write no heartbeats; fleet tests start real ones
    routes_clear()
    indexes.reset()
    global_lists_clear()
    neighbours_reset()
    health_cache_clear()  # /healthz reports are kept a few seconds: not from one test into the next
    yield
    indexes.reset()
    global_lists_clear()
    neighbours_reset()


@pytest.fixture
def local_media(settings):
    """Media on local disk for this test, whatever the run's storage (the real-services pass
    runs on S3): the setting and the storage backend both."""
    settings.USE_S3 = False
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return settings


@pytest.fixture
def broker():
    broker = dramatiq.get_broker()
    broker.flush_all()
    return broker


@pytest.fixture
def worker(broker):
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _no_stopped_workers_on_the_broker():
    """Dramatiq leaves a stopped worker's hook on the broker, and a queue declared later (a GPU
    model queue) would get a consumer of that dead worker that swallows its messages. Real
    workers are one per process; in-process test workers are dropped after each test."""
    yield
    from core import jobs

    broker = dramatiq.get_broker()
    broker.middleware[:] = [
        m for m in broker.middleware if type(m).__name__ != "_WorkerMiddleware" or m.worker is jobs._embedded
    ]


@pytest.fixture
def make_user(django_user_model):
    counter = {"n": 0}

    def make(username=None, **extra):
        counter["n"] += 1
        user = django_user_model.objects.create_user(username=username or f"viewer{counter['n']}", password="x-Pass-123!", **extra)
        from profiles.services import profile_ensure

        profile_ensure(user=user)
        return user

    return make


CATALOG = {
    "cooking": [
        "Garlic bread in 20 minutes: a home cook bakes crusty garlic bread with butter and parsley",
        "The perfect carbonara: chef cooks pasta with eggs, pecorino and guanciale in a warm kitchen",
        "Sourdough loaf from scratch: kneading, proofing and baking bread at home",
        "Weeknight ramen recipe: broth, noodles, soft eggs, cooking step by step",
        "Mushroom risotto: stirring rice with stock and parmesan, an Italian recipe",
        "Fish tacos recipe: frying fish, fresh salsa and tortillas in the kitchen",
        "Croissants at home: laminating butter dough and baking flaky pastry",
        "Butter chicken: an Indian curry recipe with spices, cream and rice",
    ],
    "scifi": [
        "The last signal from Europa station: a science fiction short about astronauts and an alien ocean",
        "Generation ship: a sci-fi film about a crew waking from cryosleep among the stars",
        "Mars colony seven: robots and settlers face a dust storm on the red planet",
        "The wormhole gate: a spaceship crew travels through time in this science fiction story",
        "Android factory: a robot discovers it can dream, a cyberpunk sci-fi short",
        "Titan's methane sea: a submarine explores an alien moon, science fiction",
        "Orbital ring: a space station drama set in the far future",
        "Escape from the derelict freighter: a spaceship thriller in deep space",
    ],
    "gardening": [
        "Growing tomatoes on a balcony: soil, watering and the harvest",
        "Houseplant care guide: watering a monstera and repotting",
        "From seed to harvest: chillies in a small garden",
        "A wildflower meadow for bees in your back garden",
    ],
    "cars": [
        "A 1967 Mustang road test: V8 engine sound and driving on the highway",
        "Rally car on a gravel stage: motorsport and racing drivers",
        "Rebuilding a vintage motorcycle engine in the garage",
        "Electric hypercar versus the racetrack: acceleration test",
    ],
}


@pytest.fixture
def catalog(db):
    """A small embedded catalogue by genre: {genre: [Video, ...]}."""
    from generation.models import Video
    from generation.services import video_upsert, videos_embed

    out = {}
    for genre, texts in CATALOG.items():
        out[genre] = []
        for n, text in enumerate(texts):
            title, _, desc = text.partition(": ")
            video, _ = video_upsert(external_id=f"{genre}-{n}", title=title, description=desc, tags=[genre])
            out[genre].append(video)
    videos_embed()
    for genre in out:
        out[genre] = list(Video.objects.filter(pk__in=[v.pk for v in out[genre]]).order_by("pk"))
    return out


def genre_of(catalog, video_id: int) -> str:
    for genre, videos in catalog.items():
        if any(v.pk == video_id for v in videos):
            return genre
    raise KeyError(video_id)


@pytest.fixture
def genre_lookup(catalog):
    return lambda video_id: genre_of(catalog, video_id)


def unit(v):
    return np.asarray(v, dtype=np.float32) / np.linalg.norm(v)
