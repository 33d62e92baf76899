"""The safety check against its labelled set (generation.data.safety_labelled).

`safety()` reports precision, recall and false-positive rate on the held-out part and on the
whole, recall per category, and checks per second. `fit_semantic()` is how the semantic
check's constants (generation.safety.SEMANTIC_THRESHOLD / SEMANTIC_MARGIN) were chosen: a grid
search on the fit part only, scoring each point by its worst error count over the points
around it (±ROBUST in both), so the constants sit inside a flat region rather than on the edge
of one: another CPU's int8 vectors move every cosine by about 0.01.

`own_output()` counts how many of Tailor's own composed prompts and written scripts the check
blocks: all are benign by construction, so every block there is a false positive.

Run with `python -m bench safety` (bench/benchmarks.py registers it); `fit_semantic()` from a
shell set up the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

ROBUST = 0.02


@dataclass
class Scored:
    text: str
    category: str  # "" when benign
    lexical: bool  # blocked by the blocklist
    per_category: np.ndarray  # (sentences, categories)
    benign: np.ndarray  # (sentences,)


def score_items(items: list[tuple[str, str]], *, embed=None) -> tuple[list[str], list[Scored]]:
    """The blocklist's verdict and the semantic features of each labelled item."""
    from generation import safety
    from profiles.embedding import embed_texts

    embed = embed or (lambda texts: embed_texts(texts, cache=False))
    chunks = [safety.sentences(text) for text, _ in items]
    # One item at a time, as a check embeds it: ONNX Runtime's dynamic int8 quantisation scales
    # activations per batch, so a text's vector depends a little on what it is batched with.
    vectors = np.vstack([np.asarray(embed(cs), dtype=np.float32) for cs in chunks if cs])
    categories, per_category, benign = safety.semantic_scores(vectors)
    out, at = [], 0
    for (text, category), cs in zip(items, chunks):
        lexical = not safety.blocklist_check(text).allowed
        out.append(Scored(text, category, lexical, per_category[at : at + len(cs)], benign[at : at + len(cs)]))
        at += len(cs)
    return categories, out


def predict(categories: list[str], scored: list[Scored], threshold: float, margin: float) -> np.ndarray:
    from generation.safety import semantic_decide

    return np.array([
        s.lexical or (len(s.benign) > 0 and not semantic_decide(categories, s.per_category, s.benign, threshold, margin).allowed)
        for s in scored
    ])


def metrics(scored: list[Scored], blocked: np.ndarray) -> dict:
    unsafe = np.array([bool(s.category) for s in scored])
    tp, fp = int((blocked & unsafe).sum()), int((blocked & ~unsafe).sum())
    fn, tn = int((~blocked & unsafe).sum()), int((~blocked & ~unsafe).sum())
    return {
        "unsafe": int(unsafe.sum()), "benign": int((~unsafe).sum()),
        "precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4),
        "fpr": round(fp / max(fp + tn, 1), 4),
        "missed": [s.text for s, b in zip(scored, blocked) if s.category and not b],
        "false_positives": [s.text for s, b in zip(scored, blocked) if not s.category and b],
    }


