"""Music bed and ambience, synthesised from the script's cues (no audio is downloaded).

Everything is vectorised numpy/scipy: notes are short arrays added into a buffer, pads are
phase-accumulated saws through one low-pass, drums are pre-made one-shots placed on a grid, the
room is a single FFT convolution with a decaying-noise impulse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]


def parse_key(key: str) -> tuple[int, bool]:
    """'C major' -> (MIDI root near C3, minor?)."""
    m = re.match(r"\s*([A-Ga-g])([#b]?)\s*(major|minor|maj|min|m)?", key or "")
    if not m:
        return 48, False
    root = NOTE[m.group(1).upper()] + (1 if m.group(2) == "#" else -1 if m.group(2) == "b" else 0)
    minor = (m.group(3) or "major").startswith("min") or m.group(3) == "m"
    return 48 + root % 12, minor


def midi_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


@dataclass(frozen=True)
class Style:
    name: str
    pad: str  # "saw", "ep" (electric piano), "strings", "organ", "none"
    bass: str  # "root", "walk", "oompah", "pulse", "none"
    drums: str  # "pop", "lofi", "four", "swing", "light", "timpani", "none"
    arp: str  # "none", "up", "pluck", "bells", "melody"
    swing: float = 0.0
    lowpass: float = 9000.0
    crackle: bool = False
    seventh: bool = False


STYLES = [
    (("lofi", "lo-fi", "chill", "hip hop", "hiphop", "study", "beats"),
     Style("lofi", "ep", "root", "lofi", "pluck", swing=0.12, lowpass=3800, crackle=True, seventh=True)),
    (("orchestral", "cinematic", "epic", "classical", "film", "score", "symphon", "adventure", "fantasy"),
     Style("orchestral", "strings", "root", "timpani", "pluck")),
    (("synthwave", "electronic", "edm", "synth", "retro", "80s", "techno", "house", "dance", "disco", "chiptune"),
     Style("synthwave", "saw", "pulse", "four", "up")),
    (("acoustic", "folk", "country", "indie", "guitar", "campfire", "bluegrass"),
     Style("acoustic", "none", "root", "light", "pluck")),
    (("jazz", "swing", "blues", "lounge", "bossa", "noir"),
     Style("jazz", "ep", "walk", "swing", "none", swing=0.2, seventh=True)),
    (("broadway", "musical", "show", "theatre", "theater", "cabaret", "vaudeville", "ragtime"),
     Style("broadway", "organ", "oompah", "light", "melody")),
    (("ambient", "calm", "meditat", "drone", "sleep", "lullaby", "new age"),
     Style("ambient", "strings", "none", "none", "bells", lowpass=6000)),
    (("rock", "punk", "metal", "grunge"), Style("rock", "saw", "pulse", "pop", "none", lowpass=7000)),
]
DEFAULT_STYLE = Style("pop", "saw", "root", "pop", "melody")


def style_for(genre: str, mood: str = "") -> Style:
    low = f"{genre or ''}".lower()
    for keys, st in STYLES:
        if any(k in low for k in keys):
            return st
    low = f"{mood or ''}".lower()
    for keys, st in STYLES:
        if any(k in low for k in keys):
            return st
    return DEFAULT_STYLE


def _env(n: int, sr: int, a: float, d: float, s: float, r: float) -> np.ndarray:
    """ADSR over n samples (release at the end)."""
    na, nd, nr = int(a * sr), int(d * sr), int(r * sr)
    ns = max(0, n - na - nd - nr)
    e = np.concatenate([np.linspace(0, 1, max(1, na), endpoint=False), np.linspace(1, s, max(1, nd), endpoint=False),
                        np.full(ns, s), np.linspace(s, 0, max(1, nr))])
    if len(e) < n:
        e = np.pad(e, (0, n - len(e)))
    return e[:n].astype(np.float32)


def _add(buf: np.ndarray, x: np.ndarray, start: int, pan: float = 0.0, gain: float = 1.0):
    """Add mono x into stereo buf at sample `start` with an equal-power pan in [-1, 1]."""
    if start >= buf.shape[1] or len(x) == 0:
        return
    if start < 0:
        x, start = x[-start:], 0
    end = min(buf.shape[1], start + len(x))
    x = x[: end - start]
    a = (pan + 1) * np.pi / 4
    buf[0, start:end] += x * (gain * np.cos(a))
    buf[1, start:end] += x * (gain * np.sin(a))


def _tone(freq: float, dur: float, sr: int, harm=((1, 1.0),), env=(0.005, 0.1, 0.6, 0.1),
          decay: float = 0.0) -> np.ndarray:
    n = max(1, int(dur * sr))
    t = np.arange(n, dtype=np.float32) / sr
    y = np.zeros(n, np.float32)
    for k, a in harm:
        if freq * k < sr / 2.2:
            y += a * np.sin(2 * np.pi * freq * k * t)
    y *= _env(n, sr, *env)
    if decay:
        y *= np.exp(-t / decay)
    return y


def _saw(freq: float, n: int, sr: int, detune: float = 0.0, rng=None) -> np.ndarray:
    ph0 = rng.random() if rng is not None else 0.0
    ph = (ph0 + np.arange(n) * (freq * (1 + detune) / sr)) % 1.0
    return (2 * ph - 1).astype(np.float32)


def _lp(x: np.ndarray, hz: float, sr: int, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, min(hz, sr * 0.45), "low", fs=sr, output="sos"), x, axis=-1).astype(np.float32)


def _hp(x: np.ndarray, hz: float, sr: int, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, hz, "high", fs=sr, output="sos"), x, axis=-1).astype(np.float32)


def _bp(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, [lo, min(hi, sr * 0.45)], "band", fs=sr, output="sos"), x, axis=-1).astype(np.float32)


def _reverb(buf: np.ndarray, sr: int, rng, seconds: float = 1.2, wet: float = 0.18) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal((2, n)).astype(np.float32) * np.exp(-t / (seconds / 5))[None, :].astype(np.float32)
    ir[:, : int(0.01 * sr)] = 0
    ir /= np.sqrt((ir ** 2).sum(axis=1, keepdims=True)) + 1e-9
    wetsig = np.stack([fftconvolve(buf[c], ir[c])[: buf.shape[1]] for c in range(2)]).astype(np.float32)
    return buf * (1 - wet) + wetsig * wet * 1.5


def _drum_kit(sr: int, rng) -> dict[str, np.ndarray]:
    def t(d):
        return np.arange(int(d * sr)) / sr

    tk = t(0.35)
    kick = np.sin(2 * np.pi * np.cumsum(45 + 110 * np.exp(-tk / 0.03)) / sr) * np.exp(-tk / 0.12)
    ts = t(0.22)
    snare = (_bp(rng.standard_normal(len(ts)), 900, 7000, sr) * 0.8 + np.sin(2 * np.pi * 185 * ts) * 0.5) * np.exp(-ts / 0.06)
    th = t(0.06)
    hat = _hp(rng.standard_normal(len(th)), 7000, sr) * np.exp(-th / 0.012)
    tr = t(0.5)
    ride = (_hp(rng.standard_normal(len(tr)), 5000, sr) * 0.5 +
            sum(np.sin(2 * np.pi * f * tr) for f in (3100, 4270, 5330)) * 0.08) * np.exp(-tr / 0.18)
    tt = t(0.7)
    timp = np.sin(2 * np.pi * np.cumsum(80 + 20 * np.exp(-tt / 0.05)) / sr) * np.exp(-tt / 0.35)
    tb = t(0.15)
    brush = _bp(rng.standard_normal(len(tb)), 1500, 6000, sr) * np.exp(-tb / 0.05) * 0.6
    kit = {"kick": kick, "snare": snare, "hat": hat, "ride": ride, "timp": timp, "brush": brush}
    return {k: v.astype(np.float32) for k, v in kit.items()}


def beat_seconds(music: dict) -> float:
    bpm = float((music or {}).get("tempo_bpm") or 100)
    return 60.0 / min(max(bpm, 40.0), 220.0)


@dataclass
class _Bed:
    """A music bed being written: its style, key, grid and one buffer per part."""

    st: Style
    sr: int
    rng: np.random.Generator
    root: int
    scale: list[int]
    beat: float
    buf: dict[str, np.ndarray]
    energy: float = 1.0
    kit: dict[str, np.ndarray] | None = None
    motif: list[int] | None = None

    def deg(self, d: int, octave: int = 0) -> int:
        return self.root + 12 * (octave + d // 7) + self.scale[d % 7]


def music_bed(music: dict, duration_s: float, sr: int, seed: int, mood: str = "") -> np.ndarray:
    """Stereo float32 (2, n) bed, RMS about -20 dBFS, fading in and out."""
    music = music or {}
    rng = np.random.default_rng(seed)
    st = style_for(music.get("genre", ""), music.get("mood", "") or mood)
    root, minor = parse_key(music.get("key", "C major"))
    if "minor" not in (music.get("key") or "") and re.search(r"\b(sad|melanchol|gloom|dark|eerie|spooky)", (music.get("mood") or "").lower()):
        minor = True
    n = int(duration_s * sr) + sr
    bed = _Bed(st=st, sr=sr, rng=rng, root=root, scale=MINOR if minor else MAJOR, beat=beat_seconds(music),
               buf={k: np.zeros((2, n), np.float32) for k in ("pad", "bass", "drums", "lead")})
    if st.name == "jazz":
        prog = [1, 4, 0, 5]
    elif minor:
        prog = [[0, 5, 2, 6], [0, 3, 4, 0], [0, 5, 3, 4]][int(rng.integers(3))]
    else:
        prog = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3]][int(rng.integers(3))]
    bar = 4 * bed.beat
    n_bars = int(np.ceil(duration_s / bar)) + 1
    bed.kit = _drum_kit(sr, rng)
    if re.search(r"\b(calm|gentle|soft|quiet|sleepy|tender|wistful|cosy|cozy)", (music.get("mood") or "").lower()):
        bed.energy = 0.6
    # melody motif: 8 eighth-note scale steps reused every two bars (a hook is what makes it music)
    bed.motif = [int(x) for x in rng.choice([0, 2, 4, 4, 5, 7, 9, -1, -1], size=8)]
    for b in range(n_bars):
        t0 = b * bar
        d = prog[b % len(prog)]
        chord = [bed.deg(d), bed.deg(d + 2), bed.deg(d + 4)] + ([bed.deg(d + 6)] if st.seventh else [])
        s0 = int(t0 * sr)
        if st.pad != "none":
            _bed_pad(bed, chord, s0, bar)
        if st.arp in ("pluck", "up") or st.name == "acoustic":
            _bed_arpeggio(bed, chord, s0, bar)
        if st.arp in ("melody", "bells") and b % 4 != 3:
            _bed_melody(bed, b, s0)
        if st.bass != "none":
            _bed_bass(bed, chord, s0)
        if st.drums != "none" and bed.energy > 0.5 or st.drums in ("timpani",):
            _bed_drums(bed, b, t0)
    return _bed_master(bed, n, duration_s)


def _bed_pad(bed: _Bed, chord: list[int], s0: int, bar: float) -> None:
    st, sr, beat, rng = bed.st, bed.sr, bed.beat, bed.rng
    if st.pad in ("saw", "strings"):
        nn = int(bar * sr)
        y = np.zeros(nn, np.float32)
        for m in chord:
            f = midi_hz(m + 12)
            y += _saw(f, nn, sr, 0.0, rng) + _saw(f, nn, sr, 0.006, rng)
        att = 0.35 if st.pad == "strings" else 0.05
        y *= _env(nn, sr, att, 0.3, 0.8, 0.25) * 0.12
        _add(bed.buf["pad"], y, s0)
    elif st.pad == "ep":
        for k, m in enumerate(chord):
            for hit in (0.0, 2.5 if st.swing else 2.0):
                y = _tone(midi_hz(m + 12), beat * 1.6, sr, ((1, 1.0), (2, 0.25), (3, 0.05)),
                          (0.004, 0.3, 0.4, 0.3), decay=0.8)
                _add(bed.buf["pad"], y * 0.22, s0 + int((hit * beat + 0.012 * k) * sr), pan=(k - 1) * 0.3)
    elif st.pad == "organ":
        for k, m in enumerate(chord):
            for hit in (1, 3):
                y = _tone(midi_hz(m + 12), beat * 0.7, sr, ((1, 1.0), (2, 0.5), (4, 0.25)),
                          (0.005, 0.08, 0.6, 0.08))
                _add(bed.buf["pad"], y * 0.18, s0 + int(hit * beat * sr), pan=(k - 1) * 0.4)


def _bed_arpeggio(bed: _Bed, chord: list[int], s0: int, bar: float) -> None:
    st, sr, beat = bed.st, bed.sr, bed.beat
    step = beat / (4 if st.arp == "up" else 2)
    notes = chord + [chord[0] + 12]
    for i in range(int(bar / step)):
        m = notes[i % len(notes)] + (12 if st.arp == "up" else 0)
        if st.name == "acoustic" and i % 4 == 0:  # strum
            for k, mm in enumerate(chord):
                y = _tone(midi_hz(mm + 12), beat * 1.8, sr, ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)),
                          (0.002, 0.05, 0.5, 0.4), decay=0.5)
                _add(bed.buf["lead"], y * 0.16, s0 + int((i * step + 0.015 * k) * sr), pan=-0.2)
            continue
        y = _tone(midi_hz(m + 12), step * 1.8, sr, ((1, 1.0), (2, 0.35), (3, 0.12)),
                  (0.002, 0.05, 0.3, 0.1), decay=0.25)
        _add(bed.buf["lead"], y * 0.12, s0 + int(i * step * sr), pan=0.35 * np.sin(i))


def _bed_melody(bed: _Bed, b: int, s0: int) -> None:
    st, sr, beat = bed.st, bed.sr, bed.beat
    for i, sd in enumerate(bed.motif):
        if sd < 0 or (st.arp == "bells" and i % 2):
            continue
        m = bed.deg(sd, 1) + (12 if st.arp == "bells" else 0)
        if b % 2 == 1 and i >= 4:
            m = bed.deg(sd + 2, 1)
        y = _tone(midi_hz(m), beat * 1.1, sr, ((1, 1.0), (2, 0.2), (3.01, 0.15), (5.4, 0.05)),
                  (0.003, 0.15, 0.35, 0.2), decay=0.5)
        sw = st.swing * beat if i % 2 else 0.0
        _add(bed.buf["lead"], y * 0.13, s0 + int((i * beat / 2 + sw) * sr), pan=0.2)


def _bed_bass(bed: _Bed, chord: list[int], s0: int) -> None:
    st, sr, beat = bed.st, bed.sr, bed.beat
    for i in range(4):
        if st.bass == "root" and i % 2:
            continue
        if st.bass == "walk":
            m = [chord[0], chord[1], chord[2], chord[1] + 1][i] - 12
        elif st.bass == "oompah":
            if i % 2:
                continue
            m = (chord[0] if i == 0 else chord[2]) - 12
        else:
            m = chord[0] - 12
        subs = 2 if st.bass == "pulse" else 1
        for s in range(subs):
            dur = beat * (1.9 if st.bass == "root" else 0.9) / subs
            y = _tone(midi_hz(m), dur, sr, ((1, 1.0), (2, 0.4), (3, 0.15)), (0.005, 0.1, 0.7, 0.06))
            _add(bed.buf["bass"], y * 0.45, s0 + int((i + s / subs) * beat * sr))


def _bed_drums(bed: _Bed, b: int, t0: float) -> None:
    st, sr, beat, kit, drums = bed.st, bed.sr, bed.beat, bed.kit, bed.buf["drums"]
    for i in range(8):  # eighth notes
        tt = t0 + i * beat / 2 + (st.swing * beat if i % 2 else 0.0)
        s = int(tt * sr)
        dr = st.drums
        if dr in ("pop", "four", "lofi"):
            if (dr == "four" and i % 2 == 0) or (dr != "four" and i in (0, 5 if dr == "lofi" else 4)):
                _add(drums, kit["kick"], s, gain=0.8)
            if i in (2, 6):
                _add(drums, kit["snare"], s, gain=0.45 if dr == "lofi" else 0.55)
            _add(drums, kit["hat"], s, pan=0.3, gain=0.22 if i % 2 else 0.3)
        elif dr == "swing":
            if i % 2 == 0 or i in (3, 7):
                _add(drums, kit["ride"], s, pan=0.3, gain=0.3)
            if i in (2, 6):
                _add(drums, kit["brush"], s, gain=0.4)
            if i == 0:
                _add(drums, kit["kick"], s, gain=0.4)
        elif dr == "light":
            if i in (0, 4):
                _add(drums, kit["kick"], s, gain=0.55)
            if i in (2, 6):
                _add(drums, kit["brush"], s, gain=0.45)
            _add(drums, kit["hat"], s, pan=0.3, gain=0.12)
        elif dr == "timpani" and i == 0 and b % 2 == 0:
            _add(drums, kit["timp"], s, gain=0.7)


def _bed_master(bed: _Bed, n: int, duration_s: float) -> np.ndarray:
    """The parts mixed, filtered, in a room, cut to length, faded and levelled."""
    st, sr, rng, buf = bed.st, bed.sr, bed.rng, bed.buf
    pad = _lp(buf["pad"], 2600 if st.pad in ("saw", "strings") else st.lowpass, sr)
    mix = pad + buf["bass"] + buf["lead"] + buf["drums"] * bed.energy
    mix = _lp(mix, st.lowpass, sr)
    if st.crackle:
        clicks = (rng.random((2, n)) > 0.9996).astype(np.float32) * rng.standard_normal((2, n)).astype(np.float32)
        mix += _hp(clicks, 2000, sr) * 0.15 + _lp(rng.standard_normal((2, n)).astype(np.float32), 4000, sr) * 0.004
    mix = _reverb(mix, sr, rng, 1.6 if st.name in ("orchestral", "ambient") else 1.0)
    mix = mix[:, : int(duration_s * sr)]
    fade = _env(mix.shape[1], sr, 0.4, 0.0, 1.0, 1.2)
    mix *= fade[None, :]
    rms = float(np.sqrt(np.mean(mix ** 2))) + 1e-9
    return (mix * (0.1 / rms)).astype(np.float32)


# ------------------------------------------------------------------------------- ambience


def _noise(rng, n, ch=2):
    return rng.standard_normal((ch, n)).astype(np.float32)


def _brown(rng, n, sr):
    x = np.cumsum(_noise(rng, n), axis=1)
    return _hp(x, 20, sr) / 60.0


def _lfo(rng, n, sr, rate, depth, base=1.0):
    t = np.arange(n) / sr
    m = sum(np.sin(2 * np.pi * rate * k * t + rng.uniform(0, 6.28)) / k for k in (1.0, 1.7, 2.9))
    return (base + depth * m / 1.8).astype(np.float32)


def _events(rng, n, sr, per_s, fn):
    out = np.zeros((2, n), np.float32)
    k = rng.poisson(per_s * n / sr)
    for t in np.sort(rng.uniform(0, n / sr, size=k)):
        _add(out, np.asarray(fn(rng, sr), np.float32), int(t * sr), pan=rng.uniform(-0.8, 0.8))
    return out


def _chirp(rng, sr):
    out = []
    f0 = rng.uniform(2500, 4200)
    for _ in range(int(rng.integers(2, 5))):
        d = rng.uniform(0.05, 0.12)
        n = int(d * sr)
        t = np.arange(n) / sr
        f = f0 * (1 + rng.uniform(-0.3, 0.4) * t / d)
        y = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.sin(np.pi * t / d) ** 2
        out += [y, np.zeros(int(rng.uniform(0.03, 0.08) * sr))]
    return np.concatenate(out).astype(np.float32) * 0.3


def _clink(rng, sr):
    t = np.arange(int(0.3 * sr)) / sr
    f = rng.uniform(2200, 4200)
    return (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * 2.76 * t)) * np.exp(-t / 0.05) * 0.15


def _drop(rng, sr):
    t = np.arange(int(0.03 * sr)) / sr
    return np.sin(2 * np.pi * rng.uniform(1500, 3500) * t) * np.exp(-t / 0.006) * 0.25


def _crackle(rng, sr):
    t = np.arange(int(0.01 * sr)) / sr
    return rng.standard_normal(len(t)) * np.exp(-t / 0.002) * 0.4


def _murmur(rng, n, sr):
    voices = np.zeros((2, n), np.float32)
    for _ in range(6):
        band = _bp(_noise(rng, n), rng.uniform(250, 400), rng.uniform(1400, 2600), sr)
        voices += band * np.clip(_lfo(rng, n, sr, rng.uniform(2.5, 5.0), 1.2, 0.2), 0, None)
    return voices * 0.35


AMBIENCE = [
    (("rain", "storm", "drizzle", "downpour"), lambda r, n, sr: _bp(_noise(r, n), 600, 9000, sr) * 0.35 + _events(r, n, sr, 12, _drop)),
    (("wind", "breeze", "gust", "windy"), lambda r, n, sr: _bp(_brown(r, n, sr), 150, 900, sr) * _lfo(r, n, sr, 0.12, 0.7) * 6),
    (("crowd", "murmur", "chatter", "bustle", "busy", "cafe", "café", "restaurant", "party", "market", "audience"),
     lambda r, n, sr: _murmur(r, n, sr)),
    (("kitchen", "cooking", "dishes", "bakery", "sizzle"),
     lambda r, n, sr: _murmur(r, n, sr) * 0.5 + _events(r, n, sr, 1.2, _clink)),
    (("bird", "birds", "forest", "park", "garden", "morning", "spring", "meadow", "woods"),
     lambda r, n, sr: _events(r, n, sr, 1.5, _chirp) + _bp(_brown(r, n, sr), 150, 700, sr) * 1.5),
    (("city", "traffic", "street", "urban", "town", "hum"),
     lambda r, n, sr: _lp(_brown(r, n, sr), 400, sr) * 3 + _hum(n, sr, 60) * 0.05),
    (("ocean", "wave", "waves", "sea", "beach", "surf", "shore"),
     lambda r, n, sr: _lp(_noise(r, n), 1200, sr) * np.clip(_swell(r, n, sr), 0, None) * 0.6),
    (("fire", "campfire", "fireplace", "crackle", "hearth"),
     lambda r, n, sr: _lp(_brown(r, n, sr), 300, sr) * 2 + _events(r, n, sr, 25, _crackle)),
    (("night", "cricket", "crickets", "summer", "evening"), lambda r, n, sr: _crickets(r, n, sr)),
    (("space", "spaceship", "engine", "machine", "drone", "lab", "computer", "station"),
     lambda r, n, sr: _hum(n, sr, 55) * 0.12 + _lp(_brown(r, n, sr), 250, sr)),
    (("water", "stream", "river", "brook", "fountain", "underwater"),
     lambda r, n, sr: _bp(_noise(r, n), 900, 4000, sr) * _lfo(r, n, sr, 7.0, 0.5) * 0.25),
    (("applause", "clapping", "cheer", "cheering", "stage", "theatre", "theater", "concert"),
     lambda r, n, sr: _bp(_events(r, n, sr, 40, _crackle) + _murmur(r, n, sr), 300, 6000, sr) * 0.6),
]


def _hum(n, sr, f):
    t = np.arange(n) / sr
    y = sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3, 4)).astype(np.float32)
    return np.stack([y, y])


def _swell(rng, n, sr):
    t = np.arange(n) / sr
    period = rng.uniform(5.5, 8.0)
    ph = (t / period + rng.uniform(0, 1)) % 1.0
    env = np.where(ph < 0.35, ph / 0.35, np.exp(-(ph - 0.35) * 5)) ** 1.5
    return np.stack([env, np.roll(env, int(0.3 * sr))]).astype(np.float32) + 0.1


def _crickets(rng, n, sr):
    t = np.arange(n) / sr
    out = np.zeros((2, n), np.float32)
    for c in range(2):
        f = rng.uniform(4200, 4800)
        gate = (np.sin(2 * np.pi * 28 * t) > 0.3) & (((t * rng.uniform(1.2, 1.8)) + rng.random()) % 1.0 < 0.35)
        out[c] = np.sin(2 * np.pi * f * t) * gate * 0.05
    return out


def ambience(sound: dict, setting: str, duration_s: float, sr: int, seed: int) -> np.ndarray:
    """Stereo bed from the ambience cue's keywords (and the setting's as a fallback), RMS about -30 dBFS."""
    rng = np.random.default_rng(seed + 17)
    n = int(duration_s * sr)
    text = f"{(sound or {}).get('ambience', '')}".lower()
    used = [fn for keys, fn in AMBIENCE if any(re.search(r"\b" + k, text) for k in keys)]
    if not used:
        low = (setting or "").lower()
        used = [fn for keys, fn in AMBIENCE if any(re.search(r"\b" + k, low) for k in keys)][:1]
    if not used:
        out = _lp(_noise(rng, n), 500, sr) * 0.3  # room tone
    else:
        out = np.zeros((2, n), np.float32)
        for fn in used[:3]:
            y = fn(rng, n, sr).astype(np.float32)
            out += y / (float(np.sqrt(np.mean(y ** 2))) + 1e-9)
    out *= _env(n, sr, 0.8, 0.0, 1.0, 1.0)[None, :]
    rms = float(np.sqrt(np.mean(out ** 2))) + 1e-9
    return (out * (0.032 / rms)).astype(np.float32)


# ------------------------------------------------------------------------------- effects


def _fx_bell(rng, sr, f=1760.0):
    t = np.arange(int(1.6 * sr)) / sr
    y = sum(a * np.sin(2 * np.pi * f * k * t) * np.exp(-t / (0.5 / k)) for k, a in ((1, 1.0), (2.76, 0.4), (5.4, 0.2)))
    return y * 0.5


def _fx_pop(rng, sr):
    t = np.arange(int(0.12 * sr)) / sr
    return np.sin(2 * np.pi * np.cumsum(400 + 900 * t / 0.12) / sr) * np.exp(-t / 0.03) * 0.8


def _fx_whoosh(rng, sr):
    n = int(0.7 * sr)
    t = np.arange(n) / sr
    return _bp(rng.standard_normal(n), 400, 3000, sr) * np.sin(np.pi * t / 0.7) ** 2 * 0.8


def _fx_boom(rng, sr):
    n = int(2.0 * sr)
    t = np.arange(n) / sr
    return _lp(rng.standard_normal(n), 180, sr) * np.exp(-t / 0.6) * 3.0


def _fx_knock(rng, sr):
    out = []
    for _ in range(3):
        t = np.arange(int(0.18 * sr)) / sr
        out.append((np.sin(2 * np.pi * 180 * t) + _lp(rng.standard_normal(len(t)), 900, sr)) * np.exp(-t / 0.03) * 0.7)
    return np.concatenate(out)


def _fx_sparkle(rng, sr):
    return np.concatenate([_fx_bell(rng, sr, f)[: int(0.18 * sr)] for f in (1568, 1976, 2349, 3136)] + [_fx_bell(rng, sr, 3136)]) * 0.6


def _fx_sizzle(rng, sr):
    n = int(1.5 * sr)
    return _hp(rng.standard_normal(n), 3000, sr) * _env(n, sr, 0.2, 0.2, 0.7, 0.5) * 0.3


def _fx_steps(rng, sr):
    out = []
    for _ in range(4):
        t = np.arange(int(0.3 * sr)) / sr
        out.append(_lp(rng.standard_normal(len(t)), 500, sr) * np.exp(-t / 0.04) * 1.2)
    return np.concatenate(out)


def _fx_honk(rng, sr):
    n = int(0.5 * sr)
    t = np.arange(n) / sr
    return np.sign(np.sin(2 * np.pi * 370 * t)) * _env(n, sr, 0.01, 0.05, 0.8, 0.05) * 0.3


def _fx_blip(rng, sr):
    t = np.arange(int(0.25 * sr)) / sr
    return np.sin(2 * np.pi * 880 * t) * np.exp(-t / 0.08) * 0.5


EFFECTS = [
    (("ding", "bell", "chime", "timer", "ring"), _fx_bell), (("pop", "bubble", "cork"), _fx_pop),
    (("whoosh", "swoosh", "swish", "zoom", "wind"), _fx_whoosh), (("thunder", "boom", "explosion", "crash", "bang"), _fx_boom),
    (("knock", "door"), _fx_knock), (("magic", "sparkle", "twinkle", "shimmer", "wand"), _fx_sparkle),
    (("sizzle", "fry", "steam", "hiss"), _fx_sizzle), (("step", "footstep", "walk"), _fx_steps),
    (("honk", "horn", "car"), _fx_honk),
]


def effect(name: str, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = (name or "").lower()
    for keys, fn in EFFECTS:
        if any(k in low for k in keys):
            return np.asarray(fn(rng, sr), np.float32)
    return np.asarray(_fx_blip(rng, sr), np.float32)


def effect_keywords(name: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", (name or "").lower()) if len(w) > 2]
