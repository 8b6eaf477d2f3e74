"""Would a cross-encoder trained here tell near misses from answerable questions? (It does not.)

    python -m experiments.cross_encoder [--epochs 2] [--context]

No cross-encoder or extractive reader installs from the package registries this project can reach
(they download weights at run time), so this trains one from the bundled MiniLM: question and
sentence read together, one logit. Training pairs come from the fitting sets (eval/news and
xquad-dev) through the engine's real retrieval and sentence model: each answerable question's
answering sentences are positives, its best-ranked other sentences negatives, and the best three
sentences of an unanswerable question negatives. It is judged on eval/heldout, which nothing is
fitted on: how well the best cross-encoder score over the first five sentences separates answerable
questions from near misses and from off-topic ones (ROC AUC), next to citebot's own abstention
model, and the first quote when the cross-encoder re-orders those five. Takes 10-30 minutes on 2
cores; nothing is written but a report.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from index import fit as fw
from index.config import load_config
from index.embed import resolve_model

ROOT = Path(__file__).resolve().parents[1]

HELDOUT = ROOT / "eval" / "heldout" / "questions.jsonl"
FITTING = [
    ROOT / "eval" / "news" / "questions.jsonl",
    ROOT.parent / "shared" / "eval" / "xquad-dev" / "questions.jsonl",
]
CONFIG = load_config(ROOT / "config.yaml")
READ = 5  # sentences the cross-encoder reads per question
MAX_PIECES = 160


def sentence(s: fw.Sample, i: int, context: bool) -> str:
    """Candidate ``i``'s text, after the sentence before it when ``context`` (same article only)."""
    sid = int(s.sids[i])
    text = s.snap.sentence_text(sid)
    if context and sid > 0 and s.snap.sentences[sid - 1, 0] == s.snap.sentences[sid, 0]:
        text = f"{s.snap.sentence_text(sid - 1)} [SEP] {text}"
    return text


def training_pairs(samples: list[fw.Sample], model: fw.Model, context: bool) -> list[tuple[str, str, float]]:
    pairs = []
    for s in samples:
        order = [int(i) for i in model.order(s, 3)[:8]]
        if s.answerable:
            pairs += [(s.query.text, sentence(s, i, context), 1.0) for i in order if s.y[i] > 0][:2]
            pairs += [(s.query.text, sentence(s, i, context), 0.0) for i in order if s.y[i] == 0][:4]
        else:
            pairs += [(s.query.text, sentence(s, i, context), 0.0) for i in order[:3]]
    return pairs


def auc(positive: list[float], negative: list[float]) -> float:
    """Chance that a random positive scores above a random negative (ties count half)."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--context", action="store_true", help="give the cross-encoder the sentence before too")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    random.seed(0)
    torch.manual_seed(0)
    fitting = fw.collect(CONFIG, FITTING, print)
    held = fw.collect(CONFIG, [HELDOUT], print)
    linear = fw.fit(fitting, 1.0)
    pairs = training_pairs(fitting, linear, args.context)
    print(f"training pairs: {len(pairs)} ({sum(p[2] for p in pairs):.0f} answering)")

    path = str(resolve_model(CONFIG.model.name))
    tokenizer = AutoTokenizer.from_pretrained(path)
    reader = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    optimizer = torch.optim.AdamW(reader.parameters(), lr=4e-5, weight_decay=0.01)
    batch = 16
    steps = args.epochs * -(-len(pairs) // batch)
    # Linear warm-up over the first tenth, then linear decay to zero.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: min(1.0, (k + 1) / (0.1 * steps)) * max(0.0, 1 - k / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    reader.train()
    for epoch in range(args.epochs):
        random.shuffle(pairs)
        total = 0.0
        for k in range(0, len(pairs), batch):
            part = pairs[k : k + batch]
            enc = tokenizer(
                [p[0] for p in part],
                [p[1] for p in part],
                truncation=True,
                max_length=MAX_PIECES,
                padding=True,
                return_tensors="pt",
            )
            loss = loss_fn(reader(**enc).logits.squeeze(-1), torch.tensor([p[2] for p in part]))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item() * len(part)
        print(f"epoch {epoch + 1}: loss {total / len(pairs):.4f} ({time.perf_counter() - start:.0f} s)")
    reader.eval()

    rows = []
    with torch.no_grad():
        for s in held:
            order = [int(i) for i in linear.order(s, 3)[:READ]]
            if order:
                enc = tokenizer(
                    [s.query.text] * len(order),
                    [sentence(s, i, args.context) for i in order],
                    truncation=True,
                    max_length=MAX_PIECES,
                    padding=True,
                    return_tensors="pt",
                )
                logits = reader(**enc).logits.squeeze(-1).numpy()
            else:
                logits = np.full(1, -10.0)
            rows.append((s, order, logits, linear.answerable(s)))
    answerable = [r for r in rows if r[0].answerable]
    print(f"eval/heldout: {len(answerable)} answerable questions")
    for kind in ("near-miss", "off-topic"):
        others = [r for r in rows if not r[0].answerable and r[0].kind == kind]
        ce = auc([r[2].max() for r in answerable], [r[2].max() for r in others])
        own = auc([r[3] for r in answerable], [r[3] for r in others])
        print(
            f"answerable vs {len(others)} {kind}: ROC AUC cross-encoder {ce:.3f}, citebot's abstention model {own:.3f}"
        )
    first = np.mean([r[0].y[r[1][0]] > 0 for r in answerable if r[1]])
    reread = np.mean([r[0].y[r[1][int(np.argmax(r[2]))]] > 0 for r in answerable if r[1]])
    print(f"hit@1 (never abstaining): citebot {first:.3f}, cross-encoder over citebot's best {READ} {reread:.3f}")


if __name__ == "__main__":
    main()
