from django.contrib import admin

from generation.models import Concept, PromptTemplate, SafetyDecision, Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "source", "created_at", "views", "likes", "negatives", "embedded_at")
    list_filter = ("source",)
    search_fields = ("title", "description", "external_id")
    readonly_fields = ("views", "likes", "negatives")


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "active")
    list_filter = ("category", "active")
    search_fields = ("name",)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("family", "active", "updated_at")


@admin.register(SafetyDecision)
class SafetyDecisionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "allowed", "category", "reason", "user")
    list_filter = ("allowed", "category", "kind")
    search_fields = ("text",)
