"""The one module that owns diffusers: model presets, pipeline loading, and batched renders.

A model is a named preset (below) or one configured in TAILOR_RENDER_MODELS: a model id
or local path, a pipeline class, and default frames, size, steps and fps. Device and dtype
are explicit: CUDA with bfloat16 when a GPU is there, else the CPU in float32. Pipelines
are loaded once per worker process and kept warm. Nothing is downloaded: HF_HUB_OFFLINE is
on, so an id must already be in the local Hugging Face cache, or be a local path.

Every video gets sound: a model that makes its own (LTX-2) returns it with the frames;
for a silent model, a text-to-audio pipeline renders the soundtrack from the prompt's
sound description.

A job with a script (generation/writing/script.py) renders shot by shot: the storyboard
model (the CPU default, generation/storyboard/) draws and voices the whole piece itself; a
diffusion model renders each shot with one pipeline call (the same shot of several jobs in
one call where their frame counts agree), seeded by the shot's cast, and the pieces are
joined with the script's voice, captions and music mixed over (under a model's own sound).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("tailor.renderer")

STORYBOARD = "storyboard"  # the pipeline name of the built-in storyboard renderer
# Aspect ratios a viewer may ask for, as (width, height) of the storyboard's frames.
ASPECTS = {"9:16": (540, 960), "16:9": (960, 540), "1:1": (720, 720)}
# Defaults from each model card; a deployment overrides any field in TAILOR_RENDER_MODELS.
PRESETS: dict[str, dict] = {
    "tiny-wan": {"path": "tiny-wan", "pipeline": "WanPipeline", "frames": 9, "width": 64, "height": 64,
                 "steps": 4, "fps": 8, "guidance": 1.0, "audio": "tiny-audio", "extra": {"max_sequence_length": 64}},
    "tiny-audio": {"path": "tiny-audio", "pipeline": "StableAudioPipeline", "steps": 2, "guidance": 1.0},
    # Video and its own sound in one pipeline, as LTX-2 does (random weights, built from config).
    "tiny-ltx2": {"path": "tiny-ltx2", "pipeline": "LTX2Pipeline", "frames": 9, "width": 64, "height": 64,
                  "steps": 2, "fps": 8, "guidance": 1.0, "audio": "native", "extra": {"max_sequence_length": 16}},
    # The CPU default: composed vector scenes, a packaged Piper voice, captions and a music bed,
    # all from the job's script (generation/storyboard/). Width and height follow the aspect.
    "storyboard": {"path": "", "pipeline": STORYBOARD, "frames": 0, "width": 540, "height": 960, "steps": 1,
                   "fps": 15, "audio": "script", "batch": 1},
    "null": {"path": "", "pipeline": "generation.renderer.NullPipeline", "frames": 9, "width": 64, "height": 64,
             "steps": 1, "fps": 8, "audio": "null-audio", "batch": 1},
    "null-audio": {"path": "", "pipeline": "generation.renderer.NullAudioPipeline", "steps": 1},
    "wan2.1-t2v-1.3b": {"path": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "pipeline": "WanPipeline", "frames": 81,
                        "width": 832, "height": 480, "steps": 50, "fps": 16, "guidance": 5.0, "audio": "stable-audio-open"},
    "wan2.1-t2v-14b": {"path": "Wan-AI/Wan2.1-T2V-14B-Diffusers", "pipeline": "WanPipeline", "frames": 81,
                       "width": 1280, "height": 720, "steps": 50, "fps": 16, "guidance": 5.0, "audio": "stable-audio-open",
                       "offload": "model", "batch": 1},
    "wan2.2-ti2v-5b": {"path": "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "pipeline": "WanPipeline", "frames": 121,
                       "width": 1280, "height": 704, "steps": 50, "fps": 24, "guidance": 5.0, "audio": "stable-audio-open"},
    "ltx-2": {"path": "Lightricks/LTX-2", "pipeline": "LTX2Pipeline", "frames": 121, "width": 768, "height": 512,
              "steps": 40, "fps": 24, "guidance": 4.0, "audio": "native"},
    "cogvideox-2b": {"path": "THUDM/CogVideoX-2b", "pipeline": "CogVideoXPipeline", "frames": 49, "width": 720,
                     "height": 480, "steps": 50, "fps": 8, "guidance": 6.0, "audio": "stable-audio-open"},
    "cogvideox-5b": {"path": "THUDM/CogVideoX-5b", "pipeline": "CogVideoXPipeline", "frames": 49, "width": 720,
                     "height": 480, "steps": 50, "fps": 8, "guidance": 6.0, "audio": "stable-audio-open"},
    "stable-audio-open": {"path": "stabilityai/stable-audio-open-1.0", "pipeline": "StableAudioPipeline",
                          "steps": 100, "guidance": 7.0},
    "audioldm2": {"path": "cvssp/audioldm2", "pipeline": "AudioLDM2Pipeline", "steps": 100, "guidance": 3.5},
}
# What a job may override per request.
PARAMS = ("frames", "width", "height", "steps", "fps", "guidance")


class RenderError(Exception):
    """A render failed in a way a retry may fix (out of memory, a flaky device)."""


class ConfigurationError(RenderError):
    """The model is missing or misconfigured: retrying will not help."""


class Cancelled(Exception):
    """Every job in the batch was cancelled while it rendered."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: str
    pipeline: str
    frames: int = 0
    width: int = 0
    height: int = 0
    steps: int = 30
    fps: float = 8.0
    guidance: float = 1.0
    audio: str = ""  # "native", the name of an audio model, or "" for silence (never used for output)
    offload: str = ""  # "", "model" or "sequential" CPU offload on CUDA
    extra: dict = field(default_factory=dict)  # further keyword arguments for the pipeline call
    # Jobs rendered in one pipeline call (0: TAILOR_RENDER_BATCH_MAX). Batching pays where one clip
    # leaves the GPU underused; a model that fills its GPU alone, or has no compute to share, says 1.
    batch: int = 0

    @property
    def audio_model(self) -> str:
        """The separate text-to-audio model this one needs ("" for one that makes its own sound)."""
        return "" if self.audio in ("native", "script") else self.audio

    @property
    def batch_max(self) -> int:
        return max(1, min(self.batch or settings.RENDER_BATCH_MAX, settings.RENDER_BATCH_MAX))

    @property
    def location(self) -> str:
        """A local path (tiny pipelines live under RENDER_MODEL_DIR) or a hub id from the local cache."""
        if self.name.startswith("tiny-") and not Path(self.path).is_absolute():
            return str(Path(settings.RENDER_MODEL_DIR) / self.path)
        return self.path


