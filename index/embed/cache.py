"""The shared cache of model exports: one per model content and precision, made on first need."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from ..errors import CitebotError, IndexMismatchError, IndexWriteError, run_hint
from .base import Encoder, Notice
from .export import export_onnx
from .onnx import EXPORT_FORMAT, META_FILE, SESSIONS_DIR, OnnxEncoder, export_damage
from .reference import SentenceTransformerEncoder
from .resolve import model_fingerprint, read_json, resolve_model

log = logging.getLogger(__name__)


def export_dir(model_name: str, precision: str, cache_dir: Path) -> Path:
    """Where the ONNX export of a model at a precision lives in the shared cache: named by the hash of
    the model's whole content, so a changed model gets a new export instead of reusing a stale one,
    and every index folder that uses the same model shares one export."""
    resolved = resolve_model(model_name)
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(str(model_name)).name)[:60]
    return cache_dir / "exports" / f"{slug}-{precision}-{model_fingerprint(resolved, cache_dir)[:12]}"


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
    target, _ = ensure_export(model_name, precision, cache_dir, repair=repair, notice=notice)
    return OnnxEncoder(target, threads=threads, optimized_dir=cache_dir / SESSIONS_DIR)


def export_exists(model_name: str, precision: str, cache_dir: Path) -> bool:
    """Whether the shared cache holds a finished export of the model (its export.json is written last)."""
    try:
        return (export_dir(model_name, precision, cache_dir) / META_FILE).is_file()
    except (CitebotError, OSError):  # a model that cannot be found: loading it says why
        return False


def export_fingerprint(model_name: str, precision: str, cache_dir: Path) -> str:
    """The fingerprint an index built with the model's export at ``precision`` records (from the
    export's own metadata, made on first need as :func:`ensure_export` makes it; no session loaded)."""
    target, _ = ensure_export(model_name, precision, cache_dir)
    return str(read_json(target / META_FILE)["fingerprint"])


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
    target = export_dir(model_name, precision, cache_dir)
    meta = read_json(target / META_FILE)
    damage = export_damage(target, meta, full=repair) if meta.get("format") == EXPORT_FORMAT else "missing"
    if not damage:
        return target, False
    if damage != "missing" and not repair:
        raise IndexMismatchError(f"the model export in {target} is damaged ({damage}); {run_hint()} to repair it")
    if damage != "missing":
        log.warning("the model export in %s is damaged (%s); exporting it again", target, damage)
    (notice or log.info)(
        f"preparing the model {model_name} for first use (a one-time ONNX export, about 20 s) in {target.parent}"
    )
    _export(model_name, precision, target)
    return target, True


def _export(model_name: str, precision: str, target: Path) -> None:
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
