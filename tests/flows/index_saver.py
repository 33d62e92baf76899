"""Save one index over and over, bumping its generation, until killed (tests/test_index.py)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from profiles.vector_index import VectorIndex, Watermark  # noqa: E402

directory, n, dim = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
index = VectorIndex("crash", dim, directory)
index.replace_all(np.arange(n), rng.standard_normal((n, dim)).astype(np.float32), Watermark(0, 0.0))
generation = 0
while True:
    generation += 1
    # Each generation adds one vector, so a loaded index tells which save it came from.
    index.upsert(np.array([n + generation]), rng.standard_normal((1, dim)).astype(np.float32))
    index.watermark = Watermark(count=generation, last=float(generation))
    index.save()
    print(generation, flush=True)
