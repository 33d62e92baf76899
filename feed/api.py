"""Mobile API for the feed: the same service as the web feed, with a signed cursor."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer, PageQuery, error_response, page_size
from feed.services import CursorInvalid, feed_page_serve
from generation.api import VideoOut

# The shape of what signing.dumps() writes: base64url payload, base62 timestamp, base64url HMAC-SHA256.
CURSOR = r"^(?:[A-Za-z0-9_-]{1,400}:[A-Za-z0-9]{1,12}:[A-Za-z0-9_-]{43})?$"


class FeedItemOut(serializers.Serializer):
    video = VideoOut()
    reason = serializers.CharField(help_text="Why this: the interest or source that brought it")
    source = serializers.CharField()
    score = serializers.FloatField()


class FeedOut(serializers.Serializer):
    items = FeedItemOut(many=True)
    next_cursor = serializers.CharField()


class FeedQuery(PageQuery):
    cursor = serializers.RegexField(CURSOR, required=False, allow_blank=True, trim_whitespace=False,
                                    help_text="next_cursor of the previous page (empty or absent: the first page)")


class FeedView(APIView):
    @extend_schema(
        parameters=[FeedQuery],
        responses={200: FeedOut, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer},
        description="400: a cursor of the wrong shape. 404: a cursor of the right shape that this server did not sign "
        "for you, or signed over a day ago (the page it names is gone, as with DRF's own cursors): start again without one.",
    )
    def get(self, request):
        query = FeedQuery(data={"cursor": request.query_params.get("cursor", "")})
        query.is_valid(raise_exception=True)
        size = page_size(request, settings.FEED_PAGE_SIZE)
        try:
            page = feed_page_serve(user=request.user, cursor=query.validated_data.get("cursor") or None, size=size)
        except CursorInvalid as exc:
            return error_response(404, "not_found", " ".join(exc.messages), exc.message_dict)
        # One list serializer for the page: its fields are built once, not once per item.
        videos = VideoOut([i.video for i in page.items], many=True, context={"user": request.user}).data
        items = [{"video": video, "reason": i.reason, "source": i.source, "score": round(float(i.score), 4)}
                 for video, i in zip(videos, page.items)]
        return Response({"items": items, "next_cursor": page.next_cursor})
