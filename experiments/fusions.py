"""onnxruntime's graph fusions that citebot leaves out (``index.embed.onnx.UNFUSED``), measured.

``python -m experiments.fusions [--rounds 60]`` from the repository root, after a build (it reads
the int8 question export from the model cache).

The shipped reader and the int8 question encoder, each loaded twice on one thread: with every
extended fusion, and with ``UNFUSED`` left out, as citebot loads them. The two are called in turn
on the same inputs (a news-like candidate with its neighbours for the reader; a question for the
encoder), so a slow spell of these shared cores falls on both. Prints each one's p50 per call, the
ratio, and how far the outputs move (the reader's logit; the question vector's cosine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.config import load_config
from index.embed.cache import export_dir
from index.embed.onnx import META_FILE, UNFUSED, cpu_session
from index.embed.onnx import TOKENIZER_FILE as EXPORT_TOKENIZER
from index.engine import models_dir
from index.reader.serve import MODEL_DIR, ONNX_FILE, TOKENIZER_FILE, encode_pairs, load_tokenizer

QUESTION = "who led the protest in islamabad on tuesday"
CANDIDATE = (
    "Imran Khan's wife Bushra Bibi led the march of his supporters into the capital on Tuesday, defying a "
    "ban on gatherings imposed by the government, as police fired tear gas.",
    "Thousands of supporters of the jailed former prime minister clashed with police overnight in several "
    "cities across the country.",
    "Police fired tear gas as the crowd approached the parliament building in the city centre, witnesses said.",
)


def _both(onnx_file: Path, feed: dict[str, np.ndarray]) -> dict[str, Callable[[], np.ndarray]]:
    """The model with every fusion and as citebot loads it (:func:`cpu_session`, one thread), each a
    call on ``feed``."""
    calls: dict[str, Callable[[], np.ndarray]] = {}
    for kind, unfused in (("every fusion", ()), ("as shipped", UNFUSED)):
        session = cpu_session(onnx_file, 1, unfused=unfused)
        inputs = {k: v for k, v in feed.items() if k in {i.name for i in session.get_inputs()}}
        calls[kind] = lambda s=session, x=inputs: np.asarray(s.run(None, x)[0]).reshape(-1)
    return calls


def _in_turn(calls: dict[str, Callable[[], np.ndarray]], rounds: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    for _ in range(5):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    outputs: dict[str, np.ndarray] = {}
    names = list(calls)
    for i in range(rounds):
        for name in names if i % 2 else names[::-1]:
            started = time.perf_counter()
            outputs[name] = calls[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: float(np.median(ms)) for name, ms in times.items()}, outputs


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=60)
    args = p.parse_args(argv)
    print(f"left out: {', '.join(UNFUSED)}")

    pair = encode_pairs(load_tokenizer(MODEL_DIR / TOKENIZER_FILE), QUESTION, [CANDIDATE])
    reader_calls = _both(MODEL_DIR / ONNX_FILE, pair)
    ms, out = _in_turn(reader_calls, args.rounds)
    logits = {k: float(v[0]) for k, v in out.items()}
    print(f"reader, one {pair['input_ids'].shape[1]}-piece pair:")
    for kind in reader_calls:
        print(f"  {kind:13s} p50 {ms[kind]:.2f} ms  logit {logits[kind]:+.4f}")
    print(f"  as shipped / every fusion: {ms['as shipped'] / ms['every fusion']:.2f}")

    config = load_config("config.yaml")
    folder = export_dir(config.model.name, "int8", models_dir(config))
    if not (folder / META_FILE).is_file():
        print(f"no int8 question export at {folder}: build an index first")
        return 1
    ids = load_tokenizer(folder / EXPORT_TOKENIZER).encode(QUESTION)
    words = {
        "input_ids": np.array([ids.ids], dtype=np.int64),
        "attention_mask": np.array([ids.attention_mask], dtype=np.int64),
        "token_type_ids": np.zeros((1, len(ids.ids)), dtype=np.int64),
    }
    encoder_calls = _both(next(folder.glob("*.onnx")), words)
    ms, out = _in_turn(encoder_calls, args.rounds)
    a, b = out["every fusion"], out["as shipped"]
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    print(f"int8 question encoder, one {len(ids.ids)}-piece question:")
    for kind in encoder_calls:
        print(f"  {kind:13s} p50 {ms[kind]:.2f} ms")
    print(f"  as shipped / every fusion: {ms['as shipped'] / ms['every fusion']:.2f}; output cosine {cosine:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
