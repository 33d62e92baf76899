"""`make bench`: run each benchmark, print one JSON object per line, write bench/results/NAME.json.

Benchmarks run against a throwaway SQLite database and data dir, so they never touch a
real installation. `python -m bench NAME ...` runs a subset.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = tempfile.mkdtemp(prefix="tailor-bench-")
for var in ("DATABASE_URL", "DRAMATIQ_BROKER_URL", "USE_S3"):
    os.environ.pop(var, None)
os.environ["TAILOR_DATA_DIR"] = DATA
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench import benchmarks  # noqa: E402


def main(names: list[str]) -> int:
    call_command("migrate", verbosity=0)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    selected = names or list(benchmarks.ALL)
    unknown = [n for n in selected if n not in benchmarks.ALL]
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}; known: {', '.join(benchmarks.ALL)}", file=sys.stderr)
        return 2
    for name in selected:
        started = time.perf_counter()
        result = {"benchmark": name, "cpu_count": os.cpu_count(), **benchmarks.ALL[name]()}
        result["wall_s"] = round(time.perf_counter() - started, 2)
        line = json.dumps(result, sort_keys=False)
        print(line, flush=True)
        (results_dir / f"{name}.json").write_text(line + "\n")
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    finally:
        if not os.environ.get("BENCH_KEEP_DATA"):  # a 1M-video run leaves ~4 GB behind otherwise
            import shutil

            shutil.rmtree(DATA, ignore_errors=True)
    sys.exit(code)
