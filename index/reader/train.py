"""Train the reader: ``python -m index.reader.train [--out DIR] [--budget-minutes N] [--resume]``.

A cross-encoder from the bundled all-MiniLM-L6-v2, fine-tuned on (question, sentence + neighbours)
pairs from the public QA sets (see :mod:`index.reader.data`). The run is sized to a wall-clock
budget: the first steps are timed and the number of steps (and so the learning-rate schedule) is
set from that speed. Progress goes to ``WORK/train.log``; a checkpoint is written about every ten
minutes and ``--resume`` continues from the last one, on the same data order. At the end the model
is exported to ONNX, quantised, validated, and shipped to ``--out`` (see :mod:`index.reader.export`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.reader import data as rdata
from index.reader.serve import MAX_LENGTH, MODEL_DIR, encode_pairs, load_tokenizer

log = logging.getLogger("index.reader.train")

DEFAULT_WORK = Path("/tmp/citebot-reader-train")
CHECKPOINT = "checkpoint.pt"
FINAL = "final.pt"
_CHECKPOINT_EVERY_S = 600.0
_WARMUP_STEPS = 40
_MEASURE_STEPS = 12  # steps timed (after the first two) for the speed the model card reports
_PAUSED_FACTOR = 4.0  # a step slower than this many times the measured pace counts at that pace


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m index.reader.train", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=MODEL_DIR, help="where the shipped model goes (default: %(default)s)")
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="checkpoints and log (default: %(default)s)")
    p.add_argument("--data", type=Path, default=rdata.DATA_DIR, help="training data folder")
    p.add_argument("--budget-minutes", type=float, default=60.0, help="wall-clock minutes of training steps")
    p.add_argument("--resume", action="store_true", help="continue from WORK/checkpoint.pt")
    p.add_argument(
        "--init-from",
        type=Path,
        help="start from another run's checkpoint: its embeddings, its lower layers and its head (a smaller"
        " reader from a trained larger one), reading on from where that run's data order stopped",
    )
    p.add_argument("--layers", type=int, default=6, help="transformer layers kept (default: %(default)s)")
    p.add_argument("--max-length", type=int, default=MAX_LENGTH, help="word pieces per pair")
    p.add_argument("--groups-per-step", type=int, default=5, help="questions per step (x6 candidates)")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--listwise-weight", type=float, default=1.0, help="weight of the per-question softmax loss")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: budget decides)")
    p.add_argument("--skip-train", action="store_true", help="only export and validate the last checkpoint")
    p.add_argument("--val-per-source", type=int, default=80, help="validation questions per source")
    p.add_argument("--no-ship", action="store_true", help="export and validate, but do not write --out")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parse(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    _setup_logging(args.work / "train.log")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()  # the "unexpected keys" report for dropped layers
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(max(1, args.threads))
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    dataset = rdata.load(args.data, seed=args.seed)
    groups = rdata.bucket_by_length(rdata.make_groups(dataset, seed=args.seed), dataset.contexts, args.groups_per_step)
    log.info(
        "data: %d contexts, %d training questions -> %d groups (%d pairs), %d validation questions; prepared in %.1f s",
        len(dataset.contexts),
        len(dataset.train),
        len(groups),
        sum(len(g.items) for g in groups),
        len(dataset.val),
        time.perf_counter() - t0,
    )
    tokenizer = load_tokenizer(rdata_tokenizer_path())
    from index.reader.model_def import build

    model = build(args.layers)
    state: dict[str, Any] = {"step": 0, "elapsed": 0.0, "total_steps": None, "speed": None, "history": []}
    if args.init_from is not None and not args.resume:
        state["data_offset"] = _init_from(model, args.init_from, torch)
    if not args.skip_train:
        state = _train(args, model, groups, dataset, tokenizer, torch, state)
    else:
        ckpt = _load_checkpoint(args.work, torch)
        if ckpt is None:
            log.error("no checkpoint in %s to export", args.work)
            return 1
        model.load_state_dict(ckpt["model"])
        state = ckpt["state"]

    from index.reader.export import export_and_ship

    summary = export_and_ship(
        model,
        args=args,
        dataset=dataset,
        groups=groups,
        state=state,
        tokenizer_path=rdata_tokenizer_path(),
        command=" ".join(["python -m index.reader.train", *(sys.argv[1:] if argv is None else argv)]),
        val_per_source=args.val_per_source,
    )
    log.info("done: %s", json.dumps(summary, sort_keys=True))
    return 0


def rdata_tokenizer_path() -> Path:
    """The base model's tokenizer.json: the reader keeps MiniLM's vocabulary."""
    from index.reader.model_def import base_model_dir

    return base_model_dir() / "tokenizer.json"


def _setup_logging(path: Path) -> None:
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    root = logging.getLogger("index.reader")
    root.setLevel(logging.INFO)
    root.propagate = False  # onnxruntime's quantiser configures the root logger: no second copy there
    for handler in (logging.FileHandler(path), logging.StreamHandler(sys.stdout)):
        handler.setFormatter(fmt)
        root.addHandler(handler)


def _batch(
    groups: Sequence[rdata.Group],
    start_index: int,
    contexts: Sequence[rdata.Context],
    tokenizer: Any,
    max_length: int,
    seed: int,
    torch: Any,
) -> tuple[dict[str, Any], Any, list[tuple[int, int, int]]]:
    """Tensors for a step's groups, labels, and each group's (first row, rows, positive row or -1)."""
    rows: dict[str, list[np.ndarray]] = {"input_ids": [], "attention_mask": [], "token_type_ids": []}
    labels: list[float] = []
    spans: list[tuple[int, int, int]] = []
    encoded = []
    for k, g in enumerate(groups):
        question = g.question
        if g.augment:
            # Seeded by the group's position in the data order: a resumed run augments identically.
            question = rdata.augment_question(question, random.Random(seed * 1_000_003 + start_index + k))
        cands = [rdata.candidate(contexts, ci, si) for ci, si, _ in g.items]
        encoded.append(encode_pairs(tokenizer, question, cands, max_length))
        pos = next((i for i, (_, _, y) in enumerate(g.items) if y > 0.5), -1)
        spans.append((len(labels), len(g.items), pos))
        labels.extend(y for _, _, y in g.items)
    width = max(e["input_ids"].shape[1] for e in encoded)
    for e in encoded:
        pad = width - e["input_ids"].shape[1]
        for name in rows:
            rows[name].append(np.pad(e[name], ((0, 0), (0, pad))))  # [PAD] is id 0 in MiniLM's vocabulary
    feed = {name: torch.from_numpy(np.concatenate(parts)) for name, parts in rows.items()}
    return feed, torch.tensor(labels, dtype=torch.float32), spans


_ROWS_PER_FORWARD = 10


def _forward_bucketed(model: Any, feed: dict[str, Any], torch: Any) -> Any:
    """Logits of every row, computed in sub-batches of similar length, each cut to its own width.

    One question's candidates vary in length (a neighbour may be missing), so one padded batch
    wastes a third of its positions (mean padded width 117 vs. mean true length 87 word pieces,
    measured on the first 300 steps); sub-batches sorted by length waste little, and the loss still
    sees every group whole.
    """
    lengths = feed["attention_mask"].sum(dim=1)
    order = torch.argsort(lengths, stable=True)
    parts = []
    for start in range(0, len(order), _ROWS_PER_FORWARD):
        idx = order[start : start + _ROWS_PER_FORWARD]
        width = int(lengths[idx].max())
        parts.append(model(**{k: v[idx, :width] for k, v in feed.items()}))
    logits = torch.empty(len(order), dtype=parts[0].dtype)
    return logits.index_put((order,), torch.cat(parts))


def _loss(
    logits: Any, labels: Any, spans: list[tuple[int, int, int]], listwise_weight: float, torch: Any
) -> tuple[Any, float, float]:
    """Pointwise BCE on every pair plus a softmax over each answerable question's candidates.

    BCE keeps the output a probability (needed to refuse: a question no candidate answers should
    score low everywhere, which a listwise loss alone never asks for); the listwise term asks
    directly for what citebot needs first, the answering sentence above its neighbours.
    """
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    ce_terms = [
        torch.nn.functional.cross_entropy(logits[s : s + n].unsqueeze(0), torch.tensor([p]))
        for s, n, p in spans
        if p >= 0
    ]
    ce = torch.stack(ce_terms).mean() if ce_terms else torch.zeros(())
    return bce + listwise_weight * ce, float(bce.detach()), float(ce.detach())


def _load_checkpoint(work: Path, torch: Any) -> dict[str, Any] | None:
    path = work / CHECKPOINT
    if not path.is_file():
        return None
    return dict(torch.load(path, map_location="cpu", weights_only=False))


def _init_from(model: Any, path: Path, torch: Any) -> int:
    """Copy every tensor of ``path``'s model that ``model`` has in the same shape; returns the first unseen group."""
    ckpt = dict(torch.load(path, map_location="cpu", weights_only=False))
    own = model.state_dict()
    taken = {k: v for k, v in ckpt["model"].items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(taken, strict=False)
    source = ckpt["state"]
    offset = int(source.get("data_offset", 0)) + int(source["step"]) * int(source["config"]["groups_per_step"])
    log.info("initialised %d of %d tensors from %s; data order from group %d", len(taken), len(own), path, offset)
    return offset


def _save_checkpoint(work: Path, model: Any, opt: Any, state: dict[str, Any], torch: Any) -> None:
    tmp = work / (CHECKPOINT + ".tmp")
    torch.save(
        {"model": model.state_dict(), "opt": opt.state_dict(), "state": state, "rng": torch.get_rng_state()}, tmp
    )
    os.replace(tmp, work / CHECKPOINT)  # a kill mid-write leaves the previous checkpoint whole


def _train(
    args: argparse.Namespace,
    model: Any,
    groups: list[rdata.Group],
    dataset: rdata.Dataset,
    tokenizer: Any,
    torch: Any,
    state: dict[str, Any],
) -> dict[str, Any]:
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    if args.resume:
        ckpt = _load_checkpoint(args.work, torch)
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["opt"])
            torch.set_rng_state(ckpt["rng"])
            state = ckpt["state"]
            log.info("resumed at step %d (%.1f min trained)", state["step"], state["elapsed"] / 60)
    gps = args.groups_per_step
    max_steps = len(groups) // gps
    if args.max_steps:
        max_steps = min(max_steps, args.max_steps)
    budget = args.budget_minutes * 60.0
    state.setdefault(
        "config",
        {
            "layers": args.layers,
            "max_length": args.max_length,
            "groups_per_step": gps,
            "lr": args.lr,
            "listwise_weight": args.listwise_weight,
            "seed": args.seed,
            "budget_minutes": args.budget_minutes,
            "init_from": str(args.init_from) if args.init_from else None,
            "data_offset": int(state.get("data_offset", 0)),
        },
    )

    def lr_at(step: int) -> float:
        # Decay by the share of the time budget used, not by a step count: on shared cores the step
        # time varies by 3x or more within a run, and a schedule sized from the first steps' speed
        # would either end early (decayed, budget unused) or be cut off before it decayed.
        if step < _WARMUP_STEPS:
            return args.lr * (step + 1) / _WARMUP_STEPS
        return args.lr * max(0.0, 1.0 - state["elapsed"] / budget)

    model.train()
    last_ckpt = time.perf_counter()
    window: list[tuple[float, int, float]] = []  # (seconds, pairs, loss) of recent steps
    measure: list[float] = []
    offset = int(state.get("data_offset", 0))
    max_steps = min(max_steps, (len(groups) - offset) // gps)
    while state["step"] < max_steps and state["elapsed"] < budget:
        step = state["step"]
        started = time.perf_counter()
        first = offset + step * gps
        feed, labels, spans = _batch(
            groups[first : first + gps],
            first,
            dataset.contexts,
            tokenizer,
            args.max_length,
            args.seed,
            torch,
        )
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        logits = _forward_bucketed(model, feed, torch)
        loss, bce, ce = _loss(logits, labels, spans, args.listwise_weight, torch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seconds = time.perf_counter() - started
        if state["speed"] is not None:
            # A step far slower than the measured pace was paused (SIGSTOP while a bench runs) or
            # starved: it counts at the measured pace, so a pause does not eat the schedule's budget.
            seconds = min(seconds, _PAUSED_FACTOR * state["speed"]["seconds_per_step"])
        state["step"] = step + 1
        state["elapsed"] += seconds
        window = [*window[-49:], (seconds, len(labels), float(loss))]
        if state["speed"] is None and step >= 2:
            measure.append(seconds)
            if len(measure) >= _MEASURE_STEPS:
                per_step = float(np.median(measure))
                pairs_per_step = float(np.mean([w[1] for w in window]))
                state["speed"] = {
                    "seconds_per_step": per_step,
                    "pairs_per_step": pairs_per_step,
                    "pairs_per_second": pairs_per_step / per_step,
                }
                state["total_steps"] = int(min(max_steps, state["step"] + (budget - state["elapsed"]) / per_step))
                log.info(
                    "measured %.2f s/step (%.1f pairs/s) over steps 3-%d: the budget holds about %d steps",
                    per_step,
                    pairs_per_step / per_step,
                    state["step"],
                    state["total_steps"],
                )
        if state["step"] % 10 == 0 or state["step"] == 1:
            secs = sum(w[0] for w in window)
            rate = sum(w[1] for w in window) / secs
            eta = budget - state["elapsed"]
            total = min(max_steps, state["step"] + int(eta * len(window) / secs))  # at the recent speed
            entry = {
                "step": state["step"],
                "of": total,
                "pairs_per_s": round(rate, 2),
                "loss": round(float(np.mean([w[2] for w in window])), 4),
                "bce": round(bce, 4),
                "ce": round(ce, 4),
                "lr": round(lr_at(step), 8),
                "width": int(feed["input_ids"].shape[1]),
                "elapsed_min": round(state["elapsed"] / 60, 2),
                "eta_min": round(eta / 60, 1),
            }
            state["history"].append(entry)
            log.info(
                "step %d/%d  %.1f pairs/s  loss %.4f (bce %.3f ce %.3f)  lr %.2e  elapsed %.1f min  eta %.1f min",
                entry["step"],
                total,
                rate,
                entry["loss"],
                bce,
                ce,
                entry["lr"],
                entry["elapsed_min"],
                entry["eta_min"],
            )
        if time.perf_counter() - last_ckpt >= _CHECKPOINT_EVERY_S:
            _save_checkpoint(args.work, model, opt, state, torch)
            last_ckpt = time.perf_counter()
            log.info("checkpoint at step %d", state["step"])
    _save_checkpoint(args.work, model, opt, state, torch)
    log.info("training ended at step %d after %.1f min of steps", state["step"], state["elapsed"] / 60)
    model.eval()
    return state


if __name__ == "__main__":
    raise SystemExit(main())
