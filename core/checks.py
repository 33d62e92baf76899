"""Deploy checks: `manage.py check --deploy` refuses settings that only suit a laptop."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def embedded_backends_check(app_configs, **kwargs):
    errors = []
    if settings.BROKER_KIND == "stub":
        errors.append(Error(
            "Jobs use the in-process broker, which loses queued jobs on restart and cannot be shared between processes.",
            hint="Set DRAMATIQ_BROKER_URL to a redis:// or amqp:// URL.",
            id="tailor.E001",
        ))
    return errors
