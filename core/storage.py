"""The one module that talks to media storage: S3 through django-storages/boto3, or local disk.

Everything else asks this module for URLs, writes and health; nothing else imports boto3.

Two areas: "media" (rendered videos and thumbnails, handed to viewers through URLs) and
"private" (index snapshots: every video's vector, never handed to anyone). On S3 both are in
the one private bucket, "private" under its own prefixes, which no URL from here points at; on
local disk "private" is INDEX_SNAPSHOT_DIR, outside MEDIA_ROOT, so nothing that serves media
(our view, or a front proxy given MEDIA_ROOT) can reach it.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.crypto import constant_time_compare, salted_hmac


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


def _local_root(area: str) -> Path:
    if area == "media":
        return Path(settings.MEDIA_ROOT)
    if area == "private":
        return Path(settings.INDEX_SNAPSHOT_DIR)
    raise ValueError(f"unknown storage area {area!r}")


def _local_path(key: str, area: str) -> Path:
    """A key's file under its area's root; a key that would leave the root (.., absolute) is refused."""
    root = _local_root(area).resolve()
    target = (root / key).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"storage key {key!r} leaves its area")
    return target


def media_save(key: str, data: bytes, *, area: str = "media") -> str:
    """Write bytes under a deterministic key, replacing what is there; returns the key."""
    if area != "media" and not settings.USE_S3:
        target = _local_path(key, area)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return key
    if default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, ContentFile(data))


def media_upload(key: str, path: Path, *, content_type: str, retry: bool = True, area: str = "media") -> str:
    """Upload a file under a deterministic key, replacing what is there.

    On S3, files over MEDIA_MULTIPART_THRESHOLD go up in parts; boto3 aborts a failed
    multipart upload, and any left open by an earlier attempt that died (kill -9, or S3
    down so the abort failed too) is aborted here first when `retry` says there may be one,
    so no orphan parts pile up.
    """
    if not settings.USE_S3:
        target = _local_path(key, area)
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


def media_download(key: str, path: Path, *, area: str = "media") -> None:
    """Stream an object to a local file (atomically: written beside it, then renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    path.parent.mkdir(parents=True, exist_ok=True)
    if settings.USE_S3:
        from boto3.s3.transfer import TransferConfig

        _s3_client(timeout=30).download_file(settings.AWS_STORAGE_BUCKET_NAME, key, str(tmp),
                                             Config=TransferConfig(use_threads=False))
    else:
        shutil.copyfile(_local_path(key, area), tmp)
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


def media_keys(prefix: str, *, area: str = "media") -> list[str]:
    """Every stored key under a prefix."""
    if not settings.USE_S3:
        root = _local_root(area)
        base = root / prefix
        return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()) if base.exists() else []
    client = _s3_client(timeout=30)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def media_delete(keys: list[str], *, area: str = "media") -> None:
    if not settings.USE_S3:
        for key in keys:
            _local_path(key, area).unlink(missing_ok=True)
        return
    client = _s3_client(timeout=30)
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=settings.AWS_STORAGE_BUCKET_NAME,
                              Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})


def media_read(key: str, *, area: str = "media") -> bytes:
    if area != "media" and not settings.USE_S3:
        return _local_path(key, area).read_bytes()
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def media_url(key: str, *, private: bool = False) -> str:
    """A URL a browser can fetch.

    S3: a private object (a viewer's own render) always gets a presigned, expiring URL, even
    when a public custom domain is set; a public one gets the custom domain if there is one,
    else a presigned URL (the bucket is private). Local disk: the authorising media view's URL,
    signed and expiring for a private object, so the link works for whoever it was handed to
    (a web page, or the mobile app, which sends no session cookie) and for nobody else later."""
    if not key:
        return ""
    if settings.USE_S3:
        if private:
            return _s3_client().generate_presigned_url(
                "get_object", Params={"Bucket": settings.AWS_STORAGE_BUCKET_NAME, "Key": key},
                ExpiresIn=settings.AWS_QUERYSTRING_EXPIRE,
            )
        return default_storage.url(key)
    url = settings.MEDIA_URL + quote(key)
    if not private:
        return url
    # Expiry rounded up to a tenth of the lifetime: a page reloaded within minutes gets the same
    # URL, so the browser's cache still works.
    step = max(60, settings.AWS_QUERYSTRING_EXPIRE // 10)
    expires = math.ceil((time.time() + settings.AWS_QUERYSTRING_EXPIRE) / step) * step
    return f"{url}?{urlencode({'e': expires, 's': _local_signature(key, expires)})}"


def _local_signature(key: str, expires: int) -> str:
    return salted_hmac("tailor.media-url", f"{key}\n{expires}", algorithm="sha256").hexdigest()


def media_url_signature_ok(key: str, expires: str | None, signature: str | None) -> bool:
    """A local signed URL from media_url: this key, not expired, signed with our SECRET_KEY."""
    if not (expires and signature and expires.isdigit()) or int(expires) < time.time():
        return False
    return constant_time_compare(signature, _local_signature(key, int(expires)))


def media_local_path(key: str) -> Path:
    """Where a media key's file is on local disk (raises ValueError for a key outside MEDIA_ROOT)."""
    return _local_path(key, "media")
