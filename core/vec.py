"""Vectors as they are kept in the database: little-endian float32 bytes, L2-normalised."""

from __future__ import annotations

import numpy as np


def normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype="<f4")


def stack(blobs) -> np.ndarray:
    rows = [from_bytes(b) for b in blobs]
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(rows)
