from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Video(models.Model):
    """A video in the catalogue: imported, uploaded by a creator, or rendered for viewers."""

    class Source(models.TextChoices):
        CATALOG = "catalog", "Catalogue"
        GENERATED = "generated", "Generated"

    external_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    prompt = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CATALOG)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Media: an external URL from an import, or storage keys for files we host.
    video_url = models.URLField(max_length=1000, blank=True)
    video_key = models.CharField(max_length=500, blank=True)
    thumbnail_key = models.CharField(max_length=500, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    # Private renders are made for one viewer and shown to nobody else.
    made_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="renders"
    )

    # The text embedding is kept here: the database is the source of truth for every index.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    text_hash = models.CharField(max_length=64, blank=True, editable=False)
    embedded_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    # Engagement counters, kept by interaction_record with F() updates.
    views = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    negatives = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["source", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def text(self) -> str:
        """What the embedder reads: title, description, tags and prompt."""
        parts = [self.title, self.description, ", ".join(self.tags or []), self.prompt]
        return "\n".join(p for p in parts if p)
