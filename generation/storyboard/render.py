"""Storyboard renderer: a version-1 Script -> frames, a mixed stereo track and WebVTT captions.

Steps (numbered as in `render_script`):
1. read the script robustly (sizes, cast, shots, lines; unknown values fall back)
2. voice: every line synthesised in as few Piper processes as possible, per-character rate/pitch
3. timeline: lines placed in their shots (lyrics on the beat), shots lengthened to fit their lines
4. music bed, ambience and effects for the whole timeline
5. speech stem, ducking, loudness normalisation and limiting
6. captions (VTT text and pre-rendered burn-in cards)
7. shot plans: OpenMoji cast/props, one background per shot, camera focus
8. frames: camera view of the background, figures that speak with their audio, transitions, captions
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from generation.storyboard import captions as cap_mod
from generation.storyboard import mix as mix_mod
from generation.storyboard import music as music_mod
from generation.storyboard import scenes
from generation.storyboard.voice import NARRATOR, PITCH_RANGE, SR, VoiceError, VoiceRequest, envelope, voice_backend

CREDIT = "Emoji graphics: OpenMoji (openmoji.org), CC BY-SA 4.0"


class Interrupted(Exception):
    """Raised by a progress callback to stop the render where it is."""

__all__ = ["render_script", "StoryboardResult", "CREDIT", "Interrupted", "VoiceError"]


@dataclass
class StoryboardResult:
    frames: np.ndarray  # (n, h, w, 3) uint8
    fps: float
    audio: np.ndarray  # (channels, samples) float32 in [-1, 1]
    sample_rate: int
    vtt: str  # WebVTT text
    timeline: list[dict]  # per shot: {"shot", "start_s", "end_s"}; per line: {"line", "start_s", "end_s", "speaker"}
    stages_s: dict[str, float]  # CPU seconds by stage: voice, frames, music, mix
    stems: dict[str, np.ndarray] = field(default_factory=dict)  # pre-master stems at mix level: voice, music, ambience, effects
    info: dict = field(default_factory=dict)  # loudness, emoji chosen, sizes

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


def _cpu() -> float:
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def default_cache_dir() -> Path:
    base = os.environ.get("TAILOR_STORYBOARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tailor", "storyboard")
    return Path(base)


def _num(v, default: float) -> float:
    try:
        f = float(v)
        return f if math.isfinite(f) else default
    except (TypeError, ValueError):
        return default


def render_script(script: dict, *, aspect: str | None = None, fps: float = 15.0, burn_captions: bool = True,
                  voice: str = "piper", cache_dir: Path | None = None, progress=None,
                  voice_model: Path | str | None = None, draw: bool = True) -> StoryboardResult:
    """draw=False stops after the soundtrack and captions (no frames): a diffusion model renders
    the pictures shot by shot into the returned timeline (generation/renderer.py)."""
    stages = {"voice": 0.0, "frames": 0.0, "music": 0.0, "mix": 0.0}

    def report(f: float):
        if progress is not None:
            try:
                progress(min(1.0, max(0.0, float(f))))
            except Interrupted:  # the caller stops the render (a cancelled job)
                raise
            except Exception:  # a broken progress sink must never break a render
                pass

    # 1. read the script --------------------------------------------------------------------------
    script = script or {}
    aspect = aspect or script.get("aspect") or "9:16"
    w, h = scenes.SIZES.get(aspect, scenes.SIZES["9:16"])
    fps = float(min(max(_num(fps, 15.0), 12.0), 24.0))
    seed = int(_num(script.get("seed"), 0)) % (2 ** 31)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cast = {c.get("id"): c for c in (script.get("cast") or []) if isinstance(c, dict) and c.get("id")}
    shots = [s for s in (script.get("shots") or []) if isinstance(s, dict)]
    world = script.get("world") or {}
    if not shots:
        shots = [{"duration_s": _num(script.get("duration_s"), 8.0), "setting": world.get("setting", ""),
                  "action": script.get("logline", ""), "camera": "static", "characters": list(cast), "props": [],
                  "transition": "cut"}]
    durs = [min(max(_num(s.get("duration_s"), 3.0), 0.8), 30.0) for s in shots]
    lines = []
    for j, ln in enumerate(script.get("lines") or []):
        if not isinstance(ln, dict) or not str(ln.get("text") or "").strip():
            continue
        k = int(min(max(_num(ln.get("shot"), 0), 0), len(shots) - 1))
        spk = ln.get("speaker") if ln.get("speaker") in cast else None
        lines.append({"j": j, "shot": k, "kind": ln.get("kind") or "narration", "speaker": spk,
                      "text": " ".join(str(ln["text"]).split()), "beat": ln.get("beat")})
    report(0.01)

    # 2. voice -------------------------------------------------------------------------------------
    c0 = _cpu()
    backend = voice_backend(voice, model_path=voice_model, cache_dir=cache_dir)
    reqs = []
    for ln in lines:
        v = (cast.get(ln["speaker"]) or {}).get("voice") or NARRATOR if ln["speaker"] else NARRATOR
        rate = min(max(_num(v.get("rate"), 1.0), 0.5), 2.0)
        pitch = min(max(_num(v.get("pitch"), 0.0), PITCH_RANGE[0]), PITCH_RANGE[1])
        reqs.append(VoiceRequest(ln["text"], rate, pitch))
    clips = backend.synthesize(reqs) if reqs else []
    if len(clips) != len(reqs):
        raise VoiceError(f"voice backend returned {len(clips)} clips for {len(reqs)} lines")
    for i, c in enumerate(clips):
        c = np.asarray(c, np.float32)
        nz = np.nonzero(np.abs(c) > 1e-3)[0]
        if len(nz):  # trim leading/trailing silence so cue times are where words are
            c = c[max(0, nz[0] - int(0.02 * SR)): nz[-1] + int(0.05 * SR)]
        rms = float(np.sqrt(np.mean(c ** 2))) if len(c) else 0.0
        if rms > 1e-5:
            c = c * min(0.1 / rms, 0.95 / max(1e-6, float(np.abs(c).max())))
        clips[i] = c.astype(np.float32)
    stages["voice"] += _cpu() - c0
    report(0.1)

    # 3. timeline ----------------------------------------------------------------------------------
    beat_s = music_mod.beat_seconds(script.get("music") or {})
    title_s = min(2.0, max(1.2, 0.45 * durs[0]))
    shot_t: list[tuple[float, float]] = []
    line_t: dict[int, tuple[float, float]] = {}
    t = 0.0
    gap = 0.22
    debt = 0.0  # time a shot took beyond the script's length, given back by the shots after it
    for k, d in enumerate(durs):
        d = max(0.8, d - debt)
        start = t
        cursor = start + (title_s + 0.15 if k == 0 else 0.3)
        for i, ln in enumerate(lines):
            if ln["shot"] != k:
                continue
            s0 = cursor
            if ln["kind"] == "lyric":
                # Chanted on the music's beat grid. (A line's `beat` is its place in the song, which
                # the writer already ordered; it is not an offset to wait for.)
                s0 = math.ceil(s0 / beat_s - 1e-6) * beat_s
            e0 = s0 + len(clips[i]) / SR
            line_t[i] = (s0, e0)
            cursor = e0 + gap
        end = max(start + d, cursor - gap + 0.4)
        debt = max(0.0, debt + (end - start) - durs[k])
        shot_t.append((start, end))
        t = end
    total_s = shot_t[-1][1]
    n_frames = max(1, int(round(total_s * fps)))
    total_s = n_frames / fps
    shot_t[-1] = (shot_t[-1][0], total_s)
    n_samp = int(round(total_s * SR))
    timeline = [{"shot": k, "start_s": round(a, 3), "end_s": round(b, 3), **({"title_card_end_s": round(title_s, 3)} if k == 0 else {})}
                for k, (a, b) in enumerate(shot_t)]
    for i, ln in enumerate(lines):
        a, b = line_t[i]
        timeline.append({"line": ln["j"], "start_s": round(a, 3), "end_s": round(min(b, total_s), 3),
                         "speaker": ln["speaker"], "kind": ln["kind"], "shot": ln["shot"]})

    # 4. music, ambience, effects ---------------------------------------------------------------------
    c0 = _cpu()
    music = music_mod.music_bed(script.get("music") or {}, total_s, SR, seed, mood=script.get("tone", ""))
    music = _fit(music, n_samp)
    amb = _fit(music_mod.ambience(script.get("sound") or {}, world.get("setting", ""), total_s, SR, seed), n_samp)
    fx = np.zeros((2, n_samp), np.float32)
    for e, name in enumerate(((script.get("sound") or {}).get("effects") or [])[:8]):
        kws = music_mod.effect_keywords(str(name))
        at = None
        for k, s in enumerate(shots):
            text = (str(s.get("action", "")) + " " + " ".join(map(str, s.get("props") or []))).lower()
            if any(kw in text for kw in kws):
                at = shot_t[k][0] + 0.4 * (shot_t[k][1] - shot_t[k][0])
                break
        if at is None:
            k = (e + 1) % len(shot_t)
            at = shot_t[k][0] + 0.25
        y = music_mod.effect(str(name), SR, seed + e)
        y = y * (0.25 / (float(np.abs(y).max()) + 1e-9))
        music_mod._add(fx, y, int(at * SR), pan=0.2 * ((e % 3) - 1))
    stages["music"] += _cpu() - c0

    # 5. speech stem and the mix ---------------------------------------------------------------------
    c0 = _cpu()
    speech = np.zeros((2, n_samp), np.float32)
    order = {cid: i for i, cid in enumerate(cast)}
    for i, ln in enumerate(lines):
        a, _ = line_t[i]
        pan = 0.0 if not ln["speaker"] else 0.25 * (order[ln["speaker"]] - (len(cast) - 1) / 2)
        music_mod._add(speech, clips[i], int(round(a * SR)), pan=pan)
    env = mix_mod.speech_envelope(speech, SR)
    stems = {"voice": speech, "music": mix_mod.duck(music, env, 12.0) * 0.35,
             "ambience": mix_mod.duck(amb, env, 14.0) * 0.8, "effects": mix_mod.duck(fx, env, 8.0)}
    premix = stems["voice"] + stems["music"] + stems["ambience"] + stems["effects"]
    audio, loud = mix_mod.master(premix, SR)
    gain = float(np.sqrt(np.mean(audio ** 2)) / (np.sqrt(np.mean(premix ** 2)) + 1e-12))
    stems = {k: (v * gain).astype(np.float32) for k, v in stems.items()}

    # 6. captions --------------------------------------------------------------------------------------
    cues = []
    for i, ln in enumerate(lines):
        a, b = line_t[i]
        name = (cast.get(ln["speaker"]) or {}).get("name") if ln["speaker"] else None
        cues.append(cap_mod.Cue(round(a, 3), round(min(b + 0.15, total_s), 3), ln["text"], name, ln["kind"]))
    vtt = cap_mod.vtt(cues)
    colours = {cid: cap_mod.SPEAKER_COLOURS[i % len(cap_mod.SPEAKER_COLOURS)] for i, cid in enumerate(cast)}
    cap_imgs = [cap_mod.caption_image(c, w, h, colours.get(ln["speaker"])) for c, ln in zip(cues, lines)] if burn_captions else []
    stages["mix"] += _cpu() - c0
    report(0.2)
    if not draw:
        return StoryboardResult(frames=np.zeros((0, h, w, 3), np.uint8), fps=fps, audio=audio, sample_rate=SR, vtt=vtt,
                                timeline=timeline, stages_s={k: round(v, 3) for k, v in stages.items()}, stems=stems,
                                info={"lufs": loud["lufs"], "duration_s": total_s, "aspect": aspect})

    # 7. shot plans ----------------------------------------------------------------------------------
    c0 = _cpu()
    index = scenes.emoji_index()
    sprites = scenes.SpriteCache(cache_dir, index.svg_dir)
    stage = scenes.Stage(w, h, sprites, index, seed)
    cast_hex: dict[str, str] = {}
    used: set[str] = set()
    for n, (cid, c) in enumerate(cast.items()):
        hx = index.lookup(str(c.get("look", "")), exclude=used) or index.lookup(
            f"{c.get('name', '')} {c.get('role', '')}", exclude=used)
        if not hx:
            pool = [x for x in scenes.FALLBACK_CAST if x not in used and index.has(x)]
            hx = pool[(int(_num(c.get("seed"), n)) + n) % len(pool)] if pool else "1F642"
        cast_hex[cid] = hx
        used.add(hx)
    subject_hex = index.lookup(str(world.get("subject", "")), exclude=used)
    plans: list[scenes.ShotPlan] = []
    for k, s in enumerate(shots):
        rng = np.random.default_rng(seed * 1009 + k)
        setting = str(s.get("setting") or world.get("setting") or "")
        theme = scenes.theme_for(setting)
        if theme is scenes.DEFAULT_THEME:
            theme = scenes.theme_for(str(world.get("setting", "")))
        extra = [x for x in (index.lookup(setting, exclude=used),) if x]
        bg = stage.background(theme, extra, rng)
        ids = [c for c in (s.get("characters") or []) if c in cast]
        if not ids:
            ids = list(dict.fromkeys(ln["speaker"] for ln in lines if ln["shot"] == k and ln["speaker"]))
        figs = []
        n = len(ids)
        size = min((0.46 if h >= w else 0.4) * stage.unit, 0.74 * w / max(1, n)) if n else 0
        for i, cid in enumerate(ids):
            x = stage.W / 2 + (i - (n - 1) / 2) * min(0.8 * w / max(1, n), max(0.34 * w, 1.1 * size))
            figs.append(scenes.Figure(cast_hex[cid], index.items[cast_hex[cid]].kind if cast_hex[cid] in index.items else "object",
                                      cid, str(cast[cid].get("name", ""))[:24] or None, x,
                                      stage.feet_y + (0.02 * stage.unit if i % 2 else 0), size, phase=1.7 * i + 0.9 * k))
        prop_hex = []
        for p in (s.get("props") or [])[:6]:
            hx = index.lookup(str(p), exclude=used | set(prop_hex))
            if hx:
                prop_hex.append(hx)
        if subject_hex and subject_hex not in prop_hex and (not prop_hex or not ids):
            prop_hex.insert(0, subject_hex)
        prop_hex = prop_hex[:3]
        slots = {1: [0.0], 2: [-0.3, 0.3], 3: [-0.34, 0.0, 0.34]}
        for i, hx in enumerate(prop_hex):
            big = not ids and i == 0
            psize = (0.42 if big else 0.2) * stage.unit
            if ids:  # behind the cast, spread over the set
                px = stage.W / 2 + slots[len(prop_hex)][i] * w
                py = stage.feet_y - 0.13 * stage.unit
            else:
                px = stage.W / 2 + [0.0, -0.32, 0.32][i] * w
                py = stage.feet_y - (0 if big else 0.1 * stage.unit)
            figs.append(scenes.Figure(hx, "object", None, None, px, py, psize, phase=2.3 * i + k, is_prop=True))
        if figs and ids:
            fx_, fy_ = np.mean([f.x for f in figs if not f.is_prop]), stage.feet_y - 0.6 * size
        else:
            fx_, fy_ = stage.W / 2, stage.feet_y - 0.2 * stage.unit
        a, b = shot_t[k]
        cam = str(s.get("camera") or "static").lower()
        trans = str(s.get("transition") or "cut").lower()
        plans.append(scenes.ShotPlan(k, a, b, cam, trans if trans in scenes.TRANSITION_S else "dissolve",
                                     str(s.get("action", "")), bg, figs, (float(fx_), float(fy_)),
                                     jitter=rng.standard_normal((64, 3))))
    theme0 = scenes.theme_for(str(world.get("setting", "")))
    icons = [cast_hex[c] for c in cast][:3] or ([subject_hex] if subject_hex else ["1F3AC"])
    title_img, title_icons = scenes.title_card(stage, theme0, plans[0].world, str(script.get("title") or "Untitled"),
                                               str(script.get("logline") or ""), CREDIT, icons,
                                               np.random.default_rng(seed + 99))

    # per-frame mouth/bounce amplitude for each speaking character, and who is singing when
    amp = {cid: np.zeros(n_frames + 2, np.float32) for cid in cast}
    sing = {cid: np.zeros(n_frames + 2, bool) for cid in cast}
    for i, ln in enumerate(lines):
        if not ln["speaker"]:
            continue
        a, _ = line_t[i]
        e = envelope(clips[i], SR, fps)
        f0 = int(round(a * fps))
        seg = e[: max(0, min(len(e), n_frames + 2 - f0))]
        amp[ln["speaker"]][f0:f0 + len(seg)] = np.maximum(amp[ln["speaker"]][f0:f0 + len(seg)], seg)
        if ln["kind"] == "lyric":
            sing[ln["speaker"]][f0:f0 + len(seg)] = True

    def amp_of(cid, tt):
        arr = amp.get(cid)
        return float(arr[min(len(arr) - 1, max(0, int(round(tt * fps))))]) if arr is not None else 0.0

    def singing_of(cid, tt):
        arr = sing.get(cid)
        return bool(arr[min(len(arr) - 1, max(0, int(round(tt * fps))))]) if arr is not None else False

    # 8. frames --------------------------------------------------------------------------------------
    frames = np.empty((n_frames, h, w, 3), np.uint8)

    def shot_frame(k: int, tt: float) -> Image.Image:
        p = plans[k]
        cam = stage.camera(p, tt)
        im = stage.view(p.world, cam)
        stage.draw_figures(im, p, cam, tt, amp_of, singing_of)
        return im

    def title_frame(tt: float) -> Image.Image:
        s = 1.0 - 0.06 * min(1.0, tt / title_s)
        cam = (stage.W / 2, stage.H / 2, s, 0.0)
        im = stage.view(title_img, cam)
        for hx, x, y, sz in title_icons:
            bob = math.sin(6.283 * 1.2 * tt + x) * 0.04 * sz
            spr = sprites.sized(hx, int(sz / s) // 2 * 2)
            sx, sy = stage.project(cam, x, y)
            im.paste(spr, (int(sx - spr.width / 2), int(sy - spr.height + bob)), spr)
        return im

    cue_span = [(c.start_s, c.end_s) for c in cues]
    step = max(1, n_frames // 25)
    for fi in range(n_frames):
        tt = fi / fps
        k = next((i for i, (a, b) in enumerate(shot_t) if a <= tt < b), len(shot_t) - 1)
        if k == 0 and tt < title_s:
            fade = 0.4
            im = title_frame(tt)
            if tt > title_s - fade:
                im = Image.blend(im, shot_frame(0, tt), (tt - (title_s - fade)) / fade)
        else:
            im = shot_frame(k, tt)
            if k > 0:
                kind = plans[k - 1].transition
                dur = scenes.TRANSITION_S.get(kind, 0.5)
                if dur > 0 and tt - shot_t[k][0] < dur:
                    im = scenes.blend(shot_frame(k - 1, tt), im, kind, (tt - shot_t[k][0]) / dur)
        if burn_captions:
            for ci, (a, b) in enumerate(cue_span):
                if a - 0.05 <= tt < b:
                    cap_mod.burn(im, cap_imgs[ci], alpha=min(1.0, (tt - a + 0.05) / 0.15))
                    break
        frames[fi] = np.asarray(im)
        if fi % step == 0:
            report(0.2 + 0.8 * fi / n_frames)
    stages["frames"] += _cpu() - c0
    report(1.0)

    info = {"lufs": loud["lufs"], "true_peak_db": loud["true_peak_db"], "size": (w, h), "aspect": aspect,
            "cast_emoji": cast_hex, "subject_emoji": subject_hex, "voice_backend": getattr(backend, "name", voice),
            "duration_s": total_s, "script_duration_s": float(sum(durs)), "credit": CREDIT}
    return StoryboardResult(frames=frames, fps=fps, audio=audio, sample_rate=SR, vtt=vtt, timeline=timeline,
                            stages_s={k: round(v, 3) for k, v in stages.items()}, stems=stems, info=info)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return x[:, :n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))
