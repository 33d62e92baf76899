"""Scripts rendered end to end: the storyboard model (the CPU default: frames, a Piper voice,
captions, music), and a diffusion model shot by shot, through the real jobs, the configured
broker and storage (local disk, or SeaweedFS S3 in CI)."""

from __future__ import annotations

import functools
import io
import re

import av
import numpy as np
import pytest

from core import storage
from generation import renderer
from generation.encoding import mp4_probe
from generation.models import RenderJob
from generation.rendering import render_job_create, render_job_run
from generation.writing import script_prompt, script_write
from profiles.embedding import embed_texts

pytestmark = pytest.mark.django_db(transaction=True)


def _script(brief: str, *, seed: int = 3, aspect: str = "9:16", duration_s: float | None = None) -> dict:
    taste = embed_texts([brief])[0]
    return script_write(taste=taste, seed=seed, brief=brief, aspect=aspect, duration_s=duration_s, candidates=2)


def _queue(script: dict, *, model: str, user=None, **params) -> RenderJob:
    spec = renderer.model_spec(model)
    job, _ = render_job_create(prompt=script_prompt(script), seed=script["seed"], model=model, user=user, script=script,
                               title=script["title"], params={**renderer.aspect_size(spec, script["aspect"]), **params})
    return job


def _cues(vtt: str) -> list[tuple[float, float]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":") if stamp.count(":") == 2 else ("0", *stamp.split(":"))
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [(seconds(a), seconds(b)) for a, b in re.findall(r"([\d:.]+) --> ([\d:.]+)", vtt)]


def _audio(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray() for frame in container.decode(stream)]
        return np.concatenate(chunks, axis=1).mean(axis=0), stream.codec_context.sample_rate


