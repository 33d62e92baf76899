"""MovieLens files (ml-100k or ml-latest-small, fetched by hand: the licence forbids shipping
them) as the JSON Lines that `import_catalog` and `import_interactions` read.

    python -m bench.movielens DIR OUT_DIR   # writes OUT_DIR/catalog.jsonl, OUT_DIR/interactions.jsonl

A rating of 4 or more is a like, 2 or less a dislike, and the rest a view carrying the rating
as its value: every rating is an exposure, only the high ones a positive. Catalogue rows are
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
    catalog, events = ml100k(root) if (root / "u.data").exists() else ml_latest(root)
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
    items, n = convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"items": items, "events": n, "out": sys.argv[2]}))
