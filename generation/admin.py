from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from generation.models import ArmStat, BanditCursor, Concept, GpuWorker, PromptTemplate, RenderJob, SafetyDecision, Video
from generation.writing.script import script_as_text
from profiles.admin import RebuildIndexMixin


class ScriptMixin:
    """The script a piece was rendered from, shown as a person reads it (read-only: an edit would
    skip the safety check; a new script is a new render)."""

    @admin.display(description="script")
    def script_text(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", script_as_text(obj.script)) if obj.script else "-"


def safe_text_form(model_class, fields: tuple[str, ...]):
    """A ModelForm for the admin whose changed text fields pass the content rules first: an
    operator's edit goes through the same check as a viewer's brief."""

    class SafeTextForm(forms.ModelForm):
        class Meta:
            model = model_class
            exclude = ()

        def clean(self):
            from generation.safety import safety_check

            data = super().clean()
            for name in fields:
                if name in self.changed_data and data.get(name):
                    decision = safety_check(text=str(data[name]), kind="admin", user=None)
                    if not decision.allowed:
                        self.add_error(name, f"refused by the content rules: {decision.reason}")
            return data

    return SafeTextForm


@admin.register(Video)
class VideoAdmin(ScriptMixin, RebuildIndexMixin, admin.ModelAdmin):
    form = safe_text_form(Video, ("title", "description", "prompt"))
    index_name = "items"
    actions = ["rebuild_index"]
    list_display = ("id", "title", "source", "made_for", "created_at", "views", "likes", "negatives", "embedded_at")
    list_filter = ("source", "created_at")
    search_fields = ("title", "description", "external_id", "prompt")
    readonly_fields = ("views", "likes", "negatives", "video_key", "thumbnail_key", "captions_key", "duration_s", "fps", "width",
                       "height", "script_text", "arms_and_reward", "watched_next_to")
    exclude = ("script",)
    raw_id_fields = ("made_for",)
    filter_horizontal = ("audience",)

    @admin.display(description="Arms and reward")
    def arms_and_reward(self, obj):
        return arms_and_reward(getattr(obj, "render_job", None))

    @admin.display(description="Watched next to")
    def watched_next_to(self, obj):
        """The strongest pairs of the sequence table (feed.CoVisit, which Django 5.2's admin cannot
        list because of its composite primary key)."""
        from feed.models import CoVisit

        pairs = CoVisit.objects.filter(item_a=obj.pk).select_related("item_b").order_by("-weight")[:8] if obj.pk else []
        return "; ".join(f"#{p.item_b_id} {p.item_b.title} ({p.weight:.2f})" for p in pairs) or "-"


def arms_and_reward(job) -> str:
    """What the planner chose a piece from and what its audience gave it (generation/bandit.py)."""
    from generation.models import ArmStat

    if job is None or not job.arms:
        return "-"
    arms = ", ".join(f"{k}={v}" for k, v in job.arms.items())
    stat = ArmStat.objects.filter(context="global", dimension="piece", value=str(job.video_id)).first() if job.video_id else None
    reward = f"mean reward {stat.reward / stat.impressions:.3f} over {stat.impressions} impressions" if stat and stat.impressions else "no settled impressions yet"
    return f"{arms} | context {job.arm_context or '-'} | policy {job.policy or '-'} | {reward}"


@admin.register(GpuWorker)
class GpuWorkerAdmin(admin.ModelAdmin):
    """Heartbeats of the GPU workers (written by the workers themselves: read only)."""

    list_display = ("name", "warm", "loaded", "busy", "jobs_done", "started_at", "seen_at")
    list_filter = ("busy", "seen_at")
    search_fields = ("name", "host")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RenderJob)
