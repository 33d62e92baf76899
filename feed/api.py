"""Mobile API for the feed: the same service as the web feed, with a signed cursor."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer, PageQuery, page_size
from feed.services import feed_page_serve
from generation.api import VideoOut


class FeedItemOut(serializers.Serializer):
    video = VideoOut()
    reason = serializers.CharField(help_text="Why this: the interest or source that brought it")
    source = serializers.CharField()
    score = serializers.FloatField()


class FeedOut(serializers.Serializer):
    items = FeedItemOut(many=True)
    next_cursor = serializers.CharField()


class FeedView(APIView):
    @extend_schema(
        parameters=[PageQuery, OpenApiParameter("cursor", str, required=False, pattern=r"^[A-Za-z0-9_:.-]{0,500}$",
                                                     description="next_cursor of the previous page (empty or absent: the first page)")],
        responses={200: FeedOut, 400: ErrorSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        page = feed_page_serve(user=request.user, cursor=request.query_params.get("cursor") or None,
                               size=page_size(request, settings.FEED_PAGE_SIZE))
        # One list serializer for the page: its fields are built once, not once per item.
        videos = VideoOut([i.video for i in page.items], many=True, context={"user": request.user}).data
        items = [{"video": video, "reason": i.reason, "source": i.source, "score": round(float(i.score), 4)}
                 for video, i in zip(videos, page.items)]
        return Response({"items": items, "next_cursor": page.next_cursor})
