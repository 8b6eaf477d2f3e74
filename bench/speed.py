"""Speed and memory: build throughput, warm ask latency at 10k / 100k / 1M sentences, cold start, peak RSS.

    python -m bench.speed [--scales 10000,100000,1000000] [--workdir /tmp/citebot-bench] [--json]

Corpus: synthetic news-like articles (deterministic; 25 sentences each, names, places, numbers).
- 10k and 100k: built by the real engine (ONNX export, every core, length-bucketed batches),
  timed; the sentence-transformers default encoder is timed on a 2,000-sentence sample in the
  same run, so the speed-up is a ratio measured under the same load.
- 1M: embedding a million sentences here takes hours, so the 1M index reuses the real 100k
  embeddings: each 1M sentence is a variant of a 100k one (other names and numbers) whose vector is
  that sentence's real vector plus small noise (cosine ~0.98), and a chunk's vector is the
  normalized mean of its sentences'. Everything else (splitting, BM25, the FAISS HNSW graph with
  its search breadth measured on these vectors, the answer step) is the real engine. The 1M build
  time is not reported.
- Warm latency: 200 questions through Engine.ask in one process after a warm-up, one thread.
- Cold start: a new `python -m index ask` process, wall time and peak RSS (VmHWM).
Timings on 2 shared cores are noisy: compare the ratios printed within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import as_installed
from index.config import load_config
from index.engine import Engine
from index.text.sentences import split_sentences
from index.text.terms import terms

ROOT = Path(__file__).resolve().parents[1]

FIRST = "Amara Priya Jonas Lena Tomas Ines Kofi Mei Rafael Sofia Yusuf Hana Pavel Greta Omar Lucia Dmitri Aiko".split()
LAST = "Okafor Lindqvist Moreau Haddad Novak Tanaka Silva Brennan Kowalski Achebe Rossi Varga Dahl Mensah".split()
TOWNS = "Rivermouth Eastbrook Kelby Porthaven Aldmere Colby Hatherley Westmarch Dunmore Marlow Saltholm Linden".split()
ORGS = [
    "the city council",
    "the regional health board",
    "Tessaro Foods",
    "the transport authority",
    "the teachers' union",
    "Calder Rail",
    "the central bank",
    "the fire service",
    "the harbour board",
    "the university",
]
ROLES = ["mayor", "chief executive", "spokeswoman", "director", "chairman", "minister", "councillor", "inspector"]
THINGS = ["homes", "jobs", "buses", "patients", "pupils", "flights", "beds", "trains", "tonnes of grain", "visitors"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TEMPLATES = [
    "{name}, the {role} of {org}, said on {day} that {n} {thing} in {town} had been affected.",
    "Officials in {town} confirmed that {n} {thing} would be moved before the end of {month}.",
    '"We have never seen anything like this in {town}," said {name}, who has lived there for {k} years.',
    "The plan, which will cost about {m} million euros, was approved by {org} last {day}.",
    "{org_cap} expects the work to take {k} weeks, although critics say that is optimistic.",
    "Police said {n} people were arrested after protesters blocked the road to {town}.",
    "The {role}, {name}, told reporters that the decision had been taken to protect {thing}.",
    "About {n} {thing} were counted in {town} in {year}, compared with {n2} a decade earlier.",
    "Residents of {town} will vote on the proposal on {day} {d} {month}.",
    "{name} was appointed {role} of {org} in {year} after a long career in {town}.",
    "Shares in {org} fell {p} per cent after the announcement on {day}.",
    "A report by {org} found that {p} per cent of {thing} in {town} were below standard.",
    "The storm brought {k} centimetres of rain to {town} in less than a day.",
    "Opposition leader {name} called the move a mistake that would cost {town} dearly.",
    "Talks between {org} and the unions are due to resume in {town} on {day}.",
    "The {role} said {org} would publish a full review of the incident by {month}.",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


def sentence(rng: random.Random) -> str:
    org = rng.choice(ORGS)
    return rng.choice(TEMPLATES).format(
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        role=rng.choice(ROLES),
        org=org,
        org_cap=org[0].upper() + org[1:],
        day=rng.choice(DAYS),
        thing=rng.choice(THINGS),
        town=rng.choice(TOWNS),
        month=rng.choice(MONTHS),
        n=f"{rng.randint(2, 9000):,}",
        n2=f"{rng.randint(2, 9000):,}",
        k=rng.randint(2, 60),
        m=rng.randint(2, 900),
        p=rng.randint(2, 60),
        d=rng.randint(1, 28),
        year=rng.randint(1990, 2026),
    )


def write_corpus(folder: Path, sentences: int, seed: int = 0) -> None:
    """25-sentence articles in paragraphs of 2-4 sentences; rewritten only when the size changes."""
    marker = folder / ".size"
    if marker.is_file() and marker.read_text() == f"{sentences}:{seed}":
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    rng = random.Random(seed)
    for a in range(sentences // 25):
        paragraphs, left = [], 25
        while left:
            take = min(left, rng.randint(2, 4))
            paragraphs.append(" ".join(sentence(rng) for _ in range(take)))
            left -= take
        title = f"{rng.choice(TOWNS)} {rng.choice(['council', 'strike', 'flood', 'budget', 'election'])} report {a}"
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        body = "\n\n".join(paragraphs)
        (folder / f"a{a:06d}.md").write_text(f"---\ntitle: {title}\ndate: {date}\n---\n{body}\n", encoding="utf-8")
    marker.write_text(f"{sentences}:{seed}")


def questions(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    forms = [
        "who is the {role} of {org}?",
        "how many {thing} were affected in {town}?",
        "when will residents of {town} vote?",
        "how much will the plan in {town} cost?",
        "why did shares in {org} fall?",
        "who called the move a mistake?",
        "how much rain fell in {town}?",
        "what did {name} say about {town}?",
    ]
    return [
        rng.choice(forms).format(
            role=rng.choice(ROLES),
            org=rng.choice(ORGS),
            thing=rng.choice(THINGS),
            town=rng.choice(TOWNS),
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        )
        for _ in range(n)
    ]


def config_for(work: Path, name: str) -> Path:
    path = work / f"{name}.yaml"
    path.write_text(f"corpus_dir: {name}-corpus\nindex_dir: {name}-index\n", encoding="utf-8")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_latency(engine: Engine, qs: Sequence[str]) -> dict[str, float]:
    engine.warm_up()
    for q in qs[:20]:
        engine.ask(q)
    times = []
    for q in qs:
        started = time.perf_counter()
        engine.ask(q)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def cold_start(config: Path) -> dict[str, float]:
    """A new process answering one question: wall time and its own peak RSS (median of three, with
    Python's bytecode cache on as on a user's machine: the first run writes it)."""
    code = (
        "import sys, time, json; t = time.perf_counter()\n"
        "from index.cli import main\n"
        "try:\n"
        f"    main(['--config', {str(config)!r}, 'ask', '--json', 'who is the mayor of Rivermouth?'], standalone_mode=False)\n"
        "finally:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "    print(json.dumps({'inside_s': time.perf_counter() - t, 'rss_mb': int(hwm) / 1024}), file=sys.stderr)\n"
    )
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=as_installed()
        )
        wall = time.perf_counter() - started
        inside = json.loads(out.stderr.strip().splitlines()[-1])
        runs.append({"wall_s": wall, "rss_mb": inside["rss_mb"]})
    runs.sort(key=lambda r: r["wall_s"])
    return runs[1]  # the median of three


def encoder_ratio(engine: Engine, texts: list[str]) -> dict[str, float]:
    """Sentences/s of the build encoder and of sentence-transformers' default encode, same texts, same run."""
    from index.embed.reference import SentenceTransformerEncoder

    build = engine._build_encoder()  # the build's encoder: the export on every core
    build.encode(texts[:64])
    started = time.perf_counter()
    build.encode(texts, batch_size=engine.config.model.batch_size)
    ours = len(texts) / (time.perf_counter() - started)
    reference = SentenceTransformerEncoder(engine.config.model.name)
    reference.encode(texts[:64], batch_size=32)
    started = time.perf_counter()
    reference._model.encode(texts, batch_size=32, normalize_embeddings=True)  # its defaults, as a user calls it
    theirs = len(texts) / (time.perf_counter() - started)
    return {"citebot_sent_per_s": ours, "sentence_transformers_sent_per_s": theirs, "ratio": ours / theirs}


