"""Mobile API for videos, search and renders ("make me something"): thin views over services.

Every object endpoint goes through an accessor that checks the viewer may see the object
(OWASP API1): another viewer's private render or render job is a 404, never a 403 that
would confirm it exists."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import CappedCursorPagination, ErrorSerializer, StrictCharField, error_response, page_size
from core.throttles import GenerationThrottle, UserThrottle
from generation.models import RenderJob, Video
from generation.planning import QuotaExceeded, render_request_for_user
from generation.rendering import render_job_cancel
from generation.selectors import render_jobs_visible, videos_visible
from core.storage import media_url

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}


class VideoOut(serializers.ModelSerializer):
    video_url = serializers.SerializerMethodField(help_text="A URL that works for this viewer: presigned or signed and "
                                                  "expiring for a private render, public for a public video (or an external URL)")
    thumbnail_url = serializers.SerializerMethodField()
    captions_url = serializers.SerializerMethodField(help_text="WebVTT captions of a generated piece, beside its MP4 ('' if none)")
    made_for_you = serializers.SerializerMethodField()
    script = serializers.JSONField(read_only=True, help_text="The versioned script a generated piece was rendered from "
                                   "(title, logline, format, cast, shots, lines, music); {} for catalogue videos")

    class Meta:
        model = Video
        fields = ["id", "title", "description", "tags", "source", "created_at", "duration_s", "fps", "width", "height",
                  "video_url", "thumbnail_url", "captions_url", "made_for_you", "views", "likes", "script"]
        read_only_fields = fields

    def get_video_url(self, video) -> str:
        if not video.video_key:
            return video.video_url
        return media_url(video.video_key, private=video.made_for_id is not None)

    def get_thumbnail_url(self, video) -> str:
        return media_url(video.thumbnail_key, private=video.made_for_id is not None) if video.thumbnail_key else ""

    def get_captions_url(self, video) -> str:
        return media_url(video.captions_key, private=video.made_for_id is not None) if video.captions_key else ""

    def get_made_for_you(self, video) -> bool:
        user = self.context.get("user")
        return bool(user and video.made_for_id == user.pk)


class VideoView(APIView):
    @extend_schema(responses={200: VideoOut, **ERRORS})
    def get(self, request, video_id: int):
        video = videos_visible(user=request.user).filter(pk=video_id).first()
        if video is None:
            return error_response(404, "not_found", "Not found.")
        return Response(VideoOut(video, context={"user": request.user}).data)


class SearchHit(serializers.Serializer):
    score = serializers.FloatField()
    video = VideoOut()


class SearchOut(serializers.Serializer):
    query = serializers.CharField()
    results = SearchHit(many=True)


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=200, trim_whitespace=False, help_text="what to look for",
                              validators=[RegexValidator(r"^[^\x00]*$", "must not contain NUL characters")])
    size = serializers.IntegerField(min_value=1, required=False, help_text="results (capped)")


class SearchView(APIView):
    """Text search: the query is embedded and matched against the item index (ANN)."""

    @extend_schema(parameters=[SearchQuery], responses={200: SearchOut, **ERRORS})
    def get(self, request):
        from profiles import indexes
        from profiles.embedding import embed_texts

        given = request.query_params.getlist("q")
        if len(given) != 1:
            return error_response(400, "invalid", "give q once", {"q": ["give it once"]})
        params = SearchQuery(data={"q": given[0]})
        params.is_valid(raise_exception=True)
        query = " ".join(params.validated_data["q"].split())
        k = page_size(request, 20)
        index = indexes.items().ready()
        if not query or not len(index):
            return Response({"query": query, "results": []})
        vector = embed_texts([query], cache=False)
        sims, ids = index.search(vector, min(len(index), k * 3))
        order = [(float(s), int(i)) for s, i in zip(sims[0], ids[0]) if i >= 0]
        videos = videos_visible(user=request.user).in_bulk([i for _, i in order])
        hits = [{"score": round(s, 4), "video": VideoOut(videos[i], context={"user": request.user}).data}
                for s, i in order if i in videos][:k]
        return Response({"query": query, "results": hits})


class RenderJobOut(serializers.ModelSerializer):
    video = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField(help_text="What went wrong, in words for a viewer (the worker's own "
                                              "message is for operators, in the admin)")
    script = serializers.JSONField(read_only=True)

    class Meta:
        model = RenderJob
        fields = ["id", "state", "progress", "purpose", "title", "brief", "model", "attempts", "error", "created_at",
                  "started_at", "finished_at", "script", "video"]
        read_only_fields = fields

    def get_error(self, job) -> str:
        if job.state == RenderJob.State.FAILED:
            return "rendering failed"
        return "the last attempt failed; it will be retried" if job.error else ""

    def get_video(self, job) -> dict | None:
        return VideoOut(job.video, context=self.context).data if job.video_id else None


class RenderRequestIn(serializers.Serializer):
    brief = StrictCharField(required=False, allow_blank=True, max_length=200,
                            validators=[RegexValidator(r"^[^\x00]*$", "must not contain NUL characters")],
                            help_text="Optional one-line brief; with `after`, your answer to that piece. "
                            "400 when our content rules refuse it")
    aspect = serializers.ChoiceField(choices=["9:16", "16:9", "1:1"], required=False,
                                     help_text="Frame shape; the deployment's default (9:16) when left out")
    after = serializers.IntegerField(min_value=1, required=False, help_text="A generated video you can see: the new "
                                     "piece is its next episode, same cast and world (your brief, if any, is your answer "
                                     "to it, and its character replies)")


class RenderListView(ListAPIView):
    serializer_class = RenderJobOut
    pagination_class = CappedCursorPagination

    def get_throttles(self):
        if self.request.method == "POST":
            return [GenerationThrottle(), UserThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        return render_jobs_visible(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    @extend_schema(responses={200: RenderJobOut(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=RenderRequestIn, responses={202: RenderJobOut, 200: RenderJobOut, **ERRORS},
                   description="Make me something: a render of your own from your taste and an optional brief. "
                   "Limited by a daily quota (429 when used up). The same request while it renders returns the same job.")
    def post(self, request):
        data = RenderRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        after = None
        if data.validated_data.get("after"):
            after = videos_visible(user=request.user).filter(pk=data.validated_data["after"]).exclude(script={}).first()
            if after is None:
                return error_response(404, "not_found", "No generated video with that id.", {"after": ["not found"]})
        try:
            job, created = render_request_for_user(user=request.user, brief=data.validated_data.get("brief", ""),
                                                   aspect=data.validated_data.get("aspect"), after=after)
        except QuotaExceeded as exc:
            return error_response(429, "quota", " ".join(exc.messages), exc.message_dict)
        return Response(RenderJobOut(job, context={"user": request.user}).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class RenderView(APIView):
    @extend_schema(responses={200: RenderJobOut, **ERRORS})
    def get(self, request, job_id: int):
        job = render_jobs_visible(user=request.user).filter(pk=job_id).first()
        if job is None:
            return error_response(404, "not_found", "Not found.")
        return Response(RenderJobOut(job, context={"user": request.user}).data)


class RenderCancelView(APIView):
    @extend_schema(request=None, responses={200: RenderJobOut, **ERRORS})
    def post(self, request, job_id: int):
        job = render_jobs_visible(user=request.user).filter(pk=job_id).first()
        if job is None:
            return error_response(404, "not_found", "Not found.")
        render_job_cancel(job=job)
        job.refresh_from_db()
        return Response(RenderJobOut(job, context={"user": request.user}).data)
