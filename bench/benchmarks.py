"""The benchmarks. Each returns a dict whose keys name what they measure, units in the name."""

from __future__ import annotations

import os
import resource
import time

import numpy as np


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1000
    return {f"p{p}_ms": round(float(np.percentile(ms, p)), 2) for p in (50, 95, 99)}


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def embedding() -> dict:
    """Text embedding throughput with the default embedder (torch fp32 on CPU)."""
    from profiles import embedding as emb
    from feed.demo import demo_catalog

    texts = [f"{row['title']}. {row['description']} {' '.join(row['tags'])}" for row in demo_catalog()]
    texts = (texts * 4)[:1024]
    emb._encode(texts[:64])  # load and warm up
    started = time.perf_counter()
    emb._encode(texts)
    elapsed = time.perf_counter() - started
    return {"backend": "torch-fp32", "items": len(texts), "items_per_s": round(len(texts) / elapsed, 1)}


def feed() -> dict:
    """Feed page latency (service level) over a synthetic catalogue with random unit vectors."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from core.vec import normalize, to_bytes
    from feed.services import feed_page_serve
    from generation.models import Video
    from profiles import indexes
    from profiles.models import Interest

    n_items = int(os.environ.get("BENCH_FEED_ITEMS", "20000"))
    rng = np.random.default_rng(0)
    dim = 384
    vectors = normalize(rng.standard_normal((n_items, dim)).astype(np.float32))
    now = timezone.now()
    Video.objects.bulk_create(
        [
            Video(title=f"item {i}", external_id=f"bench-{i}", embedding=to_bytes(v), text_hash="x", embedded_at=now, views=i % 97)
            for i, v in enumerate(vectors)
        ],
        batch_size=2000,
    )
    user = get_user_model().objects.create_user("bench-user")
    for k in range(3):
        Interest.objects.create(user=user, vector=to_bytes(vectors[k * 7]), weight=1.0 + k, label=f"interest {k}")
    indexes.items().ready(force=True)
    feed_page_serve(user=user, size=8)  # warm
    samples = []
    cursor = None
    for _ in range(100):
        started = time.perf_counter()
        page = feed_page_serve(user=user, cursor=cursor, size=8)
        samples.append(time.perf_counter() - started)
        cursor = page.next_cursor
    return {"items": n_items, "dim": dim, "page_size": 8, "requests": len(samples), **_percentiles(samples), "rss_mb": _rss_mb()}


ALL = {"embedding": embedding, "feed": feed}
