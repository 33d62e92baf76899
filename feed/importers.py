"""Batch interfaces for operators and offline evaluation: catalogue and interaction imports.

Both read JSON Lines, reject bad lines with the line number and the field, keep the
good ones, report progress, and are idempotent: importing the same file twice changes
nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.dateparse import parse_datetime

from generation.models import Video
from profiles.models import Interaction
from profiles.services import EventIn, interactions_ingest_bulk, users_ensure_external

Progress = Callable[[str], None]
CHUNK = 5000


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"line {line}: {message}")


def _lines(stream: Iterable[str]) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed object or None, error) for each non-blank line."""
    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg})"


def parse_time(value: Any) -> datetime:
    """Epoch seconds (int, float or numeric string) or ISO 8601; naive times are UTC."""
    if isinstance(value, bool):
        raise ValueError("must be epoch seconds or an ISO 8601 time")
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()):
        seconds = float(value)
        if not math.isfinite(seconds) or not 0 <= seconds < 32_503_680_000:
            raise ValueError("must be epoch seconds between 1970 and 3000")
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
        if parsed is None:
            raise ValueError("must be epoch seconds or an ISO 8601 time")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("must be epoch seconds or an ISO 8601 time")


# --- catalogue ------------------------------------------------------------------

CATALOG_FIELDS = {"external_id", "title", "description", "tags", "created_at", "video_url"}


def _catalog_row(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError("must be a JSON object")
    errors = []
    unknown = sorted(set(obj) - CATALOG_FIELDS)
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}")
    ext = obj.get("external_id")
    if isinstance(ext, int) and not isinstance(ext, bool):
        ext = str(ext)
    if not isinstance(ext, str) or not ext.strip() or len(ext) > 200:
        errors.append("external_id: required, a string of 1 to 200 characters")
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 300:
        errors.append("title: required, a string of 1 to 300 characters")
    description = obj.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > 20_000:
        errors.append("description: must be a string of at most 20000 characters")
    tags = obj.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 100 for t in tags) or len(tags) > 100:
        errors.append("tags: must be a list of at most 100 strings of 1 to 100 characters")
    row: dict[str, Any] = {}
    if obj.get("created_at") is not None:
        try:
            row["created_at"] = parse_time(obj["created_at"])
        except ValueError as exc:
            errors.append(f"created_at: {exc}")
    url = obj.get("video_url") or ""
    if url and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or len(url) > 1000):
        errors.append("video_url: must be an http(s) URL of at most 1000 characters")
    if errors:
        raise ValueError("; ".join(errors))
    row.update(external_id=ext.strip(), title=title.strip(), description=description.strip(),
               tags=[t.strip() for t in tags], video_url=url)
    return row


def catalog_import(*, stream: Iterable[str], progress: Progress = lambda _: None) -> ImportReport:
    """Upsert videos by external_id, then embed what changed. Returns a report."""
    from generation.services import videos_embed
    from profiles import indexes

    report = ImportReport()
    chunk: list[dict[str, Any]] = []
    changed_ids: list[int] = []
    seen: dict[str, int] = {}
    for number, obj, error in _lines(stream):
        report.lines += 1
        if error:
            report.error(number, error)
            continue
        try:
            row = _catalog_row(obj)
        except ValueError as exc:
            report.error(number, str(exc))
            continue
        if row["external_id"] in seen:
            # A later line for the same id wins, as a re-import would.
            chunk[:] = [r for r in chunk if r["external_id"] != row["external_id"]]
        seen[row["external_id"]] = number
        chunk.append(row)
        if len(chunk) >= CHUNK:
            _catalog_flush(chunk, report, changed_ids, progress)
    if chunk:
        _catalog_flush(chunk, report, changed_ids, progress)
    if changed_ids:
        videos_embed(video_ids=changed_ids, progress=lambda d, t: progress(f"embedding: {d}/{t} videos"))
        indexes.items().ready(force=True)
    return report


