"""Shared REST API plumbing: one error body shape, strict fields, capped pagination
(throttles live in core.throttles)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ErrorSerializer(serializers.Serializer):
    """Every error: {"error": {"status", "code", "detail", "fields"}}."""

    class Body(serializers.Serializer):
        status = serializers.IntegerField()
        code = serializers.CharField()
        detail = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    error = Body()


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            else:
                out[str(key)] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    return {}


def error_response(status_code: int, code: str, detail: str, fields: dict | None = None, headers=None) -> Response:
    return Response({"error": {"status": status_code, "code": code, "detail": detail, "fields": fields or {}}},
                    status=status_code, headers=headers)


def exception_handler(exc, context):
    """DRF's handler, then one body shape; Django's ValidationError (from services) is a 400."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = _flatten(detail) if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(exc, exceptions.ValidationError):
        message = "; ".join(f"{k}: {' '.join(v)}" if k not in ("detail", "non_field_errors") else " ".join(v) for k, v in fields.items()) or "invalid input"
        code = "invalid"
    else:
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        code = getattr(getattr(exc, "detail", None), "code", None) or getattr(exc, "default_code", "error")
    response.data = {"error": {"status": response.status_code, "code": str(code), "detail": message, "fields": fields}}
    return response


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would turn 0 or true into "0" and "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: DRF's BooleanField would take "yes", 1 or "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictFloatField(serializers.FloatField):
    """Numbers only: DRF's FloatField would take false as 0.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            self.fail("invalid")
        return super().to_internal_value(data)


class CappedCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "size"
    ordering = ("-created_at", "-id")

    @property
    def max_page_size(self):
        return settings.API_PAGE_MAX

    def get_page_size(self, request):
        return page_size(request, self.page_size)

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"].update(minimum=1)
        return params


class PageQuery(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, required=False, help_text="items per page (capped)")


def page_size(request, default: int) -> int:
    """?size=, capped at API_PAGE_MAX; a bad or repeated value is a 400."""
    values = request.query_params.getlist("size")
    if not values:
        return min(default, settings.API_PAGE_MAX)
    if len(values) > 1:
        raise exceptions.ValidationError({"size": ["give it once"]})
    try:
        size = int(values[0])
    except ValueError:
        raise exceptions.ValidationError({"size": ["must be an integer"]}) from None
    if size < 1:
        raise exceptions.ValidationError({"size": ["must be at least 1"]})
    return min(size, settings.API_PAGE_MAX)

