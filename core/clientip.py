"""The client's address, the one rule every limit uses (DRF throttles, web throttles, axes).

A header is only believed when TAILOR_TRUSTED_PROXIES says how many proxies we run in front:
with 0 (the default) the address is REMOTE_ADDR, whatever X-Forwarded-For a client sends, so
a client cannot pick a fresh throttle bucket per request. With N proxies, each appends the
address it saw to X-Forwarded-For, so the client is the N-th entry from the right; entries
left of it are whatever the client wrote and are ignored. This is DRF's NUM_PROXIES rule
(settings wire NUM_PROXIES to the same count), kept here so axes and the web views agree.
"""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]
