from __future__ import annotations

import secrets

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
    captions_key = models.CharField(max_length=500, blank=True)  # WebVTT beside the MP4: same stem, .vtt
    # What a generated piece was rendered from (generation/writing/script.py, versioned); {} for the rest.
    script = models.JSONField(default=dict, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    # Private renders are made for one viewer and shown to nobody else.
    made_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="renders"
    )
    # Public renders made for a taste cluster: shown to everyone, "made for you" to these viewers.
    audience = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_renders")

    # The text embedding is kept here: the database is the source of truth for every index.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    text_hash = models.CharField(max_length=64, blank=True, editable=False)
    embedded_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    # Engagement counters, kept by interaction_record with F() updates.
    views = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    negatives = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["source", "-created_at"]),
            # Newest public videos (made_for IS NULL) straight from the index, without a sort.
            models.Index(fields=["made_for", "-created_at"], name="video_made_for_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def text(self) -> str:
        """What the embedder reads: title, description, tags and prompt."""
        parts = [self.title, self.description, ", ".join(self.tags or []), self.prompt]
        return "\n".join(p for p in parts if p)


class Concept(models.Model):
    """A phrase of the prompt vocabulary (subject, setting, style, ...), embedded like the videos."""

    class Category(models.TextChoices):
        SUBJECT = "subject"
        SETTING = "setting"
        STYLE = "style"
        MOOD = "mood"
        GENRE = "genre"
        CAMERA = "camera"
        MUSIC = "music"
        SOUND = "sound"

    category = models.CharField(max_length=16, choices=Category.choices)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    text_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="concept_unique_name")]
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return f"{self.category}: {self.name}"

    @property
    def text(self) -> str:
        """What the embedder reads: the phrase, with its category where the phrase alone is ambiguous."""
        return self.name if self.category in ("subject", "setting", "genre") else f"{self.name} {self.category}"


class PromptTemplate(models.Model):
    """A family of text-to-video prompts as Django template text, editable in the admin."""

    class Family(models.TextChoices):
        SHORT_FILM = "short_film", "Short film"
        MUSICAL = "musical", "Musical"
        DOCUMENTARY = "documentary", "Documentary"
        TUTORIAL = "tutorial", "Tutorial"
        HOST = "host", "Host speaking to the viewer"
        AMBIENT = "ambient", "Ambient / music video"

    family = models.CharField(max_length=16, choices=Family.choices, unique=True)
    body = models.TextField(help_text="The video prompt. Variables: subject, subject2, setting, style, mood, genre, camera, music, sound, brief.")
    sound = models.TextField(help_text="The soundtrack description: dialogue, music, ambience.")
    negative = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_family_display()


class SafetyDecision(models.Model):
    """Every safety check of a prompt or brief, allowed or not, for the operator dashboard."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A viewer's checks hold their briefs word for word: they go with the account, however it is deleted.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16)  # "brief" or "prompt"
    text = models.TextField()
    allowed = models.BooleanField()
    category = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=300, blank=True)


def media_token_new() -> str:
    """128 random bits: a render's object names, which nothing about its prompt predicts."""
    return secrets.token_hex(16)


class RenderJob(models.Model):
    """One text-to-video render, from a composed prompt to a ready Video. The broker only carries
    its id: this row is the job's state, and claims on it are conditional updates."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RENDERING = "rendering"
        ENCODING = "encoding"
        UPLOADING = "uploading"
        READY = "ready"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Purpose(models.TextChoices):
        REQUEST = "request", "Asked for by a viewer"
        GAP = "gap", "Fills a content gap"
        CLUSTER = "cluster", "Shared by a taste cluster"

    ACTIVE = (State.RENDERING, State.ENCODING, State.UPLOADING)
    TERMINAL = (State.READY, State.FAILED, State.CANCELLED)

    # sha256 of prompt, sound, negative prompt, model, seed and parameters: the same render twice is one job.
    key = models.CharField(max_length=64, unique=True, editable=False)
    # Random, set once when the job is created and kept on the row: every attempt writes the same objects.
    media_token = models.CharField(max_length=64, unique=True, default=media_token_new, editable=False)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.REQUEST)
    # A private render for one viewer (deleted with them); None for shared renders.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="render_jobs"
    )
    audience = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="audience_render_jobs")

    prompt = models.TextField()
    sound = models.TextField(blank=True)
    negative = models.TextField(blank=True)
    brief = models.CharField(max_length=200, blank=True)
    family = models.CharField(max_length=16, blank=True)
    title = models.CharField(max_length=300, blank=True)
    fit = models.FloatField(null=True, blank=True)
    model = models.CharField(max_length=100)
    seed = models.BigIntegerField()
    params = models.JSONField(default=dict)  # frames, width, height, steps, fps, guidance
    # The script every stage renders from (generation/writing/script.py): shots, cast, lines, music.
    script = models.JSONField(default=dict, blank=True)

    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent of the current attempt
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    gpu_seconds = models.FloatField(default=0.0)
    # What the planner chose (generation/bandit.py): the arms read from the script, the taste
    # cluster it was made for, and the policy that chose ("holdout": the old way, for the A/B).
    arms = models.JSONField(default=dict, blank=True)
    arm_context = models.CharField(max_length=64, blank=True)
    policy = models.CharField(max_length=16, blank=True, db_index=True)
    queue = models.CharField(max_length=120, blank=True)  # where its last message went: gpu, or gpu.<model>
    video = models.OneToOneField(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="render_job")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "model", "created_at"])]

    def __str__(self) -> str:
        return f"render {self.pk} {self.state} {self.title or self.prompt[:40]}"

    @property
    def object_stem(self) -> str:
        """Storage keys per job, stable across its retries (a retry rewrites the same objects) and
        random: the key is a digest of the prompt and seed, which is no secret."""
        return f"renders/{self.media_token[:2]}/{self.media_token}"


class GpuWorker(models.Model):
    """A GPU worker's heartbeat: the models it keeps warm and serves from their own queues.
    Written by the worker (generation/fleet.py), read to route renders; a row not seen for three
    heartbeats is a worker gone."""

    name = models.CharField(max_length=200, unique=True)  # host:pid
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    warm = models.JSONField(default=list)  # advertised models: loaded at boot, their queues consumed
    loaded = models.JSONField(default=list)  # every pipeline it holds right now
    queues = models.JSONField(default=list)
    busy = models.BooleanField(default=False)
    jobs_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.name} [{', '.join(self.warm) or 'any model'}]"


class ArmStat(models.Model):
    """Impressions and summed reward of one arm (a dimension's value, or a piece) in one context
    (global, a taste cluster, a viewer): the bandit's sufficient statistics, folded from the
    impression log by generation/bandit.py."""

    context = models.CharField(max_length=64)
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=100)
    impressions = models.PositiveIntegerField(default=0)
    reward = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "dimension", "value"], name="armstat_unique")]

    def __str__(self) -> str:
        return f"{self.context} {self.dimension}={self.value}"

    @property
    def mean(self) -> float:
        return (self.reward + 1.0) / (self.impressions + 2.0)


class BanditCursor(models.Model):
    """How far the bandit has folded the impression log (the last impression id)."""

    name = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)
