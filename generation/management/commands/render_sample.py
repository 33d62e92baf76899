from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image

from generation.writing import script_write
from generation.writing.script import script_as_text


class Command(BaseCommand):
    help = ("Write a script for a brief and render it with the storyboard renderer: saves a contact sheet of "
            "frames (the README's picture), and with --mp4 the piece itself. Nothing is stored in the database.")

    def add_arguments(self, parser):
        parser.add_argument("--brief", default="a musical about garlic bread")
        parser.add_argument("--seed", type=int, default=3)
        parser.add_argument("--aspect", default="9:16", choices=["9:16", "16:9", "1:1"])
        parser.add_argument("--output", default="static/img/made-for-you.jpg", help="the frames, side by side (JPEG)")
        parser.add_argument("--mp4", default="", help="also write the piece here")

    def handle(self, *args, brief, seed, aspect, output, mp4, **options):
        from generation.encoding import mp4_write
        from generation.storyboard import render_script
        from profiles.embedding import embed_texts

        script = script_write(taste=embed_texts([brief], cache=False)[0], seed=seed, brief=brief, aspect=aspect)
        self.stdout.write(script_as_text(script))
        out = render_script(script, aspect=aspect, voice=settings.VOICE_BACKEND,
                            cache_dir=Path(settings.RENDER_MODEL_DIR) / "storyboard",
                            progress=lambda f: None)
        picks = [int(len(out.frames) * f) for f in (0.05, 0.3, 0.55, 0.8)]
        sheet = np.concatenate([out.frames[i] for i in picks], axis=1)
        image = Image.fromarray(sheet)
        image.thumbnail((1600, 1600))
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        image.save(output, quality=82)
        self.stdout.write(f"frames: {output} ({len(out.frames)} frames, {len(out.frames) / out.fps:.1f} s)")
        if mp4:
            mp4_write(Path(mp4), frames=out.frames, fps=out.fps, audio=out.audio, sample_rate=out.sample_rate)
            Path(mp4).with_suffix(".vtt").write_text(out.vtt)
            self.stdout.write(f"piece: {mp4} (+ .vtt)")