def test_a_musical_renders_as_a_storyboard_with_voice_captions_and_music(make_user):
    viewer = make_user()
    script = _script("a musical about garlic bread")
    assert script["format"] == "musical" and "garlic bread" in script["title"].lower()
    job = _queue(script, model="storyboard", user=viewer)
    assert job.script["title"] == script["title"] and (job.params["width"], job.params["height"]) == (540, 960)
    assert render_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    video = job.video
    assert job.state == RenderJob.State.READY and video.script == job.script

    # H.264 at 540x960 and AAC, as long as the script says (8-30 s).
    data = storage.media_read(video.video_key)
    streams = mp4_probe(io.BytesIO(data))["streams"]
    assert streams["video"]["codec"] == "h264" and (streams["video"]["width"], streams["video"]["height"]) == (540, 960)
    assert 12 <= streams["video"]["fps"] <= 24 and streams["audio"]["codec"] == "aac"
    assert 8.0 <= video.duration_s <= 30.0 and streams["audio"]["duration_s"] == pytest.approx(video.duration_s, abs=0.15)

    # The captions sit beside the MP4 under the same stem, one cue per line, inside the audio.
    assert video.captions_key == video.video_key.rsplit(".", 1)[0] + ".vtt"
    vtt = storage.media_read(video.captions_key).decode()
    cues = _cues(vtt)
    assert vtt.startswith("WEBVTT") and len(cues) == len(script["lines"])
    assert all(0 <= a < b <= streams["audio"]["duration_s"] + 0.05 for a, b in cues), cues

    # Speech is where the lines are: the mix is clearly louder inside the cues (voice over ducked
    # music) than in the gaps between them (music alone).
    audio, rate = _audio(data)

    def rms(a: float, b: float) -> float:
        part = audio[int(a * rate): int(b * rate)]
        return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0

    inside = np.mean([rms(a, b) for a, b in cues])
    gaps = [(b + 0.2, a2 - 0.05) for (_, b), (a2, _) in zip(cues, cues[1:]) if a2 - b > 0.5]
    gaps.append((0.0, max(0.3, cues[0][0] - 0.1)))  # the title card, before the first line
    outside = np.mean([rms(a, b) for a, b in gaps])
    assert inside > 1.3 * outside, (inside, outside)

    # The frames move: the first and middle frames differ, and neither is a flat colour.
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    first, middle = frames[0].astype(float), frames[len(frames) // 2].astype(float)
    assert first.std() > 10 and middle.std() > 10 and np.abs(first - middle).mean() > 5


@pytest.mark.parametrize("aspect, size", [("16:9", (960, 540)), ("1:1", (720, 720))])
def test_other_aspects(aspect, size, settings):
    settings.VOICE_BACKEND = "tone"  # the aspect is what this test is about; the voice has its own
    job = _queue(_script("a documentary about snow leopards", aspect=aspect, duration_s=8.0), model="storyboard")
    assert render_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    streams = mp4_probe(io.BytesIO(storage.media_read(job.video.video_key)))["streams"]
    assert (streams["video"]["width"], streams["video"]["height"]) == size


def test_a_failure_in_the_voice_stage_retries_the_job_like_any_other(settings, tmp_path):
    settings.VOICE_BACKEND = f"piper:{tmp_path / 'missing-voice.onnx'}"
    job = _queue(_script("a short film about a lighthouse keeper", duration_s=8.0), model="storyboard")
    with pytest.raises(Exception, match="voice|model|onnx"):
        render_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == RenderJob.State.QUEUED and job.attempts == 1 and "Voice" in job.error  # back in the queue
    settings.VOICE_BACKEND = "tone"
    assert render_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.state == RenderJob.State.READY and job.attempts == 2


def test_a_script_on_a_diffusion_model_is_one_call_per_shot_and_the_shots_add_up(settings, monkeypatch):
    """Tiny random-weight Wan, loaded with from_pretrained like real weights: N shots give N pipeline
    calls (two jobs' same shots share one), the clips fill their shots' slots, and the script's
    soundtrack and captions come with them."""
    settings.VOICE_BACKEND = "tone"
    spec = renderer.model_spec("tiny-wan")
    pipe = renderer.pipeline_load(spec)
    calls = []
    real_call = type(pipe).__call__

    @functools.wraps(real_call)  # the same signature: the renderer passes what the pipeline takes
    def counted(self, *args, **kwargs):
        calls.append((len(kwargs["prompt"]), kwargs["num_frames"], list(kwargs["prompt"])))
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", counted)
    scripts = [_script("a short film about a lighthouse keeper", seed=n, duration_s=9.0) for n in (1, 2)]
    params = renderer.params_for(spec, {})
    items = [renderer.RenderInput(prompt=script_prompt(s), negative="", sound="", seed=s["seed"], script=s) for s in scripts]
    outputs = renderer.render_batch(spec, params, items, lambda f: {0, 1})
    shots = [len(s["shots"]) for s in scripts]
    # One call per (shot, frame count); a call never holds more jobs than there are.
    assert shots[0] <= len(calls) <= sum(shots) and sum(n for n, _, _ in calls) == sum(shots)
    prompts = [p for _, _, batch in calls for p in batch]
    for script in scripts:
        for shot in script["shots"]:
            assert shot["prompt"] in prompts
            for character in shot["characters"]:  # the cast's look goes into every shot that shows them
                look = next(c["look"] for c in script["cast"] if c["id"] == character)
                assert look in shot["prompt"]
    from generation.storyboard import render_script

    for script, out in zip(scripts, outputs):
        duration = len(out.frames) / out.fps
        assert out.frames.shape[1:] == (params["height"], params["width"], 3)
        # The shots fill the soundtrack's timeline: the script's lengths, or longer where a line needs it.
        track = render_script(script, draw=False, voice="tone", burn_captions=False)
        slots = [t["end_s"] - t["start_s"] for t in track.timeline if "line" not in t]
        assert len(slots) == len(script["shots"]) and all(a >= b - 0.05 for a, b in zip(slots, (s["duration_s"] for s in script["shots"])))
        assert duration == pytest.approx(sum(slots), abs=len(slots) / out.fps)
        assert out.audio.shape[1] == pytest.approx(duration * out.sample_rate, abs=out.sample_rate * 0.05)
        assert out.captions.startswith("WEBVTT") and len(_cues(out.captions)) == len(script["lines"])


def test_make_me_something_takes_an_aspect_and_an_answer_makes_the_next_episode(make_user, settings):
    """Through the API: a 16:9 request; then the viewer answers the piece in one line, and the
    answer is the brief of its next episode, with the same cast (names, looks, voices, seeds)."""
    from generation.models import Video
    from tests.test_api import api_for

    settings.VOICE_BACKEND, settings.RENDER_MODEL = "tone", "storyboard"
    viewer, other = make_user(), make_user()
    api = api_for(viewer)
    first = api.post("/api/v1/renders", {"brief": "a short film about a lighthouse keeper", "aspect": "16:9"}, format="json")
    assert first.status_code == 202, first.content
    body = first.json()
    assert body["script"]["aspect"] == "16:9" and body["script"]["title"]
    job = RenderJob.objects.get(pk=body["id"])
    assert (job.params["width"], job.params["height"]) == (960, 540)
    assert render_job_run(job_id=job.pk) == "done"
    video = Video.objects.get(render_job=job)
    detail = api.get(f"/api/v1/videos/{video.pk}").json()
    assert detail["script"]["title"] == video.script["title"] and detail["captions_url"]

    answer = api.post("/api/v1/renders", {"brief": "what was in the lighthouse?", "after": video.pk}, format="json")
    assert answer.status_code == 202, answer.content
    episode = answer.json()["script"]
    assert episode["series"]["episode"] == 2 and video.script["logline"] in episode["series"]["previously"]
    keep = ("id", "name", "look", "voice", "seed")
    assert [{k: c[k] for k in keep} for c in episode["cast"]] == [{k: c[k] for k in keep} for c in video.script["cast"]]
    assert "Episode 2" in episode["title"] and episode["aspect"] == "16:9"
    # Another viewer cannot continue a private piece they cannot see.
    assert api_for(other).post("/api/v1/renders", {"after": video.pk}, format="json").status_code == 404
    assert api.post("/api/v1/renders", {"aspect": "4:3"}, format="json").status_code == 400


def test_a_cancelled_storyboard_stops_rendering(settings):
    settings.VOICE_BACKEND = "tone"
    script = _script("a documentary about snow leopards", duration_s=8.0)
    spec = renderer.model_spec("storyboard")
    item = renderer.RenderInput(prompt=script_prompt(script), negative="", sound="", seed=1, script=script)
    seen = []

    def progress(fraction):
        seen.append(fraction)
        return set() if fraction > 0.3 else {0}  # the viewer cancels a third of the way in

    with pytest.raises(renderer.Cancelled):
        renderer.render_batch(spec, renderer.params_for(spec, {}), [item], progress)
    assert seen and max(seen) < 0.6  # it stopped soon after, not at the end


def test_a_script_the_writer_accepts_is_one_the_job_accepts(make_user, settings):
    """The writer passes over drafts the safety check refuses; it must read them exactly as the
    job's own check does (prompt, sound and every text, cut into the same sentences), or a
    draft it accepted is refused when queued and the viewer gets a 400 for a benign brief."""
    from generation.planning import render_request_for_user

    settings.RENDER_DAILY_QUOTA = 100
    viewer = make_user()
    briefs = ["a short film about a lighthouse keeper", "a ghost story for a stormy night", "a kid who is scared of the dark",
              "a documentary about owls", "a musical about garlic bread", "a lullaby for a sleepy town"]
    for n in range(24):
        job, created = render_request_for_user(user=viewer, brief=f"{briefs[n % len(briefs)]}{' ' * (n // len(briefs))}")
        assert created and job.state == RenderJob.State.QUEUED
        RenderJob.objects.filter(pk=job.pk).update(state=RenderJob.State.CANCELLED)  # the next request is a new seed
