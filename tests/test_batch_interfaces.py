"""import_catalog, import_interactions and recommend, as DESIGN.md specifies them."""

import json

import pytest
from django.core.management import call_command

from feed.services import feed_page_serve
from generation.models import Video
from profiles.models import Interaction, Profile

CATALOG_LINES = [
    {"external_id": "c1", "title": "Garlic bread in 20 minutes", "description": "A home cook bakes bread", "tags": ["cooking"]},
    {"external_id": "c2", "title": "Perfect carbonara", "description": "Pasta with eggs and pecorino", "tags": ["cooking"], "created_at": 1700000000},
    "not json at all",
    {"external_id": "c3", "title": "", "tags": ["x"]},
    {"external_id": "s1", "title": "Europa station", "description": "Science fiction short film about astronauts", "tags": ["scifi"], "created_at": "2024-05-01T10:00:00Z"},
    {"external_id": "s2", "title": "Generation ship", "description": "Sci-fi crew wakes among the stars", "tags": "scifi"},
    {"external_id": "s3", "title": "Mars colony", "description": "Robots on the red planet, science fiction", "video_url": "ftp://x"},
    {"external_id": "s4", "title": "Wormhole gate", "description": "A spaceship crew travels through time", "tags": ["scifi"], "video_url": "https://cdn.example/s4.mp4"},
    {"external_id": "g1", "title": "Growing tomatoes", "description": "Gardening on a balcony", "tags": ["garden"]},
]


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(path)


@pytest.fixture
def imported(db, tmp_path, capsys):
    call_command("import_catalog", write_jsonl(tmp_path / "catalog.jsonl", CATALOG_LINES))
    return capsys.readouterr()


def test_import_catalog_keeps_good_lines_and_names_bad_ones(imported, tmp_path, capsys):
    assert sorted(Video.objects.values_list("external_id", flat=True)) == ["c1", "c2", "g1", "s1", "s4"]
    assert "line 3: not valid JSON" in imported.err
    assert "line 4: title: required" in imported.err
    assert "line 6: tags: must be a list" in imported.err
    assert "line 7: video_url: must be an http(s) URL" in imported.err
    assert "5 created" in imported.out and "4 rejected" in imported.out
    assert Video.objects.filter(embedded_at__isnull=True).count() == 0
    assert Video.objects.get(external_id="c2").created_at.timestamp() == 1700000000
    # Idempotent: the same file again creates and changes nothing.
    call_command("import_catalog", write_jsonl(tmp_path / "catalog.jsonl", CATALOG_LINES))
    again = capsys.readouterr().out
    assert "0 created, 0 updated, 5 unchanged" in again
    assert Video.objects.count() == 5


def test_import_interactions_creates_users_and_is_idempotent(imported, tmp_path, capsys):
    rows = [
        {"user": "u1", "item": "c1", "kind": "like", "timestamp": 1700000100},
        {"user": "u1", "item": "c2", "kind": "view", "value": 30, "timestamp": "2024-01-01T00:00:00Z"},
        {"user": "u1", "item": "nope", "kind": "like", "timestamp": 1700000200},
        {"user": "u2", "item": "s1", "kind": "love", "timestamp": 1700000300},
        {"user": "u2", "item": "s1", "kind": "like"},
        {"user": 7, "item": "s4", "kind": "share", "timestamp": 1700000400},
        {"user": "u2", "item": "g1", "kind": "dislike", "timestamp": 1700000500, "extra": 1},
    ]
    path = write_jsonl(tmp_path / "events.jsonl", rows)
    call_command("import_interactions", path)
    out = capsys.readouterr()
    assert "line 3: item: no video with external_id 'nope'" in out.err
    assert "line 4: kind: must be one of" in out.err
    assert "line 5: timestamp: must be epoch seconds or an ISO 8601 time" in out.err
    assert "line 7: unknown field(s) extra" in out.err
    assert Interaction.objects.count() == 3
    assert set(Profile.objects.values_list("external_id", flat=True)) >= {"u1", "7"}
    first = Interaction.objects.get(user__profile__external_id="u1", kind="like")
    assert first.created_at.timestamp() == 1700000100
    # The co-engagement table follows the import: u1's like and view of c1 and c2 link them.
    from feed.collaborative import neighbours

    c1, c2 = (Video.objects.get(external_id=e).pk for e in ("c1", "c2"))
    assert c2 in neighbours().of(c1)[0]
    # Two viewers are too few to fit the ranking to: the defaults stay, and the import says why.
    assert "ranking weights: not fitted (0 viewers with three positives, 50 needed)" in out.out
    assert out.out.count("long-term model (EASE)") == 1
    call_command("import_interactions", path)
    assert "0 created" in capsys.readouterr().out and Interaction.objects.count() == 3


