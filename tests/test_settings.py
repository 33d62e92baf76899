"""Settings from the environment: strict parsing, and a clear error naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import SettingError, env_bool, env_db, env_int, env_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name, value, expect",
    [
        ("DJANGO_DEBUG", "maybe", "expected a boolean"),
        ("TAILOR_FEED_PAGE_SIZE", "ten", "expected an integer"),
        ("TAILOR_FEED_PAGE_SIZE", "0", "expected an integer in [1, 100]"),
        ("DATABASE_URL", "mysql://root@localhost/tailor", "postgres://"),
        ("DRAMATIQ_BROKER_URL", "http://127.0.0.1:6379", "redis://"),
        ("AWS_S3_ENDPOINT_URL", "127.0.0.1:8333", "http://"),
        ("TAILOR_RENDER_DEVICE", "tpu", "one of auto, cpu, cuda"),
        ("TAILOR_RENDER_MODELS", "{not json", "valid JSON"),
        ("TAILOR_METRICS_ALLOWED_NETS", "10.0.0.5/8", "CIDR"),  # host bits set: a typo, not a network
        ("TAILOR_METRICS_ALLOWED_NETS", "127.0.0.1/32,localhost", "CIDR"),
    ],
)
def test_bad_setting_stops_startup_naming_the_variable(name, value, expect, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_"))}
    env.update({name: value, "TAILOR_DATA_DIR": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert f"Setting {name}={value!r} is invalid" in proc.stderr
    assert expect in proc.stderr


def test_a_short_ops_token_is_refused_without_echoing_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_"))}
    env.update({"TAILOR_METRICS_TOKEN": "hunter2", "TAILOR_DATA_DIR": str(tmp_path)})
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "TAILOR_METRICS_TOKEN" in proc.stderr and "24 characters" in proc.stderr and "hunter2" not in proc.stderr


def test_s3_without_keys_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"USE_S3": "true", "TAILOR_DATA_DIR": str(tmp_path)})
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "AWS_ACCESS_KEY_ID" in proc.stderr


def test_helpers_parse_strictly(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    assert env_bool("X_BOOL", False) is True
    monkeypatch.setenv("X_BOOL", "off")
    assert env_bool("X_BOOL", True) is False
    monkeypatch.setenv("X_INT", " 42 ")
    assert env_int("X_INT", 1) == 42
    monkeypatch.setenv("X_INT", "4.2")
    with pytest.raises(SettingError, match="X_INT"):
        env_int("X_INT", 1)
    assert issubclass(SettingError, ImproperlyConfigured)
    monkeypatch.delenv("X_URL", raising=False)
    assert env_url("X_URL", None, schemes=("redis",)) is None
    monkeypatch.setenv("X_DB", "postgres://postgres@127.0.0.1:5432/tailor")
    config = env_db("X_DB", Path("/tmp/x.sqlite3"))
    assert config["ENGINE"] == "django.db.backends.postgresql" and config["NAME"] == "tailor"
    monkeypatch.setenv("X_DB", "postgres://postgres@127.0.0.1:5432/")
    with pytest.raises(SettingError, match="names the database"):
        env_db("X_DB", Path("/tmp/x.sqlite3"))


def test_backends_follow_the_environment():
    """Unset variables give the embedded defaults; set ones give the real services."""
    from django.conf import settings as live

    db = live.DATABASES["default"]
    if os.environ.get("DATABASE_URL"):
        assert db["ENGINE"] == "django.db.backends.postgresql" and db["CONN_HEALTH_CHECKS"]
    else:
        assert db["ENGINE"] == "django.db.backends.sqlite3"
        assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    broker_url = os.environ.get("DRAMATIQ_BROKER_URL", "")
    expected = {"": "stub", "redis": "redis", "amqp": "rabbitmq"}[broker_url.split(":", 1)[0] if broker_url else ""]
    assert live.BROKER_KIND == expected
    assert type(__import__("dramatiq").get_broker()).__name__ == {
        "stub": "StubBroker", "redis": "RedisBroker", "rabbitmq": "RabbitmqBroker"
    }[expected]
    backend = live.STORAGES["default"]["BACKEND"]
    assert backend == ("storages.backends.s3.S3Storage" if os.environ.get("USE_S3") == "true" else "django.core.files.storage.FileSystemStorage")


def _deploy_check(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_", "DJANGO_", "TAILOR_"))}
    env.update(TAILOR_DATA_DIR=str(tmp_path), **extra)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DJANGO_SECRET_KEY": "k3P9v-" + "x7Q2m#Lr8zT0wB5nY1cF4hJ6sD9gA2eU7iO3pK8vN5bM0qW4" * 2,
    "TAILOR_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "tailor.example.com",
    "DRAMATIQ_BROKER_URL": "redis://127.0.0.1:6379/0", "TAILOR_REQUIRE_SECRET_KEY": "true",
}


def test_production_settings_pass_the_deploy_check_with_no_warnings(tmp_path):
    proc = _deploy_check(tmp_path, **PRODUCTION)
    assert proc.returncode == 0 and "no issues" in proc.stdout, proc.stdout + proc.stderr


def test_the_release_step_fails_on_deploy_check_warnings():
    release = next(line for line in (ROOT / "platform/Procfile").read_text().splitlines() if line.startswith("release:"))
    assert "manage.py check --deploy --fail-level WARNING" in release


@pytest.mark.parametrize("change, expect", [
    ({"TAILOR_HTTPS": "false"}, "security.W"),  # no HTTPS: cookies, HSTS and redirects warn
    ({"DJANGO_DEBUG": "true"}, "security.W018"),  # a warning, and the release step fails on it
    ({"DRAMATIQ_BROKER_URL": ""}, "tailor.E001"),  # the in-process broker is not for production
])
def test_the_deploy_check_catches_unsafe_settings(tmp_path, change, expect):
    proc = _deploy_check(tmp_path, **{**PRODUCTION, **change})
    assert proc.returncode != 0 and expect in proc.stdout + proc.stderr, proc.stdout + proc.stderr
