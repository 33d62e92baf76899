"""Account safety, driven through HTTP: changing the email or deleting the account takes the
password, the old address hears of an email change, a password change (web or reset) revokes
every refresh token, a refresh after deletion is a 401, and a viewer's briefs go with them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient
from profiles.auth import RefreshToken

from generation.models import RenderJob, SafetyDecision

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "x-Pass-123!"  # make_user's
User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.AXES_FAILURE_LIMIT = 10
    cache.clear()
    yield
    cache.clear()


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json()["error"]


def _logins(username, password, n=2) -> list[str]:
    """Refresh tokens of n devices logged in through the API."""
    api = APIClient()
    tokens = [api.post("/api/v1/auth/token", {"username": username, "password": password}, format="json") for _ in range(n)]
    assert all(t.status_code == 200 for t in tokens), [t.content[:200] for t in tokens]
    return [t.json()["refresh"] for t in tokens]


def _refresh(refresh: str):
    return APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")


# --- Email -------------------------------------------------------------------------------------

def test_an_email_change_takes_the_current_password_and_tells_the_old_address(make_user, mailoutbox):
    owner = make_user("owner", email="owner@example.com")
    other = make_user("other")
    other.set_password("another-Pass-456")
    other.save()
    api = api_for(owner)  # a stolen access token, say

    missing = api.patch("/api/v1/me", {"email": "taker@example.com"}, format="json")
    assert "current_password" in _error(missing, 400)["fields"]
    for wrong in ("not-the-password", "another-Pass-456", f" {PASSWORD}"):  # someone's password is not yours
        refused = api.patch("/api/v1/me", {"email": "taker@example.com", "current_password": wrong}, format="json")
        assert _error(refused, 403)["code"] == "wrong_password"
    owner.refresh_from_db()
    assert owner.email == "owner@example.com" and mailoutbox == []

    changed = api.patch("/api/v1/me", {"email": "new@example.com", "current_password": PASSWORD}, format="json")
    assert changed.status_code == 200 and changed.json()["email"] == "new@example.com"
    owner.refresh_from_db()
    assert owner.email == "new@example.com"
    [notice] = mailoutbox
    assert notice.to == ["owner@example.com"] and "owner" in notice.body
    # The same address again changes nothing and tells nobody.
    assert api.patch("/api/v1/me", {"email": "new@example.com", "current_password": PASSWORD}, format="json").status_code == 200
    assert len(mailoutbox) == 1


def test_wrong_current_passwords_count_as_failed_logins(settings, make_user):
    settings.AXES_FAILURE_LIMIT = 3
    api = api_for(make_user("owner"))
    codes = [api.patch("/api/v1/me", {"email": "x@example.com", "current_password": f"guess-{i}"}, format="json",
                       REMOTE_ADDR="203.0.113.9").status_code for i in range(4)]
    assert codes[:2] == [403, 403] and codes[3] == 429, codes
    # Locked out: even the right password is refused from that address, and so is the login.
    right = api.patch("/api/v1/me", {"email": "x@example.com", "current_password": PASSWORD}, format="json",
                      REMOTE_ADDR="203.0.113.9")
    assert _error(right, 429)["code"] == "locked_out"
    assert APIClient().post("/api/v1/auth/token", {"username": "owner", "password": PASSWORD}, format="json",
                            REMOTE_ADDR="203.0.113.9").status_code == 429


# --- Deletion ----------------------------------------------------------------------------------

def test_deleting_the_account_takes_the_password(make_user):
    owner = make_user("owner")
    api = api_for(owner)
    assert "password" in _error(api.delete("/api/v1/me"), 400)["fields"]
    assert "password" in _error(api.delete("/api/v1/me", {"password": "wrong-wrong-1"}, format="json"), 403)["fields"]
    assert User.objects.filter(pk=owner.pk).exists()
    assert api.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    assert not User.objects.filter(pk=owner.pk).exists()


def test_a_refresh_after_account_deletion_is_a_401(make_user):
    leaving, deleted_elsewhere = make_user("leaving"), make_user("gone")
    [refresh] = _logins("leaving", PASSWORD, n=1)
    assert api_for(leaving).delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    _error(_refresh(refresh), 401)
    # Deleted another way (the admin), with nothing revoked first: still a 401, not a 500.
    [refresh] = _logins("gone", PASSWORD, n=1)
    deleted_elsewhere.delete()
    _error(_refresh(refresh), 401)


def test_a_viewers_briefs_go_with_the_account(make_user):
    from generation.services import generation_data_load
    from profiles.services import onboarding_apply

    generation_data_load()
    leaving, staying = make_user("leaving"), make_user("staying")
    briefs = {leaving: "a jazz tutorial about my grandmother's lullaby", staying: "a jazz tutorial for beginners"}
    for user, brief in briefs.items():
        onboarding_apply(user=user, topics=["jazz"])
        created = api_for(user).post("/api/v1/renders", {"brief": brief}, format="json")
        assert created.status_code == 202, created.content[:300]
        assert SafetyDecision.objects.filter(user=user, text__contains=brief).exists()
        assert RenderJob.objects.filter(user=user, brief=brief).exists()

    assert api_for(leaving).delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    assert not SafetyDecision.objects.filter(text__contains=briefs[leaving]).exists()
    assert not RenderJob.objects.filter(brief=briefs[leaving]).exists()
    assert not RenderJob.objects.filter(script__icontains="grandmother").exists()
    # The other viewer's are theirs to keep.
    assert SafetyDecision.objects.filter(user=staying, text__contains=briefs[staying]).exists()
    assert RenderJob.objects.filter(user=staying, brief=briefs[staying]).exists()


# --- Password changes --------------------------------------------------------------------------

def test_a_web_password_change_revokes_every_refresh_token(client, make_user):
    owner = make_user("owner")
    make_user("other")
    phone, tablet = _logins("owner", PASSWORD)
    [theirs] = _logins("other", PASSWORD, n=1)
    stolen, their_access = api_for(owner), api_for(User.objects.get(username="other"))
    assert stolen.get("/api/v1/me").status_code == 200

    client.force_login(owner)
    changed = client.post("/accounts/password_change/", {"old_password": PASSWORD, "new_password1": "brand-New-pass-42",
                                                         "new_password2": "brand-New-pass-42"})
    assert changed.status_code == 302, changed.content[:300]
    for refresh in (phone, tablet):
        _error(_refresh(refresh), 401)
    assert _refresh(theirs).status_code == 200  # nobody else is logged out
    # An access token from before the change is dead at once, not at the end of its lifetime.
    assert _error(stolen.get("/api/v1/me"), 401)
    assert their_access.get("/api/v1/me").status_code == 200
    # The new password logs in, and its tokens work.
    [fresh] = _logins("owner", "brand-New-pass-42", n=1)
    renewed = _refresh(fresh)
    assert renewed.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {renewed.json()['access']}")
    assert api.get("/api/v1/me").status_code == 200


def test_a_password_reset_revokes_every_refresh_token(client, make_user, mailoutbox):
    make_user("owner", email="owner@example.com")
    [phone] = _logins("owner", PASSWORD, n=1)

    assert client.post("/accounts/password_reset/", {"email": "owner@example.com"}).status_code == 302
    [mail] = mailoutbox
    link = re.search(r"/accounts/reset/[^/\s]+/[^/\s]+/", mail.body).group(0)
    form = client.get(link)  # Django swaps the token for a session and redirects to the form
    assert form.status_code == 302
    done = client.post(form["Location"], {"new_password1": "brand-New-pass-42", "new_password2": "brand-New-pass-42"})
    assert done.status_code == 302 and done["Location"].endswith("/reset/done/"), done.content[:300]
    _error(_refresh(phone), 401)
    assert _logins("owner", "brand-New-pass-42", n=1)


def test_a_password_hash_upgrade_at_login_revokes_nothing(settings, make_user):
    # Django rehashes a password stored with an outdated hasher when it is checked: same password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = make_user("owner")
    [phone] = _logins("owner", PASSWORD, n=1)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    _logins("owner", PASSWORD, n=1)
    owner.refresh_from_db()
    assert owner.password.startswith("pbkdf2_")
    renewed = _refresh(phone)
    assert renewed.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {renewed.json()['access']}")
    assert api.get("/api/v1/me").status_code == 200


# --- Logout ------------------------------------------------------------------------------------

def test_logout_of_a_token_that_no_longer_works_is_a_204_and_of_anothers_a_403(make_user):
    owner = make_user("owner")
    make_user("other")
    [spent] = _logins("owner", PASSWORD, n=1)
    assert _refresh(spent).status_code == 200
    api = api_for(owner)
    # Nothing left to revoke (RFC 7009): spent, forged.
    assert api.post("/api/v1/auth/logout", {"refresh": spent}, format="json").status_code == 204
    assert api.post("/api/v1/auth/logout", {"refresh": "a.b.c"}, format="json").status_code == 204
    assert "refresh" in _error(api.post("/api/v1/auth/logout", {"refresh": "not a token"}, format="json"), 400)["fields"]
    [theirs] = _logins("other", PASSWORD, n=1)
    _error(api.post("/api/v1/auth/logout", {"refresh": theirs}, format="json"), 403)
    assert _refresh(theirs).status_code == 200  # and it still works
