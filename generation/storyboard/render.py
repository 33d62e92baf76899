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


@dataclass
class _Job:
    """What step 1 reads from the script (every value already checked), plus the voice of step 2."""
    script: dict
    aspect: str
    w: int
    h: int
    fps: float
    seed: int
    cache_dir: Path
    burn_captions: bool
    cast: dict[str, dict]
    shots: list[dict]
    world: dict
    durs: list[float]  # each shot's length as the script asks for it
    lines: list[dict]  # {"j", "shot", "kind", "speaker", "text", "beat"}
    backend: object = None  # step 2
    clips: list[np.ndarray] = field(default_factory=list)  # step 2: one mono clip per line


@dataclass
class _Timeline:
    """Step 3: where every shot and line sits, in seconds."""
    title_s: float
    shot_t: list[tuple[float, float]]
    line_t: dict[int, tuple[float, float]]
    total_s: float
    n_frames: int
    n_samp: int
    rows: list[dict]  # StoryboardResult.timeline


@dataclass
class _Plan:
    """Step 7: the stage, the emoji chosen and one plan per shot, for the frames of step 8."""
    index: object
    sprites: object
    stage: scenes.Stage
    cast_hex: dict[str, str]
    used: set[str]
    subject_hex: str | None
    shots: list[scenes.ShotPlan] = field(default_factory=list)
    title_img: Image.Image | None = None
    title_icons: list = field(default_factory=list)
    amp_of: object = None  # (char id, t) -> mouth/bounce amplitude
    singing_of: object = None  # (char id, t) -> singing?


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

    job = _read_script(script, aspect, fps, cache_dir, burn_captions)  # 1.
    report(0.01)
    c0 = _cpu()
    _voice(job, voice, voice_model)  # 2.
    stages["voice"] += _cpu() - c0
    report(0.1)
    tl = _timeline(job)  # 3.
    c0 = _cpu()
    music, amb, fx = _soundtrack(job, tl)  # 4.
    stages["music"] += _cpu() - c0
    c0 = _cpu()
    audio, loud, stems = _mix(job, tl, music, amb, fx)  # 5.
    cues, vtt, cap_imgs = _captions(job, tl)  # 6. (counted with the mix)
    stages["mix"] += _cpu() - c0
    report(0.2)
    if not draw:
        return StoryboardResult(frames=np.zeros((0, job.h, job.w, 3), np.uint8), fps=job.fps, audio=audio, sample_rate=SR,
                                vtt=vtt, timeline=tl.rows, stages_s={k: round(v, 3) for k, v in stages.items()},
                                stems=stems, info={"lufs": loud["lufs"], "duration_s": tl.total_s, "aspect": job.aspect})
    c0 = _cpu()
    plan = _shot_plans(job, tl)  # 7.
    frames = _frames(job, tl, plan, cues, cap_imgs, report)  # 8.
    stages["frames"] += _cpu() - c0
    report(1.0)

    info = {"lufs": loud["lufs"], "true_peak_db": loud["true_peak_db"], "size": (job.w, job.h), "aspect": job.aspect,
            "cast_emoji": plan.cast_hex, "subject_emoji": plan.subject_hex,
            "voice_backend": getattr(job.backend, "name", voice), "duration_s": tl.total_s,
            "script_duration_s": float(sum(job.durs)), "credit": CREDIT}
    return StoryboardResult(frames=frames, fps=job.fps, audio=audio, sample_rate=SR, vtt=vtt, timeline=tl.rows,
                            stages_s={k: round(v, 3) for k, v in stages.items()}, stems=stems, info=info)


# 1. read the script ------------------------------------------------------------------------------

def _read_script(script: dict, aspect: str | None, fps: float, cache_dir: Path | None, burn_captions: bool) -> _Job:
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
    return _Job(script, aspect, w, h, fps, seed, cache_dir, burn_captions, cast, shots, world, durs, lines)


# 2. voice -----------------------------------------------------------------------------------------

