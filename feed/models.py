from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Impression(models.Model):
    """One item shown on one feed page; the log that cursors and offline ranking fits read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="impressions")
    video = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="impressions")
    session = models.CharField(max_length=32, db_index=True)
    page = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    source = models.CharField(max_length=32)
    reason = models.CharField(max_length=200, blank=True)
    score = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "video"], name="impression_once_per_session")]


class CoVisit(models.Model):
    """How often item_b was met within a few positions of item_a in viewers' histories, both
    directions, nearer positions counting more (feed/sequence.py). One sparse row per pair,
    added to as events arrive and trimmed to each item's strongest pairs."""

    pk = models.CompositePrimaryKey("item_a", "item_b")
    # The primary key's first column serves lookups by item_a; no second index for it.
    item_a = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="+", db_index=False)
    item_b = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField()