def test_import_interactions_fits_the_ranking_to_a_history_large_enough(imported, tmp_path, capsys, settings):
    from feed import ranking

    settings.FEED_FIT_MIN_VIEWERS = 4
    items = ["c1", "c2", "s1", "s4", "g1"]
    rows = [{"user": f"v{n}", "item": items[(n + step) % 5], "kind": "like", "timestamp": 1700000000 + 10 * n + step}
            for n in range(6) for step in range(4)]
    path = write_jsonl(tmp_path / "events.jsonl", rows)
    call_command("import_interactions", "--no-fit", path)
    assert "ranking weights" not in capsys.readouterr().out
    # A history too large to rebuild in memory is left to fit_ranker on a replica.
    settings.FEED_FIT_MAX_EVENTS = 10
    Interaction.objects.all().delete()
    call_command("import_interactions", path)
    assert "ranking weights: not fitted (24 events, over TAILOR_FEED_FIT_MAX_EVENTS" in capsys.readouterr().out
    settings.FEED_FIT_MAX_EVENTS = 1000
    assert not (settings.DATA_DIR / "ranker_weights.json").exists()
    assert ranking.current_weights() == ranking.WEIGHTS

    Interaction.objects.all().delete()
    call_command("import_interactions", path)
    out = capsys.readouterr().out
    assert "ranking weights: fitting on 6 viewers' validation split" in out
    assert "ranking weights fitted: validation HR@10" in out and ", test HR@10" in out
    assert out.count("long-term model (EASE)") == 1 and "videos, lambda" in out  # refitted once, after the fit
    fit = json.loads((settings.DATA_DIR / "ranker_weights.json").read_text())
    assert ranking.current_weights() == {**ranking.WEIGHTS, **fit["weights"]}
    # The same file again adds nothing, so nothing is refitted.
    stamp = (settings.DATA_DIR / "ranker_weights.json").stat().st_mtime_ns
    call_command("import_interactions", path)
    assert "0 created" in (out := capsys.readouterr().out) and "ranking weights" not in out
    assert (settings.DATA_DIR / "ranker_weights.json").stat().st_mtime_ns == stamp


def test_recommend_matches_the_feed_and_excludes_seen(imported, tmp_path, capsys):
    call_command("import_interactions", write_jsonl(tmp_path / "e.jsonl", [
        {"user": "fan", "item": "s1", "kind": "like", "timestamp": 1700000000},
        {"user": "fan", "item": "c1", "kind": "view", "timestamp": 1700000001},
    ]))
    (tmp_path / "users.txt").write_text("fan\nstranger\n")
    out_path = tmp_path / "recs.jsonl"
    call_command("recommend", "--k", "3", "--users", str(tmp_path / "users.txt"), "--output", str(out_path))
    recs = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert [r["user"] for r in recs] == ["fan", "stranger"]
    fan = recs[0]["items"]
    assert len(fan) == 3 and "s1" not in fan and "c1" not in fan
    assert fan[0] == "s4"  # the other sci-fi video comes first
    assert len(recs[1]["items"]) == 3  # an unknown user gets the cold-start ranking
    user = Profile.objects.get(external_id="fan").user
    page = feed_page_serve(user=user, size=3)
    assert [i.video.external_id for i in page.items] == fan
