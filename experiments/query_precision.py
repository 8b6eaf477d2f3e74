"""Can questions be embedded in int8 against an index built in fp32?

``python -m experiments.query_precision [SET ...]`` from the repository root (default: the four
question sets of ``python -m index eval``).

Each set's index is built once, in fp32, as ``python -m index eval`` builds it. Its questions are
then answered twice by the engine's own path over that one index: with the fp32 export embedding
the question (as shipped), and with the int8 export. The table gives, per set and per precision,
hit@1, hit@3, abstention precision and recall (``evaluate.score``), the share of questions whose
first quote is the same, the mean cosine of the two question vectors, and the p50 of embedding one
question on one thread. Nothing is fitted.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.config import load_config
from index.embed import load_encoder
from index.embed.base import Encoder
from index.engine import Engine, models_dir
from index.evaluate import eval_engine, load_question_set, run_citebot, score

ROOT = Path(__file__).resolve().parents[1]
SETS = (
    "eval/news/questions.jsonl",
    "eval/heldout/questions.jsonl",
    "eval/chat/questions.jsonl",
    "../shared/eval/xquad-dev/questions.jsonl",
)
PRECISIONS = ("fp32", "int8")


def embed_ms(encoder: Encoder, questions: Sequence[str]) -> float:
    """p50 milliseconds of embedding one question alone, after a warm-up."""
    for q in questions[:5]:
        encoder.encode([q], batch_size=1)
    times = []
    for q in questions:
        started = time.perf_counter()
        encoder.encode([q], batch_size=1)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, default=[ROOT / s for s in SETS])
    args = parser.parse_args(argv)
    config = load_config(ROOT / "config.yaml")
    encoders = {p: load_encoder(config.model.name, p, models_dir(config), threads=1) for p in PRECISIONS}
    header = f"{'set':<12} {'query':<6} {'hit@1':>6} {'hit@3':>6} {'abst P':>7} {'abst R':>7} {'same 1st':>9} {'cos':>7} {'embed ms':>9}"
    print(header)
    for path in args.sets:
        qset = load_question_set(path, None, config.index_dir.parent / "eval")
        built = eval_engine(config, qset)  # the index, in fp32, as the eval builds it
        texts = [q.question for q in qset.questions]
        vectors = {p: e.encode(texts, batch_size=64) for p, e in encoders.items()}
        cosine = float(np.mean(np.sum(vectors["fp32"] * vectors["int8"], axis=1)))
        firsts: dict[str, list[tuple[str, str] | None]] = {}
        for precision, encoder in encoders.items():
            # The same fp32 index folder, not rebuilt: only the export that embeds questions differs.
            model = dataclasses.replace(built.config.model, question_precision=precision)
            engine = Engine(built.config.replace(model=model))
            results, _ = run_citebot(engine, qset.questions)
            firsts[precision] = [None if r.abstained or not r.ranked else r.ranked[0] for r in results]
            m = score(qset.questions, results)
            same = statistics.fmean(a == b for a, b in zip(firsts["fp32"], firsts[precision], strict=True))

            def fmt(key: str, m: dict[str, float | None] = m) -> str:
                value = m.get(key)
                return f"{value:.3f}" if isinstance(value, float) else "—"

            print(
                f"{qset.name:<12} {precision:<6} {fmt('hit@1'):>6} {fmt('hit@3'):>6} {fmt('abstain_precision'):>7} "
                f"{fmt('abstain_recall'):>7} {same:>9.3f} {cosine if precision != 'fp32' else 1.0:>7.4f} "
                f"{embed_ms(encoder, texts):>9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
