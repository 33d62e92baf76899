"""Mobile API for accounts, taste and interactions: thin views over profiles.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core.api import ErrorSerializer, StrictCharField, StrictFloatField, error_response
from core.throttles import LoginThrottle, SignupThrottle
from profiles import services
from profiles.models import Interest, Profile
from profiles.weights import WEIGHTS

User = get_user_model()
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}


class TokensOut(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class SignupIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(min_length=8, max_length=128, write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("that username is taken")
        return value

    def validate(self, attrs):
        try:
            validate_password(attrs["password"], User(username=attrs["username"], email=attrs.get("email", "")))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from None
        return attrs


class SignupView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [SignupThrottle]

    @extend_schema(request=SignupIn, responses={201: TokensOut, **ERRORS}, auth=[])
    def post(self, request):
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            user = User.objects.create_user(
                username=data.validated_data["username"], password=data.validated_data["password"],
                email=data.validated_data.get("email", ""),
            )
            services.profile_ensure(user=user)
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)}, status=status.HTTP_201_CREATED)


def locked_out_response() -> Response:
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return error_response(429, "locked_out", f"too many failed logins from your address; try again in {wait} seconds",
                          headers={"Retry-After": str(wait)})


class LoginView(TokenObtainPairView):
    """Username and password for an access token (short-lived) and a refresh token.

    simplejwt passes the request to authenticate(), so django-axes counts each failure against
    the client's address and refuses a locked-out address before any password is checked; axes
    marks the (DRF) request, which its middleware never sees, so the lockout is answered here."""

    authentication_classes = []
    throttle_classes = [LoginThrottle]

    @extend_schema(responses={200: TokensOut, **ERRORS}, auth=[],
                   description="429: throttled, or locked out after repeated failed logins from this address.")
    def post(self, request, *args, **kwargs):
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                return locked_out_response()
            raise
        return locked_out_response() if getattr(request, "axes_locked_out", False) else response


class RefreshView(TokenRefreshView):
    """A refresh token for a new access token and a new refresh token; the old one is spent."""

    authentication_classes = []
    throttle_classes = [LoginThrottle]

    @extend_schema(responses={200: TokensOut, **ERRORS}, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutIn(serializers.Serializer):
    refresh = StrictCharField(max_length=2000)


class LogoutView(APIView):
    @extend_schema(request=LogoutIn, responses={204: None, **ERRORS})
    def post(self, request):
        data = LogoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
        except TokenError as exc:
            return error_response(400, "invalid", str(exc), {"refresh": [str(exc)]})
        if str(token.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))) != str(request.user.pk):
            return error_response(400, "invalid", "that refresh token is not yours", {"refresh": ["not yours"]})
        token.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeOut(serializers.ModelSerializer):
    onboarded = serializers.SerializerMethodField()
    email = serializers.CharField(read_only=True, help_text="may be empty")

    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined", "onboarded"]
        read_only_fields = fields

    def get_onboarded(self, user) -> bool:
        return Profile.objects.filter(user=user, onboarded=True).exists()


class MeIn(serializers.ModelSerializer):
    """The only field a viewer may change here (no owner, staff or status fields: API3)."""

    class Meta:
        model = User
        fields = ["email"]


class MeView(APIView):
    @extend_schema(responses={200: MeOut, **ERRORS})
    def get(self, request):
        return Response(MeOut(request.user).data)

    @extend_schema(request=MeIn, responses={200: MeOut, **ERRORS})
    def patch(self, request):
        data = MeIn(request.user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        data.save()
        return Response(MeOut(request.user).data)

    @extend_schema(responses={204: None, **ERRORS}, description="Delete the account and everything personal: "
                   "interactions, taste vectors, render jobs and private renders with their files.")
    def delete(self, request):
        services.account_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InterestOut(serializers.ModelSerializer):
    share = serializers.SerializerMethodField()

    class Meta:
        model = Interest
        fields = ["id", "label", "weight", "share", "count", "origin", "updated_at"]
        read_only_fields = fields

    def get_share(self, interest) -> float:
        return round(interest.weight / (self.context.get("total") or 1.0), 4)


class TasteOut(serializers.Serializer):
    interests = InterestOut(many=True)


class TasteView(APIView):
    @extend_schema(responses={200: TasteOut, **ERRORS})
    def get(self, request):
        interests = list(Interest.objects.filter(user=request.user).order_by("-weight", "id"))
        total = sum(i.weight for i in interests) or 1.0
        return Response({"interests": InterestOut(interests, many=True, context={"total": total}).data})


class InterestView(APIView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, interest_id: int):
        if not services.interest_remove(user=request.user, interest_id=interest_id):
            return error_response(404, "not_found", "Not found.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class TasteResetView(APIView):
    @extend_schema(request=None, responses={200: inline_serializer("TasteResetOut", {"removed": serializers.IntegerField()}), **ERRORS})
    def post(self, request):
        return Response({"removed": services.taste_reset(user=request.user)})


class EventIn(serializers.Serializer):
    video = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    # Checked per event by the service, so one bad event does not lose the rest of the batch.
    kind = StrictCharField(max_length=32, help_text="one of " + ", ".join(sorted(WEIGHTS)))
    value = StrictFloatField(required=False, allow_null=True)
    watch_fraction = StrictFloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    client_event_id = StrictCharField(required=False, allow_null=True, max_length=100)


class InteractionsIn(serializers.Serializer):
    events = EventIn(many=True, allow_empty=False, max_length=settings.API_BATCH_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].max_length = settings.API_BATCH_MAX  # the setting now, not at import

    def to_internal_value(self, data):
        # The cap is checked on the list's length before any event is validated: a flood costs one len().
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and len(events) > settings.API_BATCH_MAX:
            raise serializers.ValidationError({"events": [f"at most {settings.API_BATCH_MAX} events per request"]})
        return super().to_internal_value(data)


class InteractionsOut(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.ListField(child=inline_serializer("EventError", {
        "index": serializers.IntegerField(), "errors": serializers.DictField(child=serializers.CharField()),
    }))


class InteractionsView(APIView):
    """A batch of events (like, dislike, hide, skip, view, share); bad ones are reported by index,
    good ones kept; a repeated client_event_id is dropped."""

    @extend_schema(request=InteractionsIn, responses={200: InteractionsOut, **ERRORS})
    def post(self, request):
        data = InteractionsIn(data=request.data)
        data.is_valid(raise_exception=True)
        events = [{k: v for k, v in e.items() if v is not None} for e in data.validated_data["events"]]
        result = services.interactions_ingest(user=request.user, events=events)
        body = {"created": result.created, "duplicates": result.duplicates, "errors": [
            {"index": e["index"], "errors": {k: str(v) for k, v in e["errors"].items()}} for e in result.errors
        ]}
        if result.errors and not (result.created or result.duplicates):
            fields = {f"events.{e['index']}.{k}": [m] for e in body["errors"] for k, m in e["errors"].items()}
            return error_response(400, "invalid", "no event was valid", fields)
        return Response(body)