def _voice(job: _Job, voice: str, voice_model: Path | str | None) -> None:
    job.backend = backend = voice_backend(voice, model_path=voice_model, cache_dir=job.cache_dir)
    reqs = []
    for ln in job.lines:
        v = (job.cast.get(ln["speaker"]) or {}).get("voice") or NARRATOR if ln["speaker"] else NARRATOR
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
    job.clips = clips


# 3. timeline --------------------------------------------------------------------------------------

def _timeline(job: _Job) -> _Timeline:
    lines, clips, durs = job.lines, job.clips, job.durs
    beat_s = music_mod.beat_seconds(job.script.get("music") or {})
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
    n_frames = max(1, int(round(total_s * job.fps)))
    total_s = n_frames / job.fps
    shot_t[-1] = (shot_t[-1][0], total_s)
    n_samp = int(round(total_s * SR))
    timeline = [{"shot": k, "start_s": round(a, 3), "end_s": round(b, 3), **({"title_card_end_s": round(title_s, 3)} if k == 0 else {})}
                for k, (a, b) in enumerate(shot_t)]
    for i, ln in enumerate(lines):
        a, b = line_t[i]
        timeline.append({"line": ln["j"], "start_s": round(a, 3), "end_s": round(min(b, total_s), 3),
                         "speaker": ln["speaker"], "kind": ln["kind"], "shot": ln["shot"]})
    return _Timeline(title_s, shot_t, line_t, total_s, n_frames, n_samp, timeline)


# 4. music, ambience, effects -----------------------------------------------------------------------

