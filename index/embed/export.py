"""The one-time ONNX export of a sentence-transformers model: the only module that imports torch."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .onnx import EXPORT_FORMAT, META_FILE, ONNX_FILE, OUTPUT_NAME, QUANTIZE_MODES, TOKENIZER_FILE, file_sha256
from .resolve import model_fingerprint

log = logging.getLogger(__name__)

# Opset 17 has LayerNormalization as one op, which onnxruntime runs as one fused kernel; the legacy
# exporter and onnxruntime 1.32 both support it.
_OPSET = 17


def export_onnx(model_dir: Path, out_dir: Path, *, quantize: str | None = None) -> dict[str, Any]:
    """Export a sentence-transformers folder (Transformer + mean Pooling [+ Normalize]) to ONNX.

    The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the model has
    them), all int64 of shape (batch, seq) with both axes dynamic, and returns
    ``sentence_embedding``: float32 (batch, dim), mean-pooled over the attention mask and L2
    normalised. Pooling and normalisation are in the graph rather than in numpy because they match
    sentence-transformers to float rounding, and the session then hands back (batch, dim) instead
    of (batch, seq, dim) hidden states: less to copy out and nothing left for the caller to get wrong.

    This is the only function that imports torch and transformers. Everything is written to a
    temporary sibling of ``out_dir`` that replaces ``out_dir`` only once complete, so a crash or a
    kill leaves either the previous export or none, never half of one.

    Args:
        model_dir: A sentence-transformers model folder (config.json, model.safetensors,
            tokenizer.json, modules.json, 1_Pooling/config.json, sentence_bert_config.json).
        out_dir: Where the export goes: model.onnx, tokenizer.json and export.json.
        quantize: None for float32, or "int8" for onnxruntime dynamic quantisation (int8 weights
            per output channel, activations quantised per call) of the weight MatMuls.

    Returns:
        The metadata written to ``out_dir/export.json``.

    Raises:
        ValueError: Unknown quantize mode, or a model this exporter does not reproduce exactly
            (pooling other than mean, missing tokenizer.json).
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, not {quantize!r}")
    model_dir = Path(model_dir).resolve()
    out_dir = Path(out_dir).resolve()
    st_config = _read_sentence_transformers_config(model_dir)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never let transformers reach for the hub
    import onnx
    import onnxruntime
    import torch
    import transformers
    from transformers import AutoModel

    started = time.perf_counter()
    # Eager attention traces to plain MatMul/Softmax, which onnxruntime runs faster on this CPU than
    # the graph traced from SDPA (measured ~10%), and it is the pattern onnxruntime's fusions know.
    transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar in citebot's output
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", dtype=torch.float32)
    model.eval()
    input_names = ["input_ids", "attention_mask"]
    if model.config.type_vocab_size and "token_type_ids" in _forward_parameters(model):
        input_names.append("token_type_ids")
    wrapper = _pooled_wrapper(model, input_names).eval()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out_dir)
    # The pid in the name tells a later export whether this folder's writer is still alive.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    try:
        fp32_path = tmp / ("model.fp32.onnx" if quantize else ONNX_FILE)
        # Traced on a padded batch of 2 x 8 so the mask path is exercised; checked below on 3 x 13.
        trace_inputs = _dummy_inputs(torch, input_names, batch=2, seq=8, pad_last=3)
        dynamic = {name: {0: "batch", 1: "sequence"} for name in input_names}
        dynamic[OUTPUT_NAME] = {0: "batch"}
        with torch.no_grad(), warnings.catch_warnings():
            # TracerWarnings about Python bools in transformers' mask code: harmless here, because
            # the export is checked at another batch and sequence length right after.
            warnings.simplefilter("ignore")
            # dynamo=False: torch 2.13 defaults to the dynamo exporter, which needs onnxscript (not
            # installed); the TorchScript-based exporter is built in and exports BERT exactly.
            torch.onnx.export(
                wrapper,
                tuple(trace_inputs[name] for name in input_names),
                str(fp32_path),
                input_names=input_names,
                output_names=[OUTPUT_NAME],
                dynamic_axes=dynamic,
                opset_version=_OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        onnx.checker.check_model(str(fp32_path))
        onnx_path = tmp / ONNX_FILE
        if quantize == "int8":
            quantize_int8(fp32_path, onnx_path)
            fp32_path.unlink()

        check = _check_against_torch(wrapper, onnx_path, input_names, torch)
        if quantize is None and check["min_cosine"] < 0.9999:
            raise RuntimeError(f"exported graph disagrees with torch (min cosine {check['min_cosine']:.6f})")
        shutil.copyfile(model_dir / TOKENIZER_FILE, tmp / TOKENIZER_FILE)

        meta: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "onnx_file": ONNX_FILE,
            "onnx_sha256": file_sha256(onnx_path),
            "onnx_bytes": onnx_path.stat().st_size,
            "tokenizer_file": TOKENIZER_FILE,
            "tokenizer_sha256": file_sha256(tmp / TOKENIZER_FILE),
            "tokenizer_bytes": (tmp / TOKENIZER_FILE).stat().st_size,
            "inputs": input_names,
            "output": OUTPUT_NAME,
            "dim": int(model.config.hidden_size),
            "max_seq_length": st_config["max_seq_length"],
            "do_lower_case": st_config["do_lower_case"],
            "pooling": "mean",
            "normalize": True,
            "quantize": quantize,
            "opset": _OPSET,
            "source": {
                "model_dir": str(model_dir),
                "model_fingerprint": model_fingerprint(model_dir),
                "config": json.loads((model_dir / "config.json").read_text()),
                "modules": st_config["modules"],
            },
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
            "check": check,
        }
        # One short id for "this exact graph + tokenizer + truncation": what an index records.
        meta["fingerprint"] = hashlib.sha256(
            json.dumps(
                [meta["onnx_sha256"], meta["tokenizer_sha256"], meta["max_seq_length"], meta["do_lower_case"]]
            ).encode()
        ).hexdigest()[:16]
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "exported %s to %s (quantize=%s, min cosine vs torch %.6f) in %.1f s",
        model_dir.name,
        out_dir,
        quantize,
        check["min_cosine"],
        time.perf_counter() - started,
    )
    return meta


