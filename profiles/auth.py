"""The API's authentication: simplejwt's access tokens, which also stop working once the
viewer's password has changed (a blacklisted refresh token only stops new ones; an access
token stolen before the change would otherwise work for the rest of its lifetime)."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as _JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from profiles.models import Profile


class JWTAuthentication(_JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        issued = validated_token.get("iat")
        if issued is None:
            raise AuthenticationFailed("Token has no issue time", code="token_not_valid")
        # iat has whole seconds: a token is dead when it was issued in a second before the
        # change (one issued later in the change's own second, a fresh log-in, lives).
        cutoff = datetime.fromtimestamp(int(issued) + 1, tz=UTC)
        if Profile.objects.filter(user=user, tokens_valid_after__gte=cutoff).exists():
            raise AuthenticationFailed("The password was changed: log in again", code="token_revoked")
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt, for this subclass."""

    target_class = "profiles.auth.JWTAuthentication"
