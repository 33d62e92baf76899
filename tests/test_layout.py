"""The layout holds: the bottom layer imports no app above it, each external system has one
owner module, and no function outgrows a screen. Read from the source (every import,
module-level or local), not from sys.modules."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "config", "profiles", "generation", "feed", "ops")
# The bottom layer (infrastructure: storage, broker, clients' addresses, API plumbing) imports no
# app; the top (ops: dashboard, health, metrics, the commands that run the platform) is imported
# by none. The domain apps between them share models (an interaction is about a video) by design.
BOTTOM, TOP = "core", "ops"
# The one module that talks to each external system.
OWNERS = {
    "boto3": "core/storage.py", "botocore": "core/storage.py", "redis": "core/jobs.py", "pika": "core/jobs.py",
    "faiss": "profiles/vector_index.py", "onnxruntime": "profiles/embedding.py", "sentence_transformers": "profiles/embedding.py",
    "diffusers": ("generation/renderer.py", "generation/tiny.py"),  # tiny.py builds the test pipelines from config
    "av": "generation/encoding.py",
}


def _modules():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _imports(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_bottom_layer_imports_no_app_and_nothing_imports_the_top():
    wrong = []
    for path, tree in _modules():
        app = path.split("/")[0]
        for name in _imports(tree):
            top = name.split(".")[0]
            if app == BOTTOM and top in APPS and top not in (BOTTOM, "config"):
                wrong.append(f"{path} imports {name}: {BOTTOM}/ is the bottom layer")
            if top == TOP and app not in (TOP, "config"):
                wrong.append(f"{path} imports {name}: {TOP}/ is the top layer")
    assert not wrong, "\n".join(sorted(wrong))


def test_each_external_system_is_imported_in_one_module():
    wrong = []
    for path, tree in _modules():
        for name in _imports(tree):
            owner = OWNERS.get(name.split(".")[0])
            if owner is not None and path not in ((owner,) if isinstance(owner, str) else owner):
                wrong.append(f"{path} imports {name} (owner: {owner})")
    assert not wrong, "\n".join(sorted(wrong))


# Issue #15: no function over about 60 lines; a longer one is cut along its steps into named
# helpers. Tests and the tiny-pipeline builders (generation/tiny.py) are exempt.
FUNCTION_MAX_LINES = 60
EXEMPT = {"generation/tiny.py"}
# Top-level folders that are not project code: tests, and what runs leave behind.
NOT_PROJECT = {"tests", "var", "data", "test-artifacts", "node_modules"}


def _project_files():
    """Every .py file of the project's own code: no dot-dirs (.venv, .git), no virtual environment
    under any name, no migrations, caches or benchmark results."""
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [
            d for d in dirs
            if not d.startswith(".") and d not in ("__pycache__", "migrations", "node_modules")
            and not (here == ROOT and d in NOT_PROJECT)
            and not (here == ROOT / "bench" and d == "results")
            and not (here / d / "pyvenv.cfg").exists()
        ]
        for name in files:
            if name.endswith(".py"):
                path = here / name
                if path.relative_to(ROOT).as_posix() not in EXEMPT:
                    yield path


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in _project_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1  # from `def` to its last line
                if lines > FUNCTION_MAX_LINES:
                    long.append(f"{path.relative_to(ROOT).as_posix()}:{node.name} ({lines} lines)")
    assert not long, f"functions over {FUNCTION_MAX_LINES} lines (issue #15):\n" + "\n".join(sorted(long))
