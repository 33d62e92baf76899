"""API throttles whose rates come from settings.THROTTLE_RATES at request time (tests and
operators can change them), counted in the default cache (Redis with TAILOR_CACHE_URL).

Kept apart from core.api: DRF imports these while it builds APIView, so this module must
not import rest_framework.views."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _SettingsRates:
    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)


class AnonThrottle(_SettingsRates, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_SettingsRates, UserRateThrottle):
    scope = "user"


class LoginThrottle(_SettingsRates, SimpleRateThrottle):
    """Per client address, signed in or not: guessing passwords is limited."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GenerationThrottle(_SettingsRates, UserRateThrottle):
    scope = "generation"
