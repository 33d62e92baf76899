"""bench/movielens.py: MovieLens files (GroupLens's or RecBole's copy) into the import files."""

import json

from django.core.management import call_command

from bench.movielens import convert
from generation.models import Video
from profiles.models import Interaction


def test_recbole_files_convert_and_import(db, tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation Children's Comedy\n2\tGoldenEye\t1995\tAction Adventure Thriller\n"
        "3\tunkonwn\tunkonwn\t\n", encoding="latin-1")
    (raw / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "7\t1\t5\t881250949\n7\t2\t2\t881250950\n8\t2\t3\t881250951\n", encoding="latin-1")
    assert convert(raw, tmp_path / "out") == (3, 3)
    catalog = [json.loads(line) for line in (tmp_path / "out" / "catalog.jsonl").read_text().splitlines()]
    assert catalog[0]["title"] == "Toy Story (1995)" and catalog[0]["tags"] == ["Animation", "Children's", "Comedy"]
    assert catalog[2]["title"] == "unkonwn"  # RecBole's own spelling of a missing title, kept as it is

    call_command("import_catalog", str(tmp_path / "out" / "catalog.jsonl"))
    call_command("import_interactions", str(tmp_path / "out" / "interactions.jsonl"))
    capsys.readouterr()
    rows = {(e, v, k) for e, v, k in Interaction.objects.values_list("user__profile__external_id", "video__external_id", "kind")}
    assert rows == {("7", "ml-1", "like"), ("7", "ml-2", "dislike"), ("8", "ml-2", "view")}, rows
    assert Video.objects.get(external_id="ml-2").negatives == 1
