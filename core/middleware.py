"""One log line per request, with a request id the client can quote back."""

from __future__ import annotations

import logging
import re
import time
import uuid

logger = logging.getLogger("tailor.request")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex[:16]
        started = time.perf_counter()
        response = None
        try:
            response = self.get_response(request)
            return response
        finally:
            user = getattr(request, "user", None)
            uid = user.pk if user is not None and user.is_authenticated else "-"
            status = response.status_code if response is not None else 500
            logger.info(
                "request id=%s method=%s path=%s status=%s ms=%.1f user=%s",
                request.id,
                request.method,
                request.path,
                status,
                (time.perf_counter() - started) * 1000,
                uid,
            )
            if response is not None:
                response["X-Request-ID"] = request.id


class BodySizeLimitMiddleware:
    """Refuse a request body over DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import JsonResponse

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit and length > limit:
            return JsonResponse(
                {"error": {"status": 413, "code": "too_large", "detail": f"request body over {limit} bytes", "fields": {}}},
                status=413,
            )
        return self.get_response(request)
