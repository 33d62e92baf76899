"""The API's tokens: simplejwt's, carrying the viewer's token generation, so that a password
change ends every access token issued before it at once (a blacklisted refresh token only
stops new ones; an access token stolen before the change would otherwise work for the rest of
its lifetime). The generation is a counter, not a time: a token issued in the same second as
the change is on the right side of it."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.authentication import JWTAuthentication as _JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from profiles.models import Profile

GENERATION_CLAIM = "gen"


def token_generation(user) -> int:
    return Profile.objects.filter(user=user).values_list("token_generation", flat=True).first() or 0


class RefreshToken(tokens.RefreshToken):
    """A refresh token (and the access tokens made from it, which copy its claims) of the
    viewer's current generation."""

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = token_generation(user)
        return token


class JWTAuthentication(_JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        try:
            generation = int(validated_token.get(GENERATION_CLAIM, 0))
        except (TypeError, ValueError):
            raise AuthenticationFailed("Token has an invalid generation", code="token_not_valid") from None
        if generation != token_generation(user):
            raise AuthenticationFailed("The password was changed: log in again", code="token_revoked")
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt, for this subclass."""

    target_class = "profiles.auth.JWTAuthentication"
