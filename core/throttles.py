"""API throttles whose rates come from settings.THROTTLE_RATES at request time (tests and
operators can change them), counted in the default cache (Redis with TAILOR_CACHE_URL), and
the same counters for plain Django views (web signup, password reset, onboarding).

Every throttle that keys on the client's address takes it from core.clientip, so no client
escapes its bucket with an X-Forwarded-For of its choosing (TAILOR_TRUSTED_PROXIES).

Kept apart from core.api: DRF imports these while it builds APIView, so this module must
not import rest_framework.views."""

from __future__ import annotations

import functools
import hashlib
import math

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from core.clientip import client_ip


class _SettingsRates:
    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class AnonThrottle(_SettingsRates, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_SettingsRates, UserRateThrottle):
    scope = "user"


class AddressThrottle(_SettingsRates, SimpleRateThrottle):
    """Per client address, signed in or not."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(AddressThrottle):
    """Guessing passwords is limited (and django-axes locks an address out after repeated failures)."""

    scope = "login"


class SignupThrottle(AddressThrottle):
    scope = "signup"


class GenerationThrottle(_SettingsRates, UserRateThrottle):
    scope = "generation"


class _KeyedThrottle(_SettingsRates, SimpleRateThrottle):
    """One scope's counter for a key the caller chose (an address, a viewer, a hashed email)."""

    def __init__(self, scope: str, ident: str):
        self.scope, self.ident = scope, ident
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def throttle_wait(request, scope: str, *idents: str) -> int | None:
    """Count one request against each key of the scope; the seconds to wait if any is spent, else None."""
    for ident in idents:
        throttle = _KeyedThrottle(scope, ident)
        if not throttle.allow_request(request, None):
            return max(1, math.ceil(throttle.wait() or 1))
    return None


def email_ident(email: str) -> str:
    """A key for an address without keeping the address in the cache."""
    return "email-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def throttled_response(request, wait: int):
    if request.content_type == "application/json" or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"errors": {"detail": [f"too many requests; try again in {wait} seconds"]}}, status=429)
    else:
        response = render(request, "registration/throttled.html", {"wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


def web_throttle(scope: str, *, per: str = "address", methods: tuple[str, ...] = ("POST",)):
    """A Django view decorator: `methods` requests count against the scope, per client address or
    per signed-in viewer; a spent bucket is a 429 with Retry-After (a page, or JSON for JSON clients)."""
    if per not in ("address", "user"):
        raise ValueError(per)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                ident = f"user-{request.user.pk}" if per == "user" and request.user.is_authenticated else client_ip(request)
                wait = throttle_wait(request, scope, ident)
                if wait is not None:
                    return throttled_response(request, wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