def fit_semantic() -> dict:
    """Grid-search (threshold, margin) on the fit part; returns the chosen pair and its errors."""
    from generation.data.safety_labelled import fit_part

    categories, scored = score_items(fit_part())
    unsafe = np.array([bool(s.category) for s in scored])
    lexical = np.array([s.lexical for s in scored])
    thresholds = np.round(np.arange(0.30, 0.80, 0.01), 2)
    margins = np.round(np.arange(-0.10, 0.30, 0.01), 2)
    errors = np.zeros((len(thresholds), len(margins)))
    for i, t in enumerate(thresholds):
        for j, m in enumerate(margins):
            blocked = predict(categories, scored, t, m)
            semantic_only = predict(categories, [_unlexical(s) for s in scored], t, m)
            # The combined decision's errors, plus a little weight on the semantic check alone
            # missing what the blocklist caught: an unsafe region that stands on its own.
            errors[i, j] = int((blocked != unsafe).sum()) + 0.1 * int((lexical & ~semantic_only).sum())
    steps = int(round(ROBUST / 0.01))
    worst = np.full_like(errors, np.inf)
    for i in range(steps, len(thresholds) - steps):
        for j in range(steps, len(margins) - steps):
            worst[i, j] = errors[i - steps : i + steps + 1, j - steps : j + steps + 1].max()
    best = np.argwhere(worst == worst.min())
    i, j = best[len(best) // 2]  # the middle of the best plateau
    t, m = float(thresholds[i]), float(margins[j])
    return {"threshold": t, "margin": m, "fit_errors": float(errors[i, j]), "worst_nearby": float(worst[i, j]),
            **metrics(scored, predict(categories, scored, t, m))}


def _unlexical(s: Scored) -> Scored:
    return Scored(s.text, s.category, False, s.per_category, s.benign)


def evaluate(*, embed=None) -> dict:
    """The shipped constants on the held-out part and on the whole labelled set."""
    from generation.data.safety_labelled import BENIGN, UNSAFE, labelled
    from generation.safety import SEMANTIC_MARGIN, SEMANTIC_THRESHOLD

    items = labelled()
    categories, scored = score_items(items, embed=embed)
    blocked = predict(categories, scored, SEMANTIC_THRESHOLD, SEMANTIC_MARGIN)
    mask = np.array([i % 3 == 2 for i in range(len(UNSAFE))] + [i % 3 == 2 for i in range(len(BENIGN))])
    per_category = {}
    for category in sorted({c for _, c in items if c}):
        rows = np.array([c == category for _, c in items])
        per_category[category] = round(float(blocked[rows].mean()), 4)
    return {
        "held_out": metrics([s for s, h in zip(scored, mask) if h], blocked[mask]),
        "all": metrics(scored, blocked),
        "recall_per_category": per_category,
    }


def own_output(n_tastes: int = 40) -> dict:
    """Block counts on composed prompts (templates x concepts) and built-in scripts."""
    from generation.composer import compose
    from generation.data.concepts import CONCEPTS
    from generation.safety import classify
    from generation.services import generation_data_load
    from generation.writing.script import script_texts
    from generation.writing.writer import script_write_scored
    from profiles.embedding import embed_texts

    generation_data_load()
    tastes = embed_texts(CONCEPTS["subject"][:: max(1, len(CONCEPTS["subject"]) // n_tastes)][:n_tastes])
    prompts = [compose(taste=t, seed=seed) for t in tastes for seed in range(3)]
    blocked_prompts = [p.prompt for p in prompts if not classify([f"{p.prompt}\n{p.sound}"]).allowed]
    scripts = [script_write_scored(taste=t, seed=i, candidates=2).script for i, t in enumerate(tastes)]
    blocked_scripts = [s["title"] for s in scripts if not classify(script_texts(s)).allowed]
    return {"composed_prompts": len(prompts), "composed_blocked": blocked_prompts,
            "scripts": len(scripts), "scripts_blocked": blocked_scripts}


def safety() -> dict:
    """Precision / recall / FPR (held-out and all), recall per category, checks per second."""
    from generation.data.safety_labelled import labelled
    from generation.safety import classify

    out = evaluate()
    texts = [t for t, _ in labelled()]
    classify(texts[:1])  # exemplars embedded once per process, not timed
    started = time.perf_counter()
    for text in texts:
        classify([text])
    elapsed = time.perf_counter() - started
    long_text = " ".join(texts) * 10
    started = time.perf_counter()
    classify([long_text])
    out["checks_per_s"] = round(len(texts) / elapsed, 1)
    out["ms_per_check"] = round(1000 * elapsed / len(texts), 2)
    out["ms_long_text"] = round(1000 * (time.perf_counter() - started), 1)
    out["own_output"] = own_output()
    return out
