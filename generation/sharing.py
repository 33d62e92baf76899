"""Render sharing: one render per taste cluster where it can be, one per viewer where it must be.

Interests are clustered with spherical k-means (FAISS); each cluster's centroid gets one
composed prompt, and every interest is served by the cluster prompt nearest to it. An
interest that no cluster prompt serves well enough gets its own render, within a per-user
quota. "Taste fidelity" is the cosine between an interest and the prompt of the video
assigned to serve it, and the plan reports it against the number of renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.vec import normalize
from profiles.vector_index import spherical_kmeans

PromptEmbedder = Callable[[np.ndarray, int], np.ndarray]  # (taste vectors, seed) -> prompt vectors


@dataclass
class SharingPlan:
    clusters: int
    cluster_prompts: np.ndarray  # (clusters, dim) embedded prompts
    assignment: np.ndarray  # per interest: index of its cluster prompt, or -1 for its own render
    fidelity: np.ndarray  # per interest
    personal: list[int] = field(default_factory=list)  # interest positions given their own render

    @property
    def renders(self) -> int:
        return self.clusters + len(self.personal)


def taste_clusters(vectors: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Spherical k-means centroids (unit vectors) of the interest vectors."""
    return normalize(spherical_kmeans(vectors, k, seed=seed))


def sharing_plan(
    *, interests: np.ndarray, owners: np.ndarray, clusters: int, embed_prompts: PromptEmbedder,
    min_fidelity: float = 0.0, per_user_quota: int = 0, personal_prompts: np.ndarray | None = None, seed: int = 0,
    margin: float = 0.0,
) -> SharingPlan:
    """Plan renders for these interests (rows) owned by these users.

    embed_prompts composes and embeds one prompt per taste vector. Interests whose best
    cluster prompt falls under min_fidelity get their own render (personal_prompts gives
    their embedded prompts when already composed), at most per_user_quota per user, worst first,
    and keep it only where it serves the interest better by more than `margin`.
    """
    centroids = taste_clusters(interests, clusters, seed=seed)
    prompts = embed_prompts(centroids, seed)
    sims = interests @ prompts.T
    assignment = sims.argmax(axis=1)
    fidelity = sims.max(axis=1).astype(np.float32)
    personal: list[int] = []
    if per_user_quota and min_fidelity > 0:
        used: Counter = Counter()
        for pos in np.argsort(fidelity):
            if fidelity[pos] >= min_fidelity:
                break
            if used[int(owners[pos])] >= per_user_quota:
                continue
            used[int(owners[pos])] += 1
            personal.append(int(pos))
        if personal:
            own = personal_prompts[personal] if personal_prompts is not None else embed_prompts(interests[personal], seed + 1)
            own_fidelity = (interests[personal] * own).sum(axis=1)
            better = own_fidelity > fidelity[personal] + margin
            for pos, f, b in zip(personal, own_fidelity, better):
                if b:
                    fidelity[pos] = f
                    assignment[pos] = -1
    return SharingPlan(len(centroids), prompts, assignment, fidelity, personal)
