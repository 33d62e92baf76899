"""Mixing: music ducked under speech, loudness normalised with pyloudnorm, peaks limited."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

TARGET_LUFS = -16.0
CEILING_DB = -1.0


def speech_envelope(speech: np.ndarray, sr: int, attack_s: float = 0.03, release_s: float = 0.35) -> np.ndarray:
    """0..1 envelope of speech activity (fast attack, slow release), per sample."""
    mono = np.abs(speech).mean(axis=0) if speech.ndim == 2 else np.abs(speech)
    hop = max(1, int(0.01 * sr))
    n = int(np.ceil(len(mono) / hop))
    pad = np.zeros(n * hop, np.float32)
    pad[: len(mono)] = mono
    rms = np.sqrt((pad.reshape(n, hop) ** 2).mean(axis=1))
    active = (rms > max(1e-4, 0.08 * float(rms.max(initial=0.0)))).astype(np.float32)
    # hold a little past the end of each word, then smooth: attack and release as moving averages
    active = maximum_filter1d(active, size=max(1, int(release_s / 0.01)))
    active = uniform_filter1d(active, size=max(1, int(attack_s / 0.01)))
    env = np.repeat(active, hop)[: len(mono)]
    return np.clip(env, 0.0, 1.0).astype(np.float32)


def duck(bed: np.ndarray, env: np.ndarray, depth_db: float = 10.0) -> np.ndarray:
    """Sidechain-style: the bed drops by depth_db while speech is active."""
    g = 10 ** (-depth_db * env / 20.0)
    return (bed * g[None, :]).astype(np.float32)


def loudness(audio: np.ndarray, sr: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64)))


def true_peak_db(audio: np.ndarray) -> float:
    """Peak after 4x oversampling (an estimate of the inter-sample peak)."""
    up = resample_poly(audio, 4, 1, axis=-1)
    return 20 * np.log10(max(1e-9, float(np.abs(up).max())))


def limit(audio: np.ndarray, sr: int, ceiling_db: float = CEILING_DB - 0.5, lookahead_s: float = 0.005,
          release_s: float = 0.08) -> np.ndarray:
    """Look-ahead peak limiter: gain = min over a window of ceiling/|x|, smoothed."""
    ceil = 10 ** (ceiling_db / 20)
    peak = np.abs(audio).max(axis=0)
    need = np.minimum(1.0, ceil / np.maximum(peak, 1e-9))
    la = max(1, int(lookahead_s * sr))
    rel = max(1, int(release_s * sr))
    # a gain drop must start before the peak (look-ahead) and recover slowly (release)
    g = -maximum_filter1d(-need, size=2 * la + 1)
    g = -maximum_filter1d(-g, size=rel)
    g = uniform_filter1d(g, size=la)
    g = np.minimum(g, need)  # never let a smoothed gain overshoot a sample's need
    return (audio * g[None, :]).astype(np.float32)


def master(mix: np.ndarray, sr: int, target_lufs: float = TARGET_LUFS) -> tuple[np.ndarray, dict]:
    """Normalise to target LUFS integrated, then limit peaks below -1 dBFS (4x oversampled check)."""
    import pyloudnorm

    x = mix.astype(np.float32)
    info = {}
    for _ in range(3):
        lufs = loudness(x, sr)
        if not np.isfinite(lufs):
            break
        with warnings.catch_warnings():  # "possible clipped samples": the limiter below takes care of them
            warnings.simplefilter("ignore")
            x = pyloudnorm.normalize.loudness(x.T.astype(np.float64), lufs, target_lufs).T.astype(np.float32)
        x = limit(x, sr)
        tp = true_peak_db(x)
        if tp > CEILING_DB:
            x = limit(x, sr, ceiling_db=CEILING_DB - 0.5 - (tp - CEILING_DB) - 0.2)
        if abs(loudness(x, sr) - target_lufs) < 0.3:
            break
    info["lufs"] = loudness(x, sr)
    info["true_peak_db"] = true_peak_db(x)
    return np.clip(x, -1.0, 1.0).astype(np.float32), info
