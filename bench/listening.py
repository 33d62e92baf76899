"""A listener's check, measured: what an offline recogniser (PocketSphinx, its packaged en-US
model; a development dependency) hears in a stretch of a render's audio."""

from __future__ import annotations

import re

import numpy as np


def heard(audio: np.ndarray, sr: int, start_s: float, end_s: float) -> set[str]:
    """The words recognised in [start_s, end_s) of (channels, samples) float audio."""
    from pocketsphinx import Decoder
    from scipy.signal import resample_poly

    window = np.atleast_2d(audio).mean(axis=0)[max(0, int(start_s * sr)): int(end_s * sr)]
    if not len(window):
        return set()
    pcm = resample_poly(window, 16000, sr)
    pcm = (np.clip(pcm / (np.abs(pcm).max() + 1e-9) * 0.9, -1, 1) * 32767).astype(np.int16)
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    return set(decoder.hyp().hypstr.split()) if decoder.hyp() else set()


def content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z']+", text.lower()) if len(w) >= 4]


def word_recall(audio: np.ndarray, sr: int, start_s: float, end_s: float, text: str) -> float:
    """Share of the text's content words (four letters or more) the recogniser hears there."""
    words = content_words(text)
    got = heard(audio, sr, start_s, end_s)
    return float(np.mean([w in got for w in words])) if words else 0.0
