"""Account events that Django's own views cause, handled in one place.

Passwords change in views this project does not own (the web password change and reset, the
admin, manage.py changepassword), and every one of them ends in set_password() and save(): a
receiver on the user's save is the one hook they share."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from profiles import services


@receiver(post_save, sender=get_user_model(), dispatch_uid="profiles.password_changed")
def password_changed(sender, instance, created, raw=False, **kwargs):
    """A new password revokes every refresh token from before it: whoever held one (a stolen
    phone, a leaked token) has to log in with the new password.

    AbstractBaseUser keeps the raw password in `_password` from set_password() until its save()
    has told the password validators, which is Django's own test for "the password changed"; a
    hash upgrade at login clears it first, so rehashing the same password revokes nothing."""
    if created or raw or getattr(instance, "_password", None) is None:
        return
    services.refresh_tokens_revoke(user=instance)
