"""Local media (USE_S3 off), served only to its audience.

/media/<key> answers for a render's video or thumbnail alone: a public video to anyone, a
private render to the viewer it was made for and to staff, or to whoever holds the signed,
expiring link core.storage.media_url handed out for it. Anything else under MEDIA_ROOT,
another viewer's render, an unknown or a guessed key: 404, never 403, so existence is not
confirmed. On S3 nothing is served here: browsers fetch presigned or public URLs.

After the check, a front proxy can send the bytes (TAILOR_MEDIA_ACCEL): "nginx" answers with
X-Accel-Redirect to TAILOR_MEDIA_ACCEL_PREFIX (an `internal` location aliased to MEDIA_ROOT),
"sendfile" with X-Sendfile and the file's path.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

from core import storage
from generation.selectors import video_for_media_key, video_media_visible_to


@require_safe
def media(request, path: str):
    if settings.USE_S3:
        raise Http404
    video = video_for_media_key(key=path)
    if video is None:
        raise Http404
    signed = storage.media_url_signature_ok(path, request.GET.get("e"), request.GET.get("s"))
    if not (signed or video_media_visible_to(user=request.user, video=video)):
        raise Http404
    try:
        file_path = storage.media_local_path(path)
    except ValueError:
        raise Http404 from None
    if settings.MEDIA_ACCEL:
        if not file_path.is_file():
            raise Http404
        response = HttpResponse(content_type=mimetypes.guess_type(path)[0] or "application/octet-stream")
        if settings.MEDIA_ACCEL == "nginx":
            response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX.rstrip("/") + "/" + quote(path)
        else:
            response["X-Sendfile"] = str(file_path)
    else:
        response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if video.made_for_id is not None:
        # Never kept by a shared cache; the same URL answers differently for another viewer.
        response["Cache-Control"] = "private, max-age=3600"
        response["Vary"] = "Cookie"
    return response
