from django.contrib import admin

from profiles import indexes
from profiles.models import EmbeddingCache, Interaction, Interest, Profile


class RebuildIndexMixin:
    """An action that rebuilds a FAISS index from the database (the source of truth)."""

    index_name = ""

    @admin.action(description="Rebuild the index from the database")
    def rebuild_index(self, request, queryset):
        synced = indexes.ALL[self.index_name]()
        n = synced.rebuild()
        self.message_user(request, f"{self.index_name} index rebuilt: {n} vectors ({synced.index.kind}).")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "external_id", "onboarded", "created_at")
    list_filter = ("onboarded", "created_at")
    search_fields = ("user__username", "external_id")
    actions = ["reset_taste"]

    @admin.action(description="Reset the taste of the selected viewers")
    def reset_taste(self, request, queryset):
        from profiles.services import taste_reset

        removed = sum(taste_reset(user=profile.user) for profile in queryset.select_related("user"))
        self.message_user(request, f"Taste reset for {queryset.count()} viewer(s): {removed} interests removed.")


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "video", "kind", "watch_fraction")
    list_filter = ("kind",)
    search_fields = ("user__username", "video__title")
    raw_id_fields = ("user", "video")


@admin.register(Interest)
class InterestAdmin(RebuildIndexMixin, admin.ModelAdmin):
    index_name = "interests"
    actions = ["rebuild_index"]
    list_display = ("user", "label", "weight", "count", "origin", "updated_at")
    list_filter = ("origin",)
    search_fields = ("user__username", "label")
    raw_id_fields = ("user",)


@admin.register(EmbeddingCache)
class EmbeddingCacheAdmin(admin.ModelAdmin):
    list_display = ("key", "created_at")
    list_filter = ("created_at",)
    search_fields = ("key",)
    readonly_fields = ("key", "vector", "created_at")