def _soundtrack(job: _Job, tl: _Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    script, seed, n_samp, shot_t = job.script, job.seed, tl.n_samp, tl.shot_t
    music = music_mod.music_bed(script.get("music") or {}, tl.total_s, SR, seed, mood=script.get("tone", ""))
    music = _fit(music, n_samp)
    amb = _fit(music_mod.ambience(script.get("sound") or {}, job.world.get("setting", ""), tl.total_s, SR, seed), n_samp)
    fx = np.zeros((2, n_samp), np.float32)
    for e, name in enumerate(((script.get("sound") or {}).get("effects") or [])[:8]):
        kws = music_mod.effect_keywords(str(name))
        at = None
        for k, s in enumerate(job.shots):
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
    return music, amb, fx


# 5. speech stem and the mix -------------------------------------------------------------------------

def _mix(job: _Job, tl: _Timeline, music: np.ndarray, amb: np.ndarray, fx: np.ndarray):
    """-> (mastered audio, loudness figures, stems at mix level)"""
    cast = job.cast
    speech = np.zeros((2, tl.n_samp), np.float32)
    order = {cid: i for i, cid in enumerate(cast)}
    for i, ln in enumerate(job.lines):
        a, _ = tl.line_t[i]
        pan = 0.0 if not ln["speaker"] else 0.25 * (order[ln["speaker"]] - (len(cast) - 1) / 2)
        music_mod._add(speech, job.clips[i], int(round(a * SR)), pan=pan)
    env = mix_mod.speech_envelope(speech, SR)
    stems = {"voice": speech, "music": mix_mod.duck(music, env, 12.0) * 0.35,
             "ambience": mix_mod.duck(amb, env, 14.0) * 0.8, "effects": mix_mod.duck(fx, env, 8.0)}
    premix = stems["voice"] + stems["music"] + stems["ambience"] + stems["effects"]
    audio, loud = mix_mod.master(premix, SR)
    gain = float(np.sqrt(np.mean(audio ** 2)) / (np.sqrt(np.mean(premix ** 2)) + 1e-12))
    stems = {k: (v * gain).astype(np.float32) for k, v in stems.items()}
    return audio, loud, stems


# 6. captions ----------------------------------------------------------------------------------------

def _captions(job: _Job, tl: _Timeline):
    """-> (cues, WebVTT text, burn-in card per cue or [] when captions are not burnt in)"""
    cast, lines = job.cast, job.lines
    cues = []
    for i, ln in enumerate(lines):
        a, b = tl.line_t[i]
        name = (cast.get(ln["speaker"]) or {}).get("name") if ln["speaker"] else None
        cues.append(cap_mod.Cue(round(a, 3), round(min(b + 0.15, tl.total_s), 3), ln["text"], name, ln["kind"]))
    vtt = cap_mod.vtt(cues)
    colours = {cid: cap_mod.SPEAKER_COLOURS[i % len(cap_mod.SPEAKER_COLOURS)] for i, cid in enumerate(cast)}
    cap_imgs = ([cap_mod.caption_image(c, job.w, job.h, colours.get(ln["speaker"])) for c, ln in zip(cues, lines)]
                if job.burn_captions else [])
    return cues, vtt, cap_imgs


# 7. shot plans --------------------------------------------------------------------------------------

def _shot_plans(job: _Job, tl: _Timeline) -> _Plan:
    index = scenes.emoji_index()
    sprites = scenes.SpriteCache(job.cache_dir, index.svg_dir)
    stage = scenes.Stage(job.w, job.h, sprites, index, job.seed)
    cast_hex, used = _cast_emoji(job, index)
    subject_hex = index.lookup(str(job.world.get("subject", "")), exclude=used)
    plan = _Plan(index, sprites, stage, cast_hex, used, subject_hex)
    for k, s in enumerate(job.shots):
        plan.shots.append(_shot_plan(job, tl, plan, k, s))
    theme0 = scenes.theme_for(str(job.world.get("setting", "")))
    icons = [cast_hex[c] for c in job.cast][:3] or ([subject_hex] if subject_hex else ["1F3AC"])
    plan.title_img, plan.title_icons = scenes.title_card(
        stage, theme0, plan.shots[0].world, str(job.script.get("title") or "Untitled"),
        str(job.script.get("logline") or ""), CREDIT, icons, np.random.default_rng(job.seed + 99))
    plan.amp_of, plan.singing_of = _mouths(job, tl)
    return plan


def _cast_emoji(job: _Job, index) -> tuple[dict[str, str], set[str]]:
    """One distinct emoji per cast member: by its look, else its name and role, else a stock face."""
    cast_hex: dict[str, str] = {}
    used: set[str] = set()
    for n, (cid, c) in enumerate(job.cast.items()):
        hx = index.lookup(str(c.get("look", "")), exclude=used) or index.lookup(
            f"{c.get('name', '')} {c.get('role', '')}", exclude=used)
        if not hx:
            pool = [x for x in scenes.FALLBACK_CAST if x not in used and index.has(x)]
            hx = pool[(int(_num(c.get("seed"), n)) + n) % len(pool)] if pool else "1F642"
        cast_hex[cid] = hx
        used.add(hx)
    return cast_hex, used


def _shot_plan(job: _Job, tl: _Timeline, plan: _Plan, k: int, s: dict) -> scenes.ShotPlan:
    world, stage = job.world, plan.stage
    rng = np.random.default_rng(job.seed * 1009 + k)
    setting = str(s.get("setting") or world.get("setting") or "")
    theme = scenes.theme_for(setting)
    if theme is scenes.DEFAULT_THEME:
        theme = scenes.theme_for(str(world.get("setting", "")))
    extra = [x for x in (plan.index.lookup(setting, exclude=plan.used),) if x]
    bg = stage.background(theme, extra, rng)
    ids = [c for c in (s.get("characters") or []) if c in job.cast]
    if not ids:
        ids = list(dict.fromkeys(ln["speaker"] for ln in job.lines if ln["shot"] == k and ln["speaker"]))
    figs, size = _figures(job, plan, k, s, ids)
    if figs and ids:
        fx_, fy_ = np.mean([f.x for f in figs if not f.is_prop]), stage.feet_y - 0.6 * size
    else:
        fx_, fy_ = stage.W / 2, stage.feet_y - 0.2 * stage.unit
    a, b = tl.shot_t[k]
    cam = str(s.get("camera") or "static").lower()
    trans = str(s.get("transition") or "cut").lower()
    return scenes.ShotPlan(k, a, b, cam, trans if trans in scenes.TRANSITION_S else "dissolve",
                           str(s.get("action", "")), bg, figs, (float(fx_), float(fy_)),
                           jitter=rng.standard_normal((64, 3)))


def _figures(job: _Job, plan: _Plan, k: int, s: dict, ids: list[str]) -> tuple[list[scenes.Figure], float]:
    """Shot k's cast in a row on the floor, then up to 3 props; -> (figures, the cast's size)."""
    w, h, stage, index, cast_hex, used = job.w, job.h, plan.stage, plan.index, plan.cast_hex, plan.used
    figs = []
    n = len(ids)
    size = min((0.46 if h >= w else 0.4) * stage.unit, 0.74 * w / max(1, n)) if n else 0
    for i, cid in enumerate(ids):
        x = stage.W / 2 + (i - (n - 1) / 2) * min(0.8 * w / max(1, n), max(0.34 * w, 1.1 * size))
        figs.append(scenes.Figure(cast_hex[cid], index.items[cast_hex[cid]].kind if cast_hex[cid] in index.items else "object",
                                  cid, str(job.cast[cid].get("name", ""))[:24] or None, x,
                                  stage.feet_y + (0.02 * stage.unit if i % 2 else 0), size, phase=1.7 * i + 0.9 * k))
    prop_hex = []
    for p in (s.get("props") or [])[:6]:
        hx = index.lookup(str(p), exclude=used | set(prop_hex))
        if hx:
            prop_hex.append(hx)
    if plan.subject_hex and plan.subject_hex not in prop_hex and (not prop_hex or not ids):
        prop_hex.insert(0, plan.subject_hex)
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
    return figs, size


def _mouths(job: _Job, tl: _Timeline):
    """-> (amp_of, singing_of): (char id, t) -> mouth/bounce amplitude, and whether it sings."""
    fps, n_frames = job.fps, tl.n_frames
    # per-frame mouth/bounce amplitude for each speaking character, and who is singing when
    amp = {cid: np.zeros(n_frames + 2, np.float32) for cid in job.cast}
    sing = {cid: np.zeros(n_frames + 2, bool) for cid in job.cast}
    for i, ln in enumerate(job.lines):
        if not ln["speaker"]:
            continue
        a, _ = tl.line_t[i]
        e = envelope(job.clips[i], SR, fps)
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

    return amp_of, singing_of


# 8. frames ------------------------------------------------------------------------------------------

def _frames(job: _Job, tl: _Timeline, plan: _Plan, cues: list, cap_imgs: list, report) -> np.ndarray:
    fps, n_frames, shot_t, title_s = job.fps, tl.n_frames, tl.shot_t, tl.title_s
    stage, plans = plan.stage, plan.shots
    frames = np.empty((n_frames, job.h, job.w, 3), np.uint8)

    def shot_frame(k: int, tt: float) -> Image.Image:
        p = plans[k]
        cam = stage.camera(p, tt)
        im = stage.view(p.world, cam)
        stage.draw_figures(im, p, cam, tt, plan.amp_of, plan.singing_of)
        return im

    def title_frame(tt: float) -> Image.Image:
        s = 1.0 - 0.06 * min(1.0, tt / title_s)
        cam = (stage.W / 2, stage.H / 2, s, 0.0)
        im = stage.view(plan.title_img, cam)
        for hx, x, y, sz in plan.title_icons:
            bob = math.sin(6.283 * 1.2 * tt + x) * 0.04 * sz
            spr = plan.sprites.sized(hx, int(sz / s) // 2 * 2)
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
        if job.burn_captions:
            for ci, (a, b) in enumerate(cue_span):
                if a - 0.05 <= tt < b:
                    cap_mod.burn(im, cap_imgs[ci], alpha=min(1.0, (tt - a + 0.05) / 0.15))
                    break
        frames[fi] = np.asarray(im)
        if fi % step == 0:
            report(0.2 + 0.8 * fi / n_frames)
    return frames


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return x[:, :n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))
