"""The one module that talks to media storage: S3 through django-storages/boto3, or local disk.

Everything else asks this module for URLs, writes and health; nothing else imports boto3.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


_clients = threading.local()


def _s3_client(*, timeout: float = 3.0):
    """A boto3 client per thread and timeout: making one costs tens of milliseconds."""
    key = (settings.AWS_S3_ENDPOINT_URL, settings.AWS_ACCESS_KEY_ID, timeout)
    cache = getattr(_clients, "by_key", None)
    if cache is None:
        cache = _clients.by_key = {}
    if key not in cache:
        cache[key] = _s3_client_new(timeout=timeout)
    return cache[key]


def _s3_client_new(*, timeout: float):
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


def media_upload(key: str, path: Path, *, content_type: str, retry: bool = True) -> str:
    """Upload a file under a deterministic key, replacing what is there.

    On S3, files over MEDIA_MULTIPART_THRESHOLD go up in parts; boto3 aborts a failed
    multipart upload, and any left open by an earlier attempt that died (kill -9, or S3
    down so the abort failed too) is aborted here first when `retry` says there may be one,
    so no orphan parts pile up.
    """
    if not settings.USE_S3:
        target = Path(settings.MEDIA_ROOT) / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)  # a reader never sees half a file
        return key
    from boto3.s3.transfer import TransferConfig

    if retry:
        multipart_abort(key)
    threshold = settings.MEDIA_MULTIPART_THRESHOLD
    client = _s3_client(timeout=30)
    extra = {"ContentType": content_type, "CacheControl": "private, max-age=86400"}
    if path.stat().st_size < threshold:
        # One PutObject: the transfer manager's machinery costs more than a small file's upload.
        # The body goes as bytes: botocore sends a file object with "Expect: 100-continue", one more
        # round trip (and a wake-up of the server) per object before the body is sent.
        client.put_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key, Body=path.read_bytes(), **extra)
        return key
    client.upload_file(
        str(path), settings.AWS_STORAGE_BUCKET_NAME, key,
        ExtraArgs=extra, Config=TransferConfig(multipart_threshold=threshold, multipart_chunksize=threshold, use_threads=False),
    )
    return key


def media_download(key: str, path: Path) -> None:
    """Stream an object to a local file (atomically: written beside it, then renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    path.parent.mkdir(parents=True, exist_ok=True)
    if settings.USE_S3:
        from boto3.s3.transfer import TransferConfig

        _s3_client(timeout=30).download_file(settings.AWS_STORAGE_BUCKET_NAME, key, str(tmp),
                                             Config=TransferConfig(use_threads=False))
    else:
        shutil.copyfile(Path(settings.MEDIA_ROOT) / key, tmp)
    os.replace(tmp, path)


def multipart_open(prefix: str = "") -> list[tuple[str, str]]:
    """(key, upload id) of multipart uploads started and never completed nor aborted."""
    if not settings.USE_S3:
        return []
    client = _s3_client(timeout=10)
    out: list[tuple[str, str]] = []
    kwargs = {"Bucket": settings.AWS_STORAGE_BUCKET_NAME, "Prefix": prefix}
    while True:
        page = client.list_multipart_uploads(**kwargs)
        out += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page.get("IsTruncated"):
            return out
        kwargs.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])


def multipart_abort(prefix: str) -> int:
    client = _s3_client(timeout=10)
    uploads = multipart_open(prefix)
    for key, upload_id in uploads:
        client.abort_multipart_upload(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key, UploadId=upload_id)
    return len(uploads)


def media_keys(prefix: str) -> list[str]:
    """Every stored key under a prefix."""
    if not settings.USE_S3:
        root = Path(settings.MEDIA_ROOT)
        base = root / prefix
        return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()) if base.exists() else []
    client = _s3_client(timeout=30)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def media_delete(keys: list[str]) -> None:
    if not settings.USE_S3:
        for key in keys:
            (Path(settings.MEDIA_ROOT) / key).unlink(missing_ok=True)
        return
    client = _s3_client(timeout=30)
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=settings.AWS_STORAGE_BUCKET_NAME,
                              Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})


def media_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def media_url(key: str) -> str:
    """A URL a browser can fetch: presigned with an expiry on a private bucket, else the public/CDN base."""
    return default_storage.url(key) if key else ""
