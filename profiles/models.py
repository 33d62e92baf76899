from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # The id a bulk import or a partner system knows this viewer by.
    external_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    onboarded = models.BooleanField(default=False)
    # What a host in a made-for-you piece may call this viewer, only if they allowed it.
    display_name = models.CharField(max_length=40, blank=True)
    greet_by_name = models.BooleanField(default=False)
    # Advanced when the password changes: API tokens of an older generation stop working (profiles/auth.py).
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.external_id or self.user.get_username()


class Interaction(models.Model):
    class Kind(models.TextChoices):
        VIEW = "view"
        LIKE = "like"
        DISLIKE = "dislike"
        SKIP = "skip"
        SHARE = "share"
        HIDE = "hide"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interactions")
    video = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.FloatField(null=True, blank=True, help_text="Watch seconds, or a rating.")
    watch_fraction = models.FloatField(null=True, blank=True)
    client_event_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "client_event_id"], name="interaction_unique_client_event"),
        ]
        indexes = [models.Index(fields=["user", "video"]), models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.video_id}"


class Interest(models.Model):
    """One of a viewer's several tastes: a unit vector with an importance weight (PinnerSage)."""

    class Origin(models.TextChoices):
        ONBOARDING = "onboarding"
        LEARNED = "learned"
        CLUSTERED = "clustered"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interests")
    vector = models.BinaryField()
    weight = models.FloatField(default=1.0)
    count = models.PositiveIntegerField(default=1)
    label = models.CharField(max_length=200, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.LEARNED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)  # the interest index syncs by it

    class Meta:
        ordering = ["-weight", "id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.label or self.pk}"


class EmbeddingCache(models.Model):
    """Text embeddings keyed by a hash of (model, text), so no text is embedded twice."""

    key = models.CharField(max_length=64, primary_key=True)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