def model_spec(name: str | None = None) -> ModelSpec:
    name = name or settings.RENDER_MODEL
    table = {**PRESETS, **{k: {**PRESETS.get(k, {}), **v} for k, v in settings.RENDER_MODELS.items()}}
    if name not in table:
        raise ConfigurationError(f"unknown render model {name!r}; known: {', '.join(sorted(table))}")
    fields = dict(table[name])
    known = {f for f in ModelSpec.__dataclass_fields__} - {"name"}
    unknown = set(fields) - known
    if unknown:
        raise ConfigurationError(f"render model {name!r} has unknown fields: {', '.join(sorted(unknown))}")
    if not fields.get("pipeline"):
        raise ConfigurationError(f"render model {name!r} names no pipeline class")
    return ModelSpec(name=name, **fields)


def params_for(spec: ModelSpec, overrides: dict | None = None) -> dict:
    """The full parameter set of a render: the model's defaults with validated overrides."""
    params = {k: getattr(spec, k) for k in PARAMS}
    for key, value in (overrides or {}).items():
        if key not in PARAMS:
            raise ValueError(f"unknown render parameter {key!r}; allowed: {', '.join(PARAMS)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"render parameter {key!r} must be a positive number")
        params[key] = type(params[key])(value) if params[key] else value
    multiple = 2 if spec.pipeline == STORYBOARD else 16  # H.264 needs even sizes; latent models need /16
    if params["width"] % multiple or params["height"] % multiple:
        raise ValueError(f"width and height must be multiples of {multiple}")
    return params


def aspect_size(spec: ModelSpec, aspect: str) -> dict:
    """Width and height for an aspect ratio: the storyboard's sizes, or the model's own pixel
    count reshaped (multiples of 16) for a diffusion model."""
    if aspect not in ASPECTS:
        raise ValueError(f"unknown aspect {aspect!r}; choose from {', '.join(ASPECTS)}")
    if spec.pipeline == STORYBOARD:
        width, height = ASPECTS[aspect]
        return {"width": width, "height": height}
    long, short = max(spec.width, spec.height), min(spec.width, spec.height)
    side = int(round((long * short) ** 0.5 / 16)) * 16
    width, height = {"9:16": (short, long), "16:9": (long, short), "1:1": (side, side)}[aspect]
    return {"width": width, "height": height}


def aspect_of(width: int, height: int) -> str:
    ratio = width / max(height, 1)
    return "16:9" if ratio > 1.2 else "9:16" if ratio < 0.83 else "1:1"


# --- 1. Loading: once per process, kept warm ------------------------------------------------
_pipelines: OrderedDict[str, object] = OrderedDict()  # least recently used first
_lock = threading.Lock()


def device_and_dtype():
    import torch

    want = settings.RENDER_DEVICE
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigurationError("TAILOR_RENDER_DEVICE=cuda but no CUDA device is available")
        return "cuda", torch.bfloat16
    return "cpu", torch.float32


def pipeline_class(name: str):
    if "." in name:
        return import_string(name)
    import diffusers

    try:
        return getattr(diffusers, name)
    except AttributeError:
        raise ConfigurationError(f"diffusers has no pipeline class {name!r}") from None


def pipeline_load(spec: ModelSpec):
    """The warm pipeline for this model, loaded on first use."""
    with _lock:
        if spec.name in _pipelines:
            _pipelines.move_to_end(spec.name)
            return _pipelines[spec.name]
        _evict(keep=settings.RENDER_WARM_MAX - 1)
        if spec.name.startswith("tiny-") and not Path(spec.location, "model_index.json").exists():
            from generation.tiny import build_tiny_pipelines

            build_tiny_pipelines(Path(settings.RENDER_MODEL_DIR))
        cls = pipeline_class(spec.pipeline)
        device, dtype = device_and_dtype()
        started = time.perf_counter()
        try:
            pipe = cls.from_pretrained(spec.location, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot load render model {spec.name!r} from {spec.location!r}: {exc}") from exc
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        if device == "cuda" and spec.offload == "model":
            pipe.enable_model_cpu_offload()
        elif device == "cuda" and spec.offload == "sequential":
            pipe.enable_sequential_cpu_offload()
        elif hasattr(pipe, "to"):
            pipe.to(device)
        logger.info("pipeline loaded model=%s class=%s device=%s dtype=%s s=%.2f",
                    spec.name, spec.pipeline, device, dtype, time.perf_counter() - started)
        _pipelines[spec.name] = pipe
        return pipe


def _evict(*, keep: int) -> None:
    """Drop the least recently used pipelines beyond `keep`, but never a model this worker
    advertises (TAILOR_WORKER_MODELS): a GPU holds only so many models."""
    pinned = set(settings.WORKER_MODELS)
    gone = [n for n in _pipelines if n not in pinned][: max(0, len(_pipelines) - max(keep, 0))]
    for name in gone:
        del _pipelines[name]
        logger.info("pipeline evicted model=%s", name)
    if gone:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # give the freed memory back before the next model loads


def loaded_models() -> list[str]:
    """The models this process keeps warm (GPU workers advertise them)."""
    return sorted(_pipelines)


# --- 2. Rendering: a batch of compatible jobs in one pipeline call --------------------------
@dataclass
class RenderInput:
    prompt: str
    negative: str
    sound: str
    seed: int
    script: dict | None = None  # shots, cast, lines and music; None renders the prompt as one clip


@dataclass
class RenderOutput:
    frames: np.ndarray  # (frames, height, width, 3) uint8
    fps: float
    audio: np.ndarray  # (channels, samples) float32 in [-1, 1]
    sample_rate: int
    captions: str = ""  # WebVTT, timed to the audio


# progress(fraction of the batch's work done) returns the positions still wanted; an empty
# set interrupts the pipeline.
Progress = Callable[[float], set]


# Arguments only some pipelines take (LTX-2's frame_rate, Stable Audio's audio_end_in_s, AudioLDM's
# audio_length_in_s): passed where accepted, dropped elsewhere. Any other argument a pipeline lacks
# is an error that names it, so a renamed argument or a mistyped `extra` setting cannot vanish.
OPTIONAL_ARGS = frozenset({"frame_rate", "audio_end_in_s", "audio_length_in_s"})


def _call(pipe, kwargs: dict) -> object:
    accepted = _accepted(type(pipe))
    if accepted is None:
        return pipe(**kwargs)
    unknown = sorted(k for k in kwargs if k not in accepted and k not in OPTIONAL_ARGS)
    if unknown:
        raise ConfigurationError(f"{type(pipe).__name__} takes no argument {', '.join(map(repr, unknown))} "
                                 "(check the model's extra settings)")
    return pipe(**{k: v for k, v in kwargs.items() if k in accepted})


@functools.cache
def _accepted(pipeline_class: type) -> frozenset | None:
    """The keyword arguments a pipeline class's __call__ takes (None: any)."""
    parameters = inspect.signature(pipeline_class.__call__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return frozenset(parameters)


def _generators(seeds: list[int], device: str):
    import torch

    return [torch.Generator(device="cpu" if device != "cuda" else device).manual_seed(int(s)) for s in seeds]


def render_batch(spec: ModelSpec, params: dict, items: list[RenderInput], progress: Progress) -> list[RenderOutput | None]:
    """Render every item; None for items cancelled while rendering. The storyboard draws each
    script itself; a diffusion model renders scripts shot by shot, and a bare prompt in one call."""
    if spec.pipeline == STORYBOARD:
        return _render_storyboards(params, items, progress)
    if items and all(i.script and i.script.get("shots") for i in items):
        return _render_shots(spec, params, items, progress)
    return _render_clips(spec, params, items, progress)


def _render_storyboards(params: dict, items: list[RenderInput], progress: Progress) -> list[RenderOutput | None]:
    from generation import storyboard

    results: list[RenderOutput | None] = []
    for pos, item in enumerate(items):
        if not item.script:
            raise ConfigurationError("the storyboard model renders scripts; this job has none")

        def report(fraction: float, pos=pos) -> None:
            if pos not in progress((pos + min(max(fraction, 0.0), 1.0)) / len(items)):
                raise storyboard.Interrupted()

        try:
            out = storyboard.render_script(
                item.script, aspect=aspect_of(int(params["width"]), int(params["height"])), fps=float(params["fps"]),
                burn_captions=settings.CAPTIONS_BURN, voice=settings.VOICE_BACKEND,
                cache_dir=Path(settings.RENDER_MODEL_DIR) / "storyboard", progress=report,
            )
        except storyboard.Interrupted:
            if len(items) == 1:
                raise Cancelled() from None
            results.append(None)
            continue
        results.append(RenderOutput(frames=out.frames, fps=out.fps, audio=out.audio, sample_rate=out.sample_rate,
                                    captions=out.vtt))
    return results


def shot_frames(duration_s: float, fps: float, limit: int) -> int:
    """Frames for a shot of this length: 4k+1 (what Wan, LTX and CogVideoX take), at most the model's own."""
    frames = max(5, int(round(duration_s * fps)))
    frames = (frames - 1) // 4 * 4 + 1
    return min(frames, limit) if limit else frames


def shot_seed(script: dict, index: int) -> int:
    """A shot with cast on screen uses its first character's fixed seed, so a character looks the
    same wherever they appear; other shots follow the script's seed."""
    shot = script["shots"][index]
    cast = {c["id"]: c for c in script.get("cast", [])}
    on_screen = [cast[c] for c in shot.get("characters", []) if c in cast]
    return int(on_screen[0]["seed"]) if on_screen else int(script.get("seed", 0)) + index


def _render_shots(spec: ModelSpec, params: dict, items: list[RenderInput], progress: Progress) -> list[RenderOutput | None]:
    """A script on a diffusion model, in numbered steps:
    1. The soundtrack first (voice, music, ambience, captions; generation/storyboard): its
       timeline says how long each shot lasts once its lines are placed.
    2. Each shot is one pipeline call with the shot's prompt (the cast's look text is in it) and
       the seed of its first character; the same shot of several jobs shares a call when their
       frame counts agree.
    3. Each clip is stretched to its slot, the shots are joined, and the soundtrack is laid over
       (over the model's own sound, for a model that makes it)."""
    from generation import storyboard

    fps = float(params["fps"])
    # 1. Soundtracks and the shot slots they set.
    tracks, slots = [], []
    for item in items:
        track = storyboard.render_script(item.script, fps=min(max(fps, 12.0), 24.0), burn_captions=False, draw=False,
                                         voice=settings.VOICE_BACKEND, cache_dir=Path(settings.RENDER_MODEL_DIR) / "storyboard")
        shots = sorted((t for t in track.timeline if "shot" in t and "line" not in t), key=lambda t: t["shot"])
        tracks.append(track)
        slots.append([t["end_s"] - t["start_s"] for t in shots])
    # 2. One call per shot (and frame count), shared by the jobs whose shot it is.
    calls: dict[tuple[int, int], list[int]] = {}
    for pos, item in enumerate(items):
        for index, slot in enumerate(slots[pos]):
            calls.setdefault((index, shot_frames(slot, fps, int(params["frames"]))), []).append(pos)
    clips: dict[tuple[int, int], RenderOutput] = {}
    wanted, done, total = set(range(len(items))), 0, sum(len(v) for v in calls.values())
    for (index, frames), members in sorted(calls.items()):
        members = [pos for pos in members if pos in wanted]
        if not members:
            continue
        batch = [RenderInput(prompt=items[pos].script["shots"][index]["prompt"], sound="",
                             negative=items[pos].script.get("negative") or items[pos].negative,
                             seed=shot_seed(items[pos].script, index)) for pos in members]

        def shot_progress(fraction: float, done=done, n=len(members)) -> set:
            return progress(0.95 * (done + fraction * n) / total)

        outputs = _render_clips(spec, {**params, "frames": frames}, batch, shot_progress, with_audio=spec.audio == "native")
        clips.update({(pos, index): out for pos, out in zip(members, outputs) if out is not None})
        done += len(members)
        wanted = progress(0.95 * done / total)
        if not wanted:
            raise Cancelled()
    # 3. Join each job's shots at their slots' lengths and lay the soundtrack over.
    results: list[RenderOutput | None] = []
    for pos, track in enumerate(tracks):
        if pos not in wanted or any((pos, index) not in clips for index in range(len(slots[pos]))):
            results.append(None)  # cancelled while its shots rendered
            continue
        shots = [clips[(pos, index)] for index in range(len(slots[pos]))]
        frames = np.concatenate([_stretch(c.frames, max(1, int(round(slot * fps)))) for c, slot in zip(shots, slots[pos])])
        audio = _fit(track.audio, len(frames) / fps, track.sample_rate)
        if spec.audio == "native":
            own = np.concatenate([_fit(c.audio, slot, c.sample_rate) for c, slot in zip(shots, slots[pos])], axis=1)
            audio = np.clip(audio + 0.5 * _fit(_resample(own, shots[0].sample_rate, track.sample_rate),
                                                 len(frames) / fps, track.sample_rate), -1.0, 1.0)
        results.append(RenderOutput(frames=frames, fps=fps, audio=audio, sample_rate=track.sample_rate, captions=track.vtt))
    progress(1.0)
    return results


def _stretch(frames: np.ndarray, n: int) -> np.ndarray:
    """A clip played at the speed that fills n frames (nearest frame, no interpolation)."""
    return frames[np.linspace(0, len(frames) - 1, n).round().astype(int)]


def _resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return audio
    n = int(round(audio.shape[1] * target / rate))
    x = np.linspace(0, audio.shape[1] - 1, n)
    channels = [np.interp(x, np.arange(audio.shape[1]), ch) for ch in audio]
    out = np.asarray(channels, dtype=np.float32)
    return np.repeat(out, 2, axis=0) if out.shape[0] == 1 else out


def _render_clips(spec: ModelSpec, params: dict, items: list[RenderInput], progress: Progress, *,
                  with_audio: bool = True) -> list[RenderOutput | None]:
    """Render every item in one pipeline call; None for items cancelled while rendering."""
    pipe = pipeline_load(spec)

    # 1. Video (and native audio) for the whole batch.
    out, wanted = _clips_video(pipe, spec, params, items, progress)
    if not wanted:
        raise Cancelled()
    frames = np.asarray(out.frames)
    frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8) if frames.dtype != np.uint8 else frames
    duration = int(params["frames"]) / float(params["fps"])

    # 2. Sound: from the video model itself, or a text-to-audio pipeline on the sound descriptions
    # (none here for a shot of a script: its soundtrack is made once for the joined shots).
    audios, rate = _clips_sound(pipe, spec, out, items, duration, with_audio=with_audio)
    progress(1.0)
    results: list[RenderOutput | None] = []
    for pos in range(len(items)):
        if pos not in wanted:
            results.append(None)
            continue
        results.append(RenderOutput(frames=frames[pos], fps=float(params["fps"]), audio=_fit(audios[pos], duration, rate),
                                    sample_rate=rate))
    return results


def _clips_video(pipe, spec: ModelSpec, params: dict, items: list[RenderInput], progress: Progress) -> tuple[object, set]:
    """The batch's pipeline call, and the positions still wanted when it returned."""
    import torch

    device, _ = device_and_dtype()
    steps = int(params["steps"])
    wanted = set(range(len(items)))
    audio_share = 0.2 if spec.audio_model else 0.0

    def on_step(pipeline, step, timestep, callback_kwargs):
        nonlocal wanted
        wanted = progress((1 - audio_share) * (step + 1) / steps)
        if not wanted:
            pipeline._interrupt = True  # the pipeline's own loop checks this before each step
        return {}

    with torch.inference_mode():
        out = _call(pipe, {
            "prompt": [i.prompt for i in items],
            "negative_prompt": [i.negative for i in items],
            "num_frames": int(params["frames"]),
            "height": int(params["height"]),
            "width": int(params["width"]),
            "num_inference_steps": steps,
            "guidance_scale": float(params["guidance"]),
            "frame_rate": float(params["fps"]),
            "generator": _generators([i.seed for i in items], device),
            "output_type": "np",
            "callback_on_step_end": on_step,
            **spec.extra,
        })
    return out, wanted


def _clips_sound(pipe, spec: ModelSpec, out, items: list[RenderInput], duration: float, *,
                 with_audio: bool) -> tuple[list[np.ndarray], int]:
    """Each clip's soundtrack and their sample rate."""
    if not with_audio and spec.audio != "native":
        return [np.zeros((1, 1), np.float32)] * len(items), 16000
    if spec.audio == "native":
        audio = getattr(out, "audio", None)
        if audio is None:
            raise ConfigurationError(f"model {spec.name!r} is marked audio=native but returned no audio")
        # The vocoder's output rate (pipe.audio_sampling_rate is the mel input rate, not this).
        return [_numpy(a) for a in audio], int(pipe.vocoder.config.output_sampling_rate)
    if spec.audio_model:
        return render_audio(model_spec(spec.audio_model), [i.sound or i.prompt for i in items],
                            [i.seed for i in items], duration)
    raise ConfigurationError(f"model {spec.name!r} has no audio: set audio to 'native' or an audio model")


def render_audio(spec: ModelSpec, descriptions: list[str], seeds: list[int], duration: float) -> tuple[list[np.ndarray], int]:
    """Soundtracks for these descriptions, at least `duration` seconds each, and their sample rate."""
    import torch

    pipe = pipeline_load(spec)
    device, _ = device_and_dtype()
    with torch.inference_mode():
        out = _call(pipe, {
            "prompt": descriptions,
            "negative_prompt": ["low quality, distorted"] * len(descriptions),
            "audio_end_in_s": max(duration, 1.0),
            "audio_length_in_s": max(duration, 1.0),
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            "generator": _generators(seeds, device),
            "output_type": "np",
            **spec.extra,
        })
    audios = [_numpy(a) for a in out.audios]
    audios = [a[None, :] if a.ndim == 1 else a for a in audios]
    rate = int(getattr(getattr(pipe, "vae", None), "sampling_rate", 0) or getattr(pipe, "sampling_rate", 0) or 16000)
    return audios, rate


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, maybe bfloat16 on a GPU
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _fit(audio: np.ndarray, duration: float, rate: int) -> np.ndarray:
    """Trim or pad (with silence) to exactly the video's duration; channels first."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.shape[0] > audio.shape[1]:
        audio = audio.T
    samples = int(round(duration * rate))
    audio = audio[:, :samples]
    if audio.shape[1] < samples:
        audio = np.pad(audio, ((0, 0), (0, samples - audio.shape[1])))
    return np.clip(np.nan_to_num(audio), -1.0, 1.0)


# --- Null pipelines: the platform without a model, for benchmarks of its own overhead -------
@dataclass
class _Out:
    frames: np.ndarray | None = None
    audios: np.ndarray | None = None


class NullPipeline:
    """Returns flat colour frames at once: measures queue, encode, upload and database cost."""

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        return cls()

    def __call__(self, *, prompt, num_frames, height, width, num_inference_steps, generator=None,
                 callback_on_step_end=None, **kwargs):
        self._interrupt = False
        for step in range(num_inference_steps):
            if self._interrupt:
                break
            if callback_on_step_end:
                callback_on_step_end(self, step, step, {})
        frames = np.zeros((len(prompt), num_frames, height, width, 3), np.float32)
        for n, text in enumerate(prompt):
            frames[n, ..., n % 3] = (zlib.crc32(text.encode()) % 255) / 255
        return _Out(frames=frames)


class NullAudioPipeline:
    """Quiet noise, the same for the same prompt, mono at 16 kHz as AudioLDM2 makes it: the smallest
    real soundtrack, beside the null video's 64x64 frames. Broadband like real sound: a pure tone
    is the AAC encoder's slow case (~3x the encode time); stereo costs the encoder ~1.7 ms more."""

    sampling_rate = 16000

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        return cls()

    def __call__(self, *, prompt, audio_end_in_s, **kwargs):
        samples = int(audio_end_in_s * self.sampling_rate)
        return _Out(audios=np.stack([
            0.05 * np.random.default_rng(zlib.crc32(text.encode())).standard_normal((1, samples), dtype=np.float32)
            for text in prompt
        ]))

