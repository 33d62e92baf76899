"""The one place settings are read from the environment.

django-environ parses URLs well but is lenient elsewhere (`bool("maybe")` is
False), so every read goes through these helpers, which reject anything they
do not understand with an error that names the variable. A typo in a deploy
must stop start-up, not silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_UNSET = object()


class SettingError(ImproperlyConfigured):
    """A setting from the environment is malformed."""

    def __init__(self, name: str, value: str, expected: str):
        self.name = name
        super().__init__(f"Setting {name}={value!r} is invalid: expected {expected}.")


def _raw(name: str, default: Any) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None if default is _UNSET else default
    return value


def env_str(name: str, default: str | None = None, *, choices: tuple[str, ...] | None = None) -> str | None:
    value = _raw(name, default)
    if value is not None and choices and value not in choices:
        raise SettingError(name, value, "one of " + ", ".join(choices))
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "")
    if value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingError(name, value, "a boolean (true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, min_value: int | None = None, max_value: int | None = None) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        parsed = int(value.strip())
    except ValueError:
        raise SettingError(name, value, "an integer") from None
    if (min_value is not None and parsed < min_value) or (max_value is not None and parsed > max_value):
        raise SettingError(name, value, f"an integer in [{min_value}, {max_value}]")
    return parsed


def env_float(name: str, default: float, *, min_value: float | None = None, max_value: float | None = None) -> float:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        parsed = float(value.strip())
    except ValueError:
        raise SettingError(name, value, "a number") from None
    if (min_value is not None and parsed < min_value) or (max_value is not None and parsed > max_value):
        raise SettingError(name, value, f"a number in [{min_value}, {max_value}]")
    return parsed


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    if value == "":
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def env_networks(name: str, default: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of CIDRs (a bare address is a /32 or /128). Host bits must be zero:
    10.0.0.5/8 is refused rather than silently widened to 10.0.0.0/8."""
    nets = []
    for part in env_list(name, default):
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            raise SettingError(name, os.environ.get(name, ""), "comma-separated networks in CIDR form (10.0.0.0/8, ::1)") from None
    return tuple(nets)


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "")
    return Path(value).expanduser().resolve() if value else default


def env_db(name: str, default_sqlite: Path) -> dict[str, Any]:
    """DATABASE_URL as a Django DATABASES entry; SQLite file when unset."""
    value = os.environ.get(name, "")
    if value == "":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite)}
    scheme = urlsplit(value).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise SettingError(name, value, "a postgres://user@host:port/db or sqlite:///path URL")
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types here
        raise SettingError(name, value, f"a database URL ({exc})") from None
    if not config.get("NAME"):
        raise SettingError(name, value, "a database URL that names the database")
    return config


def env_url(name: str, default: str | None, *, schemes: tuple[str, ...]) -> str | None:
    value = _raw(name, default)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.scheme == "stub"):
        raise SettingError(name, value, "a URL with scheme " + " or ".join(f"{s}://" for s in schemes))
    return value


def env_json(name: str, default: Any, *, kind: type = dict) -> Any:
    raw = _raw(name, None)
    if raw is None:
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingError(name, raw, f"valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, kind):
        raise SettingError(name, raw, f"a JSON {kind.__name__}")
    return value
