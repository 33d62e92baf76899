"""A frame classifier for GPU deployments: rendered frames are checked before anything is encoded.

The text checks (generation/safety.py) read every script and brief; a diffusion model can still
draw what no text asked for. With TAILOR_FRAME_CLASSIFIER set to a local image-classification
model (a transformers directory: config, weights and image processor, e.g. an NSFW detector),
a few frames of every render are classified; a piece whose frames score at least
TAILOR_FRAME_CLASSIFIER_THRESHOLD on any label in TAILOR_FRAME_CLASSIFIER_LABELS is never
published. Off by default: the storyboard renderer draws only packaged, openly licensed art.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings

logger = logging.getLogger("tailor.safety")


@dataclass(frozen=True)
class FrameVerdict:
    allowed: bool
    label: str = ""
    score: float = 0.0


@functools.lru_cache(maxsize=2)
def _classifier(path: str):
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
    model = AutoModelForImageClassification.from_pretrained(path, local_files_only=True).eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    logger.info("frame classifier loaded path=%s device=%s labels=%s", path, device, model.config.id2label)
    return processor, model.to(device), device


def frames_check(frames: np.ndarray) -> FrameVerdict:
    """Classify FRAME_CLASSIFIER_SAMPLES frames spread over the clip ((T, H, W, 3) uint8); the
    verdict is the worst frame's score on the unsafe labels."""
    if not settings.FRAME_CLASSIFIER or len(frames) == 0:
        return FrameVerdict(True)
    import torch

    processor, model, device = _classifier(str(settings.FRAME_CLASSIFIER))
    picks = np.unique(np.linspace(0, len(frames) - 1, max(1, settings.FRAME_CLASSIFIER_SAMPLES)).round().astype(int))
    inputs = processor(images=[np.asarray(frames[i]) for i in picks], return_tensors="pt").to(device)
    with torch.inference_mode():
        probs = model(**inputs).logits.float().softmax(dim=-1).cpu().numpy()
    labels = {i: str(name).lower() for i, name in model.config.id2label.items()}
    unsafe = [i for i, name in labels.items() if name in {x.lower() for x in settings.FRAME_CLASSIFIER_LABELS}]
    if not unsafe:
        return FrameVerdict(True)
    per_label = {labels[i]: float(probs[:, i].max()) for i in unsafe}
    label, score = max(per_label.items(), key=lambda kv: kv[1])
    return FrameVerdict(score < settings.FRAME_CLASSIFIER_THRESHOLD, label, round(score, 4))