class RenderJobAdmin(ScriptMixin, admin.ModelAdmin):
    form = safe_text_form(RenderJob, ("prompt", "sound", "title", "brief"))
    list_display = ("id", "title", "state", "progress", "purpose", "policy", "model", "user", "attempts", "gpu_seconds", "created_at")
    list_filter = ("state", "purpose", "policy", "model", "queue", "created_at")
    search_fields = ("title", "prompt", "brief", "key", "user__username", "worker")
    readonly_fields = ("key", "state", "progress", "attempts", "worker", "queue", "error", "gpu_seconds", "video", "created_at",
                       "updated_at", "started_at", "heartbeat_at", "finished_at", "script_text", "arms_and_reward")
    exclude = ("script", "arms", "arm_context", "policy")
    raw_id_fields = ("user",)
    filter_horizontal = ("audience",)
    actions = ["cancel", "rerender"]

    @admin.display(description="Arms and reward")
    def arms_and_reward(self, obj):
        return arms_and_reward(obj)

    @admin.action(description="Cancel the selected render jobs")
    def cancel(self, request, queryset):
        from generation.rendering import render_job_cancel

        done = sum(render_job_cancel(job=job) for job in queryset)
        self.message_user(request, f"{done} job(s) cancelled.")

    @admin.action(description="Render the selected jobs again")
    def rerender(self, request, queryset):
        from generation.rendering import render_job_retry

        from generation.rendering import RenderBlocked

        jobs, refused = [], []
        for job in queryset:
            try:
                jobs.append(render_job_retry(job=job))
            except RenderBlocked:
                refused.append(str(job.pk))
        self.message_user(request, f"{len(jobs)} job(s) queued again: {', '.join(str(j.pk) for j in jobs)}.")
        if refused:
            self.message_user(request, f"Refused by the content rules, not queued: {', '.join(refused)}.", messages.ERROR)


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    form = safe_text_form(Concept, ("name",))
    list_display = ("name", "category", "active")
    list_filter = ("category", "active")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        # Embed an edited phrase now, with the item embedder, so the composer uses it at once.
        from core.vec import to_bytes
        from profiles.embedding import embed_texts, text_hash

        if obj.text_hash != text_hash(obj.text):
            obj.embedding = to_bytes(embed_texts([obj.text])[0])
            obj.text_hash = text_hash(obj.text)
        super().save_model(request, obj, form, change)


class PreviewForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Compose for this viewer's strongest interest.")
    brief = forms.CharField(max_length=200, required=False)
    seed = forms.IntegerField(initial=0, min_value=0)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    form = safe_text_form(PromptTemplate, ("body", "sound"))
    list_display = ("family", "active", "updated_at", "preview_link")
    list_filter = ("active",)
    search_fields = ("body", "sound")

    @admin.display(description="Preview")
    def preview_link(self, obj):
        return format_html('<a href="{}">Compose for a user…</a>', reverse("admin:generation_prompttemplate_preview", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="generation_prompttemplate_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        """Compose with this template for user X: what their renders would say, before anything is queued."""
        from core.vec import from_bytes
        from generation.composer import compose
        from profiles.models import Interest

        template = get_object_or_404(PromptTemplate, pk=pk)
        form = PreviewForm(request.GET or None)
        composed = None
        if form.is_valid():
            user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
            interest = Interest.objects.filter(user=user).order_by("-weight").first() if user else None
            if interest is None:
                form.add_error("username", "no such viewer, or they have no interests yet")
            else:
                try:
                    composed = compose(taste=from_bytes(interest.vector), seed=form.cleaned_data["seed"],
                                       brief=form.cleaned_data["brief"], family=template.family)
                except ValidationError as exc:
                    messages.error(request, "; ".join(exc.messages))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "template_obj": template,
                   "form": form, "composed": composed, "title": f"Preview: {template}"}
        return TemplateResponse(request, "admin/generation/prompttemplate/preview.html", context)


@admin.register(SafetyDecision)
class SafetyDecisionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "allowed", "category", "reason", "user")
    list_filter = ("allowed", "category", "kind", "created_at")
    search_fields = ("text", "reason")


@admin.register(ArmStat)
class ArmStatAdmin(admin.ModelAdmin):
    """The bandit's statistics per context and arm (folded from the impression log: read only)."""

    list_display = ("context", "dimension", "value", "impressions", "reward", "mean")
    list_filter = ("dimension",)
    search_fields = ("context", "value")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BanditCursor)
class BanditCursorAdmin(admin.ModelAdmin):
    """How far the bandit has folded the impression log (written by its refresh: read only)."""

    list_display = ("name", "position")
    search_fields = ("name",)
    list_filter = ("name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
