from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from generation.tiny import build_tiny_pipelines


class Command(BaseCommand):
    help = ("Build the tiny random-weight video and audio pipelines from config and write them with "
            "save_pretrained (nothing is downloaded). Existing complete builds are kept.")

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", default=None, help="default: TAILOR_RENDER_MODEL_DIR")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, directory, seed, **options):
        paths = build_tiny_pipelines(Path(directory or settings.RENDER_MODEL_DIR), seed=seed)
        for name, path in paths.items():
            self.stdout.write(f"{name}: {path}")
