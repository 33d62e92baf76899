"""Mobile API for accounts, taste and interactions: thin views over profiles.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core.api import ErrorSerializer, StrictBooleanField, StrictCharField, StrictFloatField, error_response
from core.throttles import LoginThrottle, SignupThrottle
from profiles import services
from profiles.auth import RefreshToken
from profiles.models import Interest, Profile
from profiles.weights import WEIGHTS

User = get_user_model()
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}

# What the schema states is what is enforced: Django's CharField refuses NUL characters, so the
# patterns say so; a JWT is three base64url segments (one that is not is a 400, a forged one a 401).
NO_NUL = RegexValidator(r"^[^\x00]*$", "must not contain NUL characters")
JWT = RegexValidator(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", "must be a token from this API")
# Password rules a pattern can state: no NUL, not only digits (Django's NumericPasswordValidator).
# The others (MinimumLength is minLength; common passwords, likeness to the username) are 400s.
PASSWORD_CHARS = RegexValidator(r"^[^\x00]*[^0-9\x00][^\x00]*$", "must not be only digits or contain NUL characters")


def password_field(**kwargs) -> serializers.CharField:
    """A password as typed: a string (not a number made one), never trimmed (leading spaces are
    part of it), no NUL."""
    kwargs.setdefault("validators", [NO_NUL])
    return StrictCharField(write_only=True, trim_whitespace=False, **kwargs)


class TokensOut(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class SignupIn(serializers.Serializer):
    username = StrictCharField(max_length=150, trim_whitespace=False, validators=[
        RegexValidator(r"^[\w.@+-]+\Z", "letters, digits and @ . + - _ only")])
    password = password_field(min_length=8, max_length=128, validators=[PASSWORD_CHARS],
                              help_text="8 to 128 characters, not only digits; a common password or one much like "
                              "the username or email is a 400")
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)

    def validate_username(self, value):
        # Stored NFKC-normalised (create_user does it): the name that is checked is the name saved.
        value = User.normalize_username(value)
        if len(value) > 150:
            raise serializers.ValidationError("must be at most 150 characters once normalised")
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

    @extend_schema(request=SignupIn, responses={201: TokensOut, 409: ErrorSerializer, **ERRORS}, auth=[],
                   description="409: the username is taken (in any letter case). 400: the password validators "
                   "refused the password (a common one, or too like the username or email).")
    def post(self, request):
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            return username_taken_response()
        try:
            with transaction.atomic():
                user = User.objects.create_user(username=username, password=data.validated_data["password"],
                                                email=data.validated_data.get("email", ""))
                services.profile_ensure(user=user)
        except IntegrityError:  # the same name signed up a moment ago
            return username_taken_response()
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)}, status=status.HTTP_201_CREATED)


def username_taken_response() -> Response:
    return error_response(409, "username_taken", "that username is taken", {"username": ["that username is taken"]})


def locked_out_response() -> Response:
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return error_response(429, "locked_out", f"too many failed logins from your address; try again in {wait} seconds",
                          headers={"Retry-After": str(wait)})


class LoginIn(TokenObtainPairSerializer):
    """simplejwt's fields, as typed: a trimmed username or password would be a 400 for input the
    schema allows; any other string is a 401 (no such user, or the wrong password)."""

    token_class = RefreshToken  # carries the viewer's token generation (profiles/auth.py)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = StrictCharField(write_only=True, trim_whitespace=False, validators=[NO_NUL])
        self.fields["password"] = password_field()


class RefreshIn(TokenRefreshSerializer):
    refresh = serializers.CharField(write_only=True, trim_whitespace=False, validators=[JWT])

    def validate(self, attrs):
        # simplejwt looks the token's user up with get(): a deleted account would be a 500.
        try:
            return super().validate(attrs)
        except User.DoesNotExist:
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account") from None


class LoginView(TokenObtainPairView):
    """Username and password for an access token (short-lived) and a refresh token.

    simplejwt passes the request to authenticate(), so django-axes counts each failure against
    the client's address and refuses a locked-out address before any password is checked; axes
    marks the (DRF) request, which its middleware never sees, so the lockout is answered here."""

    serializer_class = LoginIn
    authentication_classes = []
    throttle_classes = [LoginThrottle]

    @extend_schema(responses={200: TokensOut, **ERRORS}, auth=[],
                   description="401: no such user, or the wrong password. "
                   "429: throttled, or locked out after repeated failed logins from this address.")
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

    serializer_class = RefreshIn
    authentication_classes = []
    throttle_classes = [LoginThrottle]

    @extend_schema(responses={200: TokensOut, **ERRORS}, auth=[],
                   description="401: the token is forged, expired or revoked (spent by a refresh, a logout, a "
                   "password change), or its account is gone.")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutIn(serializers.Serializer):
    refresh = StrictCharField(max_length=2000, trim_whitespace=False, validators=[JWT])


class LogoutView(APIView):
    """Revoke a refresh token, as OAuth token revocation does (RFC 7009, section 2.2): a token that
    no longer works (expired, already spent, forged) is a 204 too, since there is nothing left to
    revoke and a client logging out could do nothing with an error. Another viewer's token is a 403
    and stays valid."""

    @extend_schema(request=LogoutIn, responses={204: None, 403: ErrorSerializer, **ERRORS})
    def post(self, request):
        data = LogoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
        except TokenError:
            return Response(status=status.HTTP_204_NO_CONTENT)
        if str(token.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))) != str(request.user.pk):
            return error_response(403, "not_yours", "that refresh token is not yours", {"refresh": ["not yours"]})
        token.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


def password_refused(request, password: str, *, field: str) -> Response | None:
    """Check the signed-in viewer's password again before a change that could take the account
    over. It goes through authenticate(), so django-axes counts a wrong one against the address
    like a failed login and a locked-out address is refused (429): no guessing through here."""
    user = authenticate(request, username=request.user.get_username(), password=password)
    if getattr(request, "axes_locked_out", False):
        return locked_out_response()
    if user is None or user.pk != request.user.pk:
        # 403, not 401: the access token is fine (a 401 would send a client to refresh it).
        return error_response(403, "wrong_password", "that is not your current password", {field: ["wrong password"]})
    return None


class MeOut(serializers.ModelSerializer):
    onboarded = serializers.SerializerMethodField()
    email = serializers.CharField(read_only=True, help_text="may be empty")

    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined", "onboarded"]
        read_only_fields = fields

    def get_onboarded(self, user) -> bool:
        return Profile.objects.filter(user=user, onboarded=True).exists()


class MeIn(serializers.Serializer):
    """The only field a viewer may change here (no owner, staff or status fields: API3), and the
    current password, which changing it takes."""

    email = serializers.EmailField(required=False, allow_blank=True, max_length=254, help_text="may be empty")
    current_password = password_field(max_length=4096)

    # Never partial, so the schema keeps current_password required: drf-spectacular describes a
    # PATCH body by setting `partial` on the serializer, as DRF's generic views do.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value) -> None:
        pass


class MeDeleteIn(serializers.Serializer):
    password = password_field(max_length=4096)


class MeView(APIView):
    @extend_schema(responses={200: MeOut, **ERRORS})
    def get(self, request):
        return Response(MeOut(request.user).data)

    @extend_schema(request=MeIn, responses={200: MeOut, 403: ErrorSerializer, **ERRORS},
                   description="Change the email address; it takes the current password (403 when wrong), and the "
                   "old address is told of the change.")
    def patch(self, request):
        data = MeIn(data=request.data)
        data.is_valid(raise_exception=True)
        refused = password_refused(request, data.validated_data["current_password"], field="current_password")
        if refused:
            return refused
        if "email" in data.validated_data:
            services.email_change(user=request.user, email=data.validated_data["email"])
        return Response(MeOut(request.user).data)

    # OpenAPI 3.0 gives a DELETE no request body, so the description states it.
    @extend_schema(responses={204: None, 403: ErrorSerializer, **ERRORS}, description="Delete the account and "
                   "everything personal: interactions, taste vectors, render jobs and their briefs, safety checks of "
                   "your texts, and private renders with their files; every refresh token is revoked. The body is "
                   '`{"password": "<your current password>"}`: 400 when it is missing, 403 when it is wrong.')
    def delete(self, request):
        data = MeDeleteIn(data=request.data)
        data.is_valid(raise_exception=True)
        refused = password_refused(request, data.validated_data["password"], field="password")
        if refused:
            return refused
        services.account_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GreetingSerializer(serializers.Serializer):
    """What a host in a made-for-you piece may call the viewer, and whether they may."""

    display_name = StrictCharField(max_length=services.DISPLAY_NAME_MAX, allow_blank=True, trim_whitespace=True,
                                   validators=[NO_NUL], help_text="spoken aloud in pieces: checked like a brief")
    greet_by_name = StrictBooleanField(help_text="whether hosts may use the name (without one, they greet no one by name)")


class GreetingView(APIView):
    @extend_schema(responses={200: GreetingSerializer, **ERRORS})
    def get(self, request):
        profile = services.profile_ensure(user=request.user)
        return Response(GreetingSerializer(profile).data)

    @extend_schema(request=GreetingSerializer, responses={200: GreetingSerializer, **ERRORS},
                   description="Set the display name a host may greet you by. A name our content rules refuse is a "
                   "400 and changes nothing.")
    def put(self, request):
        data = GreetingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            profile = services.greeting_set(user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            return error_response(400, "invalid", "the greeting was not saved", exc.message_dict)
        return Response(GreetingSerializer(profile).data)


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
    # Whether the video exists (and is one this viewer may see) is checked per event by the
    # service, so one stale id does not lose the rest of the batch.
    video = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=sorted(WEIGHTS))
    value = StrictFloatField(required=False, allow_null=True, min_value=0.0, max_value=1e9,
                             help_text="watch seconds, or a rating")
    watch_fraction = StrictFloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    client_event_id = StrictCharField(required=False, allow_null=True, max_length=100, trim_whitespace=False,
                                      validators=[NO_NUL])


def _events_field() -> serializers.ListField:
    return serializers.ListField(child=EventIn(), min_length=1, max_length=settings.API_BATCH_MAX)


class InteractionsIn(serializers.Serializer):
    events = _events_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"] = _events_field()  # the setting now, not at import

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
    """A batch of events (like, dislike, hide, skip, view, share); events about videos that do not
    exist are reported by index and the others kept; a repeated client_event_id is dropped."""

    @extend_schema(request=InteractionsIn, responses={200: InteractionsOut, **ERRORS},
                   description="404: no event named a video you can see (some did: a 200 with the others "
                   "under `errors`).")
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
            if all(set(e["errors"]) == {"video"} for e in body["errors"]):
                return error_response(404, "not_found", "no event named a video you can see", fields)
            return error_response(400, "invalid", "no event was valid", fields)
        return Response(body)
