"""Storyboard renderer cost: CPU seconds per second of video, by stage, for a 15 s 540x960 script."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BENCH_SCRIPT = {
    "version": 1, "title": "Garlic Bread: The Musical", "logline": "A loaf of garlic bread sings its way out of the oven.",
    "format": "musical", "tone": "playful", "duration_s": 15.0, "aspect": "9:16",
    "world": {"subject": "garlic bread", "setting": "a cosy bakery kitchen"},
    "cast": [
        {"id": "c1", "name": "Gus", "role": "lead singer", "look": "a golden loaf of garlic bread with a tiny chef's hat",
         "voice": {"rate": 1.0, "pitch": 2.0}, "seed": 1234},
        {"id": "c2", "name": "Olive", "role": "the baker", "look": "a cheerful cat in an apron",
         "voice": {"rate": 1.1, "pitch": -3.0}, "seed": 7},
    ],
    "shots": [
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus rises in the oven", "camera": "push-in",
         "characters": ["c1"], "props": ["oven", "bread"], "transition": "dissolve", "prompt": "p"},
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus dances on the counter",
         "camera": "pan-right", "characters": ["c1", "c2"], "props": ["butter", "garlic"], "transition": "wipe",
         "prompt": "p"},
        {"duration_s": 3.5, "setting": "the bakery shop window", "action": "Olive cheers", "camera": "handheld",
         "characters": ["c2", "c1"], "props": ["cake"], "transition": "fade", "prompt": "p"},
        {"duration_s": 3.5, "setting": "a sunny street outside", "action": "Gus walks into town", "camera": "pull-out",
         "characters": ["c1"], "props": [], "transition": "cut", "prompt": "p"},
    ],
    "lines": [
        {"shot": 0, "kind": "narration", "speaker": None, "text": "In a little bakery, something is rising."},
        {"shot": 1, "kind": "lyric", "speaker": "c1", "text": "Butter and garlic, golden and bright", "beat": 0},
        {"shot": 2, "kind": "dialogue", "speaker": "c2", "text": "Gus, you are the best bread in town!"},
        {"shot": 3, "kind": "dialogue", "speaker": "c1", "text": "Take a bite!"},
    ],
    "music": {"genre": "broadway", "mood": "joyful", "tempo_bpm": 112, "key": "C major"},
    "sound": {"ambience": "kitchen bustle", "effects": ["oven ding"]},
    "negative": "blurry", "seed": 42, "series": None,
}


def storyboard() -> dict:
    """One full render with the real Piper voice (a fresh voice cache, so Piper really runs;
    the emoji raster cache is shared). Encoding is not included: the caller does it."""
    from generation.storyboard import render_script

    voice = os.environ.get("TAILOR_VOICE_BACKEND", "piper")
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        cache = Path(tmp)
        shared = Path(tempfile.gettempdir()) / "tailor-sb-bench-emoji"
        shared.mkdir(exist_ok=True)
        if (shared / "openmoji-256").exists():
            (cache / "openmoji-256").symlink_to(shared / "openmoji-256", target_is_directory=True)
        r = render_script(BENCH_SCRIPT, voice=voice, cache_dir=cache)
        if not (shared / "openmoji-256").exists() and (cache / "openmoji-256").is_dir():
            (cache / "openmoji-256").rename(shared / "openmoji-256")
    video_s = len(r.frames) / r.fps
    out = {"video_s": round(video_s, 2), "frames": len(r.frames), "width": r.frames.shape[2],
           "height": r.frames.shape[1], "fps": r.fps, "voice_backend": voice}
    for stage, cpu in r.stages_s.items():
        out[f"{stage}_cpu_s_per_video_s"] = round(cpu / video_s, 3)
    out["total_cpu_s_per_video_s"] = round(sum(r.stages_s.values()) / video_s, 3)
    out["lufs"] = round(r.info["lufs"], 2)
    # What an offline recogniser hears of each line in the final mix, and in the voice alone.
    from bench.listening import word_recall

    lines = [e for e in r.timeline if "line" in e]
    for name, audio in (("mix", r.audio), ("voice", r.stems["voice"])):
        recall = [word_recall(audio, r.sample_rate, e["start_s"] - 0.2, e["end_s"] + 0.2, BENCH_SCRIPT["lines"][e["line"]]["text"])
                  for e in lines]
        out[f"asr_word_recall_{name}"] = [round(x, 2) for x in recall]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(storyboard(), indent=1))
