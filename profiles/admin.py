from django.contrib import admin

from profiles.models import Interaction, Interest, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "external_id", "onboarded", "created_at")
    search_fields = ("user__username", "external_id")


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "video", "kind", "watch_fraction")
    list_filter = ("kind",)
    search_fields = ("user__username", "video__title")
    raw_id_fields = ("user", "video")


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    list_display = ("user", "label", "weight", "count", "origin", "updated_at")
    list_filter = ("origin",)
    search_fields = ("user__username", "label")
    raw_id_fields = ("user",)
