from django.contrib import admin

from feed.models import Impression


@admin.register(Impression)
class ImpressionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "video", "page", "position", "source", "reason", "score")
    list_filter = ("source", "created_at")
    search_fields = ("user__username", "video__title", "session")
    raw_id_fields = ("user", "video")