def _read_sentence_transformers_config(model_dir: Path) -> dict[str, Any]:
    """Check the folder is Transformer + mean Pooling [+ Normalize] and read what the export needs."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        bert_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{model_dir} is not a sentence-transformers model folder ({exc})") from exc
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ValueError(f"{model_dir}: expected modules Transformer, Pooling[, Normalize], found {kinds}")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ValueError(f"{model_dir}: only mean pooling is exported, found {modes}")
    if not (model_dir / TOKENIZER_FILE).is_file():
        raise ValueError(f"{model_dir}: no {TOKENIZER_FILE} (a fast tokenizer is needed without transformers)")
    return {
        "modules": kinds,
        "max_seq_length": int(bert_config.get("max_seq_length", 256)),
        "do_lower_case": bool(bert_config.get("do_lower_case", False)),
    }


def _forward_parameters(model: Any) -> set[str]:
    import inspect

    return set(inspect.signature(model.forward).parameters)


def _pooled_wrapper(model: Any, input_names: list[str]) -> Any:
    """Wrap a transformers model so its output is the sentence embedding (batch, dim)."""
    import torch

    class PooledEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            # By keyword: transformers 5 put other parameters between BERT's positional inputs.
            kwargs = dict(zip(input_names, inputs, strict=True))
            hidden = self.model(**kwargs).last_hidden_state  # (batch, seq, dim)
            # sentence_transformers' Pooling (mean) and Normalize, op for op.
            mask = kwargs["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
            summed = (hidden * mask).sum(dim=1)  # (batch, dim)
            counts = torch.clamp(mask.sum(dim=1), min=1e-9)  # (batch, 1)
            return torch.nn.functional.normalize(summed / counts, p=2, dim=-1)  # (batch, dim)

    return PooledEncoder()


def _dummy_inputs(torch: Any, input_names: list[str], *, batch: int, seq: int, pad_last: int) -> dict[str, Any]:
    """Token ids (batch, seq) of ordinary word pieces, the last row padded by ``pad_last``."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (batch, seq), generator=generator, dtype=torch.int64)
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
    mask = torch.ones((batch, seq), dtype=torch.int64)
    if pad_last:
        ids[-1, seq - pad_last - 1] = 102
        ids[-1, seq - pad_last :] = 0
        mask[-1, seq - pad_last :] = 0
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return {name: inputs[name] for name in input_names}


def _check_against_torch(wrapper: Any, onnx_path: Path, input_names: list[str], torch: Any) -> dict[str, Any]:
    """Run torch and onnxruntime on a shape the trace never saw; a baked-in shape would show here."""
    import onnxruntime as ort

    inputs = _dummy_inputs(torch, input_names, batch=3, seq=13, pad_last=5)
    with torch.no_grad():
        expected = wrapper(*(inputs[n] for n in input_names)).numpy()  # (3, dim)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {n: t.numpy() for n, t in inputs.items()})[0]  # (3, dim)
    cosines = (expected * got).sum(axis=1)
    return {"batch": 3, "sequence": 13, "min_cosine": float(cosines.min())}


class _QuietRootLogger(logging.Filter):
    """Drops the root logger's chatter below ERROR (onnxruntime.quantization logs there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def quantize_int8(src: Path, dst: Path, op_types: Sequence[str] = ("MatMul",)) -> None:
    """Dynamic int8: weights int8 per output channel, activations quantised on the fly per call.

    Per-channel weights matter for MiniLM: per-tensor int8 moved embeddings to a mean cosine of
    ~0.95 against float32, per-channel to ~0.99, at the same speed (this CPU has AVX-512 VNNI).
    By default only MatMuls with weights are quantised; the embedding tables and attention stay
    float32 (the reader also quantises its tables, "Gather", to fit its size budget).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs on the root logger: a line per skipped tensor at INFO, and a hint to run a
    # pre-processing step whose symbolic shape inference fails on this graph. Noise for our users.
    quiet = _QuietRootLogger()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(op_types),
        )
    finally:
        logging.getLogger().removeFilter(quiet)


def _remove_abandoned(out_dir: Path) -> None:
    """Delete temporary folders that killed exports to ``out_dir`` left behind.

    Folders of a process that is still running (another export to the same place) are left alone.
    """
    for folder in out_dir.parent.glob(f".{out_dir.name}.*-*-*"):
        kind, _, rest = folder.name.removeprefix(f".{out_dir.name}.").partition("-")
        pid = rest.partition("-")[0]
        if kind not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        log.info("removing %s, left by an export that did not finish", folder)
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move a finished export into place; ``out_dir`` is never seen half-written.

    A directory cannot be renamed over a non-empty one, so an old export is first renamed aside.
    Between the two renames ``out_dir`` is briefly absent, which a reader reports as "no export".
    """
    old: Path | None = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-{os.getpid()}-", dir=out_dir.parent))
        os.replace(out_dir, old / "export")
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