def _catalog_flush(chunk: list[dict[str, Any]], report: ImportReport, changed_ids: list[int], progress: Progress) -> None:
    """Write one chunk of rows: insert the new videos, update the changed ones, count the rest as
    unchanged; add the ids of what was written to `changed_ids`, empty the chunk, report progress."""
    existing = {v.external_id: v for v in Video.objects.filter(external_id__in=[r["external_id"] for r in chunk])}
    new, dirty = [], []
    for row in chunk:
        video = existing.get(row["external_id"])
        if video is None:
            new.append(Video(**row))
            continue
        fields = [k for k, v in row.items() if getattr(video, k) != v]
        if fields:
            for k in fields:
                setattr(video, k, row[k])
            dirty.append(video)
        else:
            report.unchanged += 1
    with transaction.atomic():
        created = Video.objects.bulk_create(new, batch_size=1000)
        if dirty:
            Video.objects.bulk_update(dirty, ["title", "description", "tags", "created_at", "video_url"], batch_size=1000)
    report.created += len(new)
    report.updated += len(dirty)
    if any(v.pk is None for v in created):  # backends that do not return ids on bulk insert
        created = list(Video.objects.filter(external_id__in=[v.external_id for v in new]))
    changed_ids.extend(v.pk for v in created)
    changed_ids.extend(v.pk for v in dirty)
    chunk.clear()
    progress(f"catalogue: {report.lines} lines read, {report.created} new, {report.updated} updated, {len(report.errors)} rejected")


# --- interactions ---------------------------------------------------------------

INTERACTION_FIELDS = {"user", "item", "kind", "value", "timestamp"}
KINDS = {k.value for k in Interaction.Kind}


def _event_id(obj: dict[str, Any]) -> str:
    """A deterministic id for an imported event, so a re-import drops it as a duplicate."""
    key = json.dumps([obj.get("user"), obj.get("item"), obj.get("kind"), obj.get("value"), obj.get("timestamp")])
    return "import:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def interactions_import(*, stream: Iterable[str], progress: Progress = lambda _: None, fit: bool = True) -> ImportReport:
    """Import events; unknown users are created, unknown items rejected by line. With fit, once
    the history holds FEED_FIT_MIN_VIEWERS viewers to learn from, the ranking weights are fitted
    to it (`fit_ranker`), so the first `recommend` after an import already ranks as this data
    says, not by the defaults."""
    report = ImportReport()
    chunk: list[tuple[int, dict[str, Any]]] = []
    for number, obj, error in _lines(stream):
        report.lines += 1
        if error:
            report.error(number, error)
            continue
        if not isinstance(obj, dict):
            report.error(number, "must be a JSON object")
            continue
        problems = _interaction_problems(obj)
        if problems:
            report.error(number, "; ".join(problems))
            continue
        chunk.append((number, obj))
        if len(chunk) >= CHUNK:
            _interactions_flush(chunk, report, progress)
    if chunk:
        _interactions_flush(chunk, report, progress)
    report.errors.sort(key=lambda e: int(e.split(":")[0].split()[1]))
    if report.created:
        # The co-engagement table and the long-term model are derived from interactions: refresh
        # them now rather than leave `recommend` without them until the next scheduled refresh
        # (the sequence table is kept up to date as the events arrive).
        from feed.collaborative import neighbours_refresh
        from feed.ease import ease_refresh

        table = neighbours_refresh()
        progress(f"co-engagement table: {len(table.ids)} videos")
        if not (fit and _ranker_fit_due(progress)):  # a fit refits EASE itself, with the lambda it chose
            table = ease_refresh()
            progress(f"long-term model (EASE): {len(table.ids)} videos")
    return report