class ReplayEncoder:
    """For the 1M index only: real 100k vectors replayed with noise for sentence variants (see module doc)."""

    def __init__(self, base: Engine, table: dict[str, np.ndarray], seed: int = 0) -> None:
        self.dim = base.encoder.dim
        self.max_tokens = base.encoder.max_tokens
        self.fingerprint = "replay-" + base.encoder.fingerprint
        self.source = "replay of " + base.encoder.source
        self._counts = base.encoder.token_counts
        self._real = base.encoder
        self._table = table
        self._rng = np.random.default_rng(seed)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self._counts(texts)

    def known_words(self) -> Container[str]:
        return self._real.known_words()

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Questions and the re-read's residuals go through the real model, in one call as the engine makes it.
        real: list[int] = []
        for i, text in enumerate(texts):
            vec = self._table.get(text)
            if vec is None:  # a chunk: the mean of its sentences
                parts = [self._table[s.text] for s in split_sentences(text) if s.text in self._table]
                if not parts:
                    real.append(i)
                    continue
                vec = np.mean(parts, axis=0)
            out[i] = vec
        if real:
            out[real] = self._real.encode([texts[i] for i in real], batch_size=batch_size)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def build_million(work: Path, base: Engine, target: int) -> Engine:
    """Variants of the 100k sentences (names and numbers swapped), each with its base's real vector + noise."""
    snap = base.snapshot()
    texts = [snap.sentence_text(i) for i in range(len(snap.sentences))]
    vectors = np.asarray(snap.sentence_vectors)
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    folder = work / "1m-corpus"
    table: dict[str, np.ndarray] = {}
    marker = folder / ".size"
    fresh = not (marker.is_file() and marker.read_text() == str(target))
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{f} {last}" for f in FIRST for last in LAST]
    per_article = 25
    for a in range(target // per_article):
        body, title_town = [], rng.choice(TOWNS)
        for j in range(per_article):
            k = rng.randrange(len(texts))
            variant = texts[k]
            for town in TOWNS:
                if town in variant:
                    variant = variant.replace(town, rng.choice(TOWNS))
                    break
            variant = variant.replace("said", rng.choice(["said", "told reporters", "said"]))
            variant = f"{variant[:-1]}, {rng.choice(names)} added in report {a}-{j}."
            noise = nrng.normal(0, 0.008, size=vectors.shape[1]).astype(np.float32)
            table[variant] = vectors[k] + noise
            body.append(variant)
        if fresh:
            paragraphs = [" ".join(body[i : i + 5]) for i in range(0, per_article, 5)]
            (folder / f"m{a:07d}.md").write_text(
                f"---\ntitle: {title_town} report {a}\ndate: 2026-01-01\n---\n" + "\n\n".join(paragraphs) + "\n",
                encoding="utf-8",
            )
    marker.write_text(str(target))
    config = load_config(config_for(work, "1m"))
    engine = Engine(config, encoder=ReplayEncoder(base, table))  # type: ignore[arg-type]
    engine.rebuild()
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="10000,100000,1000000")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/citebot-bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    scales = [int(s) for s in args.scales.split(",")]
    qs = questions(200)
    results: dict[str, Any] = {"cores": os.cpu_count(), "scales": {}}

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    base: Engine | None = None
    for n in [s for s in scales if s <= 100_000]:
        name = f"{n // 1000}k"
        write_corpus(work / f"{name}-corpus", n)
        engine = Engine(load_config(config_for(work, name)))
        _ = engine.encoder  # the one-time ONNX export is not part of the build's time
        say(f"{name}: building")
        started = time.perf_counter()
        report = engine.rebuild()
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {"sentences": report.sentences}
        if report.embedded_sentences:
            snap = engine.snapshot()
            row["build_s"] = seconds
            row["build_sent_per_s"] = report.embedded_sentences / seconds  # whole build: split, embed, index, write
            row["texts_embedded"] = report.embedded_sentences + len(snap.chunks)
            row["build_peak_rss_mb"] = peak_rss_mb()
        say(f"{name}: warm latency")
        row["warm"] = warm_latency(engine, qs)
        say(f"{name}: cold start")
        row["cold"] = cold_start(work / f"{name}.yaml")
        results["scales"][name] = row
        base = engine
    if base is not None:
        snap = base.snapshot()
        sample = [snap.sentence_text(i) for i in range(0, len(snap.sentences), max(1, len(snap.sentences) // 2000))]
        say("encoder throughput vs sentence-transformers")
        results["encoder"] = encoder_ratio(base, sample[:2000])
    for big in [s for s in scales if s > 100_000]:
        if base is None:
            break
        say(f"{big // 1000}k: building from replayed embeddings of the largest real index")
        million = build_million(work, base, big)
        snap = million.snapshot()
        row = {
            "sentences": len(snap.sentences),
            "vector_index": snap.manifest.vector_indexes["chunks"],
            "warm": warm_latency(million, qs),
        }
        started = time.perf_counter()
        for q in qs:
            snap.chunk_lexical.search(terms(q), 30)
        row["bm25_ms_per_question"] = (time.perf_counter() - started) * 1000 / len(qs)
        results["scales"][f"{big // 1000}k"] = row
    results["peak_rss_mb"] = peak_rss_mb()
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"cores: {results['cores']}")
    for name, row in results["scales"].items():
        line = f"{name:>6}: {row['sentences']:>8,} sentences  warm ask p50 {row['warm']['p50_ms']:.1f} ms p95 {row['warm']['p95_ms']:.1f} ms"
        if "cold" in row:
            line += f"  cold ask {row['cold']['wall_s']:.2f} s {row['cold']['rss_mb']:.0f} MB"
        if "build_sent_per_s" in row:
            line += f"  build {row['build_sent_per_s']:.0f} sentences/s ({row['texts_embedded']:,} texts, {row['build_s']:.0f} s, peak {row['build_peak_rss_mb']:.0f} MB)"
        if "vector_index" in row:
            line += f"  {row['vector_index']}  BM25 {row['bm25_ms_per_question']:.2f} ms"
        print(line)
    if "encoder" in results:
        e = results["encoder"]
        print(
            f"encoder: citebot build encoder {e['citebot_sent_per_s']:.0f} sentences/s, sentence-transformers default "
            f"{e['sentence_transformers_sent_per_s']:.0f} sentences/s: {e['ratio']:.2f}x"
        )
    print(f"peak RSS of this process: {results['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
