"""Run one render job in this process, as a worker would, until done or killed (tests/test_render.py)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from generation.rendering import render_job_run  # noqa: E402

print(render_job_run(job_id=int(sys.argv[1])), flush=True)