def _ranker_fit_due(progress: Progress) -> bool:
    """Fit the ranking weights if the history is large enough, and not too large; True if it did."""
    from django.conf import settings

    from feed.evaluation import fit_viewers, ranker_fit

    events = Interaction.objects.count()
    if events > settings.FEED_FIT_MAX_EVENTS:
        progress(f"ranking weights: not fitted ({events} events, over TAILOR_FEED_FIT_MAX_EVENTS: a fit rebuilds "
                 "what was learned in memory); run fit_ranker on a replica or a sample")
        return False
    viewers = fit_viewers()
    if viewers < settings.FEED_FIT_MIN_VIEWERS:
        progress(f"ranking weights: not fitted ({viewers} viewers with three positives, "
                 f"{settings.FEED_FIT_MIN_VIEWERS} needed); run fit_ranker once there are more")
        return False
    progress(f"ranking weights: fitting on {viewers} viewers' validation split (fit_ranker; --no-fit skips this)")
    try:
        report = ranker_fit(progress=lambda m: progress(f"  {m}"))
    except ValueError as exc:  # no validation target after all: the defaults stay
        progress(f"ranking weights: not fitted ({exc})")
        return False
    validation, test = report["validation"]["tailor"], report["test"]["tailor"]
    progress(f"ranking weights fitted: validation HR@10 {validation['hr_at_10']} NDCG@10 {validation['ndcg_at_10']}, "
             f"test HR@10 {test['hr_at_10']} NDCG@10 {test['ndcg_at_10']}")
    return True


def _interaction_problems(obj: dict[str, Any]) -> list[str]:
    """What is wrong with one line's event, field by field (empty when nothing); its parsed
    timestamp goes to obj["_at"]."""
    problems = []
    unknown = sorted(set(obj) - INTERACTION_FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    for name in ("user", "item"):
        v = obj.get(name)
        if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).strip() or len(str(v)) > 180:
            problems.append(f"{name}: required, a string or integer id")
    if obj.get("kind") not in KINDS:
        problems.append(f"kind: must be one of {', '.join(sorted(KINDS))}")
    value = obj.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0):
        problems.append("value: must be a finite number >= 0")
    try:
        obj["_at"] = parse_time(obj.get("timestamp"))
    except ValueError as exc:
        problems.append(f"timestamp: {exc}")
    return problems


def _interactions_flush(chunk: list[tuple[int, dict[str, Any]]], report: ImportReport, progress: Progress) -> None:
    """Ingest one chunk of valid lines: create the unknown users, reject lines whose item is not in
    the catalogue, derive a view's watch fraction from the video's duration, record the rest
    through interactions_ingest_bulk; empty the chunk and report progress."""
    users = users_ensure_external({str(o["user"]) for _, o in chunk})
    items = dict(
        Video.objects.filter(external_id__in={str(o["item"]) for _, o in chunk}).values_list("external_id", "id")
    )
    durations = dict(Video.objects.filter(pk__in=items.values(), duration_s__gt=0).values_list("id", "duration_s"))
    events = []
    for number, obj in chunk:
        video_id = items.get(str(obj["item"]))
        if video_id is None:
            report.error(number, f"item: no video with external_id {str(obj['item'])!r} (import the catalogue first)")
            continue
        value = obj.get("value")
        fraction = None
        if obj["kind"] == "view" and value is not None and video_id in durations:
            fraction = min(float(value) / durations[video_id], 1.0)
        events.append(EventIn(
            index=number, user=users[str(obj["user"])], video=video_id, kind=obj["kind"],
            value=value, watch_fraction=fraction, client_event_id=_event_id(obj), at=obj["_at"],
        ))
    result = interactions_ingest_bulk(events=events)
    report.created += result.created
    report.duplicates += result.duplicates
    for err in result.errors:
        report.error(err["index"], "; ".join(f"{k}: {v}" for k, v in err["errors"].items()))
    chunk.clear()
    progress(f"interactions: {report.lines} lines read, {report.created} new, "
             f"{report.duplicates} duplicates, {len(report.errors)} rejected")
