"""Captions: WebVTT text and burned-in lower-third cards."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from generation.storyboard.scenes import font, wrap


@dataclass
class Cue:
    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    kind: str = "narration"


def _ts(t: float) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "->")


def vtt(cues: list[Cue]) -> str:
    out = ["WEBVTT", ""]
    for i, c in enumerate(cues, 1):
        body = _esc(" ".join(c.text.split()))
        if c.kind == "lyric":
            body = f"\u266a {body} \u266a"
        if c.speaker:
            body = f"<v {_esc(c.speaker)}>{body}"
        out += [str(i), f"{_ts(c.start_s)} --> {_ts(c.end_s)}", body, ""]
    return "\n".join(out)


SPEAKER_COLOURS = [(255, 214, 90), (130, 220, 255), (255, 150, 200), (170, 255, 160)]


def caption_image(cue: Cue, w: int, h: int, colour=None) -> Image.Image:
    """Rounded dark box, white outlined text, speaker name in colour; at most 3 rows."""
    unit = min(w, h)
    f = font(int(0.046 * unit))
    nf = font(int(0.034 * unit))
    max_w = w * 0.82
    rows = wrap(" ".join(cue.text.split()), f, max_w)
    if len(rows) > 3:
        rows = rows[:3]
        rows[-1] = rows[-1].rstrip(".,;") + "\u2026"
    row_h = int(0.062 * unit)
    name_h = int(0.045 * unit) if cue.speaker else 0
    pad = int(0.022 * unit)
    tw = max([f.getlength(r) for r in rows] + [nf.getlength(cue.speaker or "")])
    bw, bh = int(tw + 2 * pad + 8), int(len(rows) * row_h + name_h + 2 * pad)
    im = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([0, 0, bw - 1, bh - 1], radius=int(0.03 * unit), fill=(10, 10, 25, 165))
    y = pad
    if cue.speaker:
        d.text((bw / 2, y + name_h / 2), cue.speaker, font=nf, fill=colour or SPEAKER_COLOURS[0], anchor="mm")
        y += name_h
    fill = (255, 240, 200) if cue.kind == "lyric" else (255, 255, 255)
    for r in rows:
        d.text((bw / 2, y + row_h / 2), r, font=f, fill=fill, anchor="mm", stroke_width=max(1, int(0.004 * unit)),
               stroke_fill=(0, 0, 0))
        y += row_h
    return im


def burn(frame: Image.Image, cap: Image.Image, alpha: float = 1.0) -> None:
    """Paste a caption card centred at the lower third of the frame."""
    w, h = frame.size
    y = int(h * (0.86 if h >= w else 0.9) - cap.height / 2)
    y = min(y, h - cap.height - int(0.02 * h))
    if alpha < 1.0:
        cap = cap.copy()
        cap.putalpha(cap.getchannel("A").point(lambda v: int(v * alpha)))
    frame.paste(cap, ((w - cap.width) // 2, y), cap)
