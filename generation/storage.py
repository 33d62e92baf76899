"""The one module that talks to media storage: S3 through django-storages/boto3, or local disk.

Everything else asks this module for URLs, writes and health; nothing else imports boto3.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def _s3_client(*, timeout: float = 3.0):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        region_name=settings.AWS_S3_REGION_NAME,
        config=Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
        ),
    )


def backend_name() -> str:
    return f"s3 ({settings.AWS_S3_ENDPOINT_URL or 'aws'}/{settings.AWS_STORAGE_BUCKET_NAME})" if settings.USE_S3 else "local disk"


def bucket_ensure() -> None:
    """Create the media bucket if it does not exist (private: no ACL, no policy)."""
    if not settings.USE_S3:
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
        return
    from botocore.exceptions import ClientError

    client = _s3_client(timeout=10)
    try:
        client.head_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        client.create_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)


def storage_ping() -> None:
    """Raise if media storage is not usable right now (bucket reachable, or media dir writable)."""
    if settings.USE_S3:
        _s3_client().head_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
        return
    root = settings.MEDIA_ROOT
    root.mkdir(parents=True, exist_ok=True)
    probe = root / ".healthz"
    probe.write_bytes(b"ok")
    probe.unlink()


def media_save(key: str, data: bytes) -> str:
    """Write bytes under a deterministic key, replacing what is there; returns the key."""
    if default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, ContentFile(data))


def media_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def media_url(key: str) -> str:
    """A URL a browser can fetch: presigned with an expiry on a private bucket, else the public/CDN base."""
    return default_storage.url(key) if key else ""
