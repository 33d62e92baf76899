from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: the dashboard, health, metrics and the commands that run the platform. The top
    layer: it reads every app; nothing imports it."""

    name = "ops"
