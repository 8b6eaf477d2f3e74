"""Encoder speed and quality: sentence-transformers vs ONNX (fp32, int8, fp16) vs torch bf16/int8, in one run.

    python -m bench.encoder_speed [--sentences 2000] [--rounds 2]

Timings on a shared 2-core machine are noisy, so every number is measured in this one run: the
corpus is cut into slices, every mode encodes every slice once per round with the modes
interleaved, and each slice's best round counts. About 2.5 minutes on a quiet machine at the
default size, up to ~9 when other work takes half the cores.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.embed import resolve_model
from index.embed.export import export_onnx
from index.embed.onnx import META_FILE, ONNX_FILE, TOKENIZER_FILE, OnnxEncoder

REPO = Path(__file__).resolve().parents[1]

Encode = Callable[[Sequence[str]], np.ndarray]

# --- a deterministic news-like corpus --------------------------------------------------------------

_PEOPLE = [
    "Maria Keller",
    "James Okafor",
    "Priya Patel",
    "Tom Whitcombe",
    "Elena Sokolova",
    "Ahmed Rahman",
    "Sophie Laurent",
    "David Kessler",
    "Hannah Moore",
    "Luis Ortega",
    "Grace Chen",
    "Peter Novak",
]
_ROLES = [
    "mayor",
    "finance minister",
    "chief executive",
    "police spokesperson",
    "union leader",
    "head teacher",
    "fire chief",
    "health officer",
    "club manager",
    "judge",
    "council leader",
    "economist",
]
_PLACES = [
    "Westmarch",
    "Rivermouth",
    "Dunmore",
    "Porthaven",
    "Eastbrook",
    "Hatherley",
    "Glasshaven",
    "Calder",
    "Pine Ridge",
    "Saltmarsh",
    "Veloria",
    "Northgate",
]
_ORGS = [
    "the central bank",
    "Tessaro Foods",
    "the rail operator",
    "Voltaro",
    "the city council",
    "the health board",
    "the Lumen space agency",
    "the museum trust",
    "the teachers' union",
    "the football club",
]
_SUBJECTS = [
    "The government",
    "Police",
    "Officials in {place}",
    "{person}, the {role},",
    "Shares in {org_title}",
    "Residents of {place}",
    "Scientists at {org}",
    "The {role}",
    "A spokesperson for {org}",
    "Investors",
    "Emergency services",
    "Opposition leaders",
    "The union",
    "Voters in {place}",
    "Prosecutors",
]
_VERBS = [
    "said on {day} that",
    "warned that",
    "confirmed that",
    "announced that",
    "told reporters that",
    "said in a statement that",
    "denied reports that",
    "insisted that",
    "estimated that",
    "admitted that",
]
_CLAUSES = [
    "inflation rose to {pct} in {month}, the highest level since {year}",
    "the strike would continue until {day} unless the pay offer improved",
    "{n} people were injured when the bus left the road near {place}",
    "the budget includes cuts to libraries, parks and youth services",
    "the river burst its banks overnight, flooding {n} homes in {place}",
    "interest rates would stay at {pct} for the rest of the year",
    "the fire had destroyed more than {n} hectares of forest",
    "profits fell by {pct} as energy and wage costs climbed",
    "the launch was delayed by {n} hours because of high winds",
    "measles cases had risen to {n}, most of them in children under five",
    "{n} scooters were being recalled over a battery fault",
    "the museum would reopen in {month} after a two-year renovation",
    "three primary schools would close at the end of the summer term",
    "the jury had found the former director guilty of bribery",
    "polls would open at 7am and close at 10pm",
]
_EXTRAS = [
    ", according to figures published on {day}",
    ", despite months of negotiations",
    " after a meeting that lasted late into the night",
    ", a decision critics called reckless",
    ", although the details have not yet been agreed",
    " in a move that surprised many analysts",
    ", and that further talks were planned for {month}",
    " while calling for calm",
    ", citing rising costs and falling demand",
    " as crowds gathered outside the building in {place}",
    ", the first such case in {place} for {n} years",
    " and urged anyone with information to come forward",
]
_QUESTIONS = [
    "What did {person} say about the strike?",
    "When will the museum in {place} reopen?",
    "How many people were injured near {place}?",
    "Why did shares in {org_title} fall?",
    "What did the {role} warn about?",
    "How high did inflation rise in {month}?",
    "Who was found guilty of bribery?",
    "How many homes were flooded in {place}?",
    "When do polls open in {place}?",
    "What is being cut in the budget?",
    "Why was the launch delayed?",
    "How many measles cases are there in {place}?",
    "Which schools will close?",
    "What did {org} announce on {day}?",
    "How many scooters were recalled?",
    "What happened to interest rates?",
    "How much forest did the fire destroy?",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "March", "April", "June", "September", "November"]


def _fill(template: str, rng: random.Random) -> str:
    org = rng.choice(_ORGS)
    return template.format(
        person=rng.choice(_PEOPLE),
        role=rng.choice(_ROLES),
        place=rng.choice(_PLACES),
        org=org,
        org_title=org.removeprefix("the ").title(),
        day=rng.choice(_DAYS),
        month=rng.choice(_MONTHS),
        year=rng.randint(1990, 2023),
        n=rng.choice([3, 12, 47, 200, 1200, 12000]),
        pct=f"{rng.uniform(0.5, 12):.1f}%",
    )


def make_sentences(n: int, seed: int = 0) -> list[str]:
    """n news-like sentences of 5-60 words (most 10-35), the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        target = max(5, min(60, round(rng.triangular(5, 60, 18))))
        words = (
            _fill(rng.choice(_SUBJECTS), rng)
            + " "
            + _fill(rng.choice(_VERBS), rng)
            + " "
            + _fill(rng.choice(_CLAUSES), rng)
        ).split()
        while len(words) < target:
            words += _fill(rng.choice(_EXTRAS + [" and " + c for c in _CLAUSES]), rng).split()
        out.append(" ".join(words[:target]).rstrip(",") + ".")
    return out


def make_questions(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [_fill(rng.choice(_QUESTIONS), rng) for _ in range(n)]


# --- encoders under test -----------------------------------------------------------------------------


def _unsorted(enc: OnnxEncoder, batch_size: int) -> Encode:
    """OnnxEncoder's session without length sorting: batches in input order, padded to their longest."""

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            ids = enc._tokenize(texts[i : i + batch_size])
            width = max(len(x) for x in ids)
            input_ids = np.zeros((len(ids), width), dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for row, x in enumerate(ids):
                input_ids[row, : len(x)], mask[row, : len(x)] = x, 1
            feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
            out.append(enc._session.run(None, feed)[0])
        return np.concatenate(out)

    return encode


def _batched(enc: OnnxEncoder, batch_size: int) -> Encode:
    return lambda texts: enc.encode(texts, batch_size=batch_size)


def _fp16_export(fp32_dir: Path, out_dir: Path) -> Path:
    """The fp32 export with float16 weights and compute (float32 inputs/outputs), for onnxruntime's CPU kernels."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out_dir.mkdir(parents=True, exist_ok=True)
    model = convert_float_to_float16(onnx.load(str(fp32_dir / ONNX_FILE)), keep_io_types=True)
    onnx.save(model, str(out_dir / ONNX_FILE))
    shutil.copyfile(fp32_dir / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    meta = json.loads((fp32_dir / META_FILE).read_text())
    meta.update(quantize="fp16", fingerprint="fp16-bench")
    (out_dir / META_FILE).write_text(json.dumps(meta))
    return out_dir


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cold_start(kind: str, model: str, question: str) -> dict[str, float]:
    """Wall time of a fresh interpreter that imports, loads and encodes one question; its peak RSS."""
    if kind == "st":
        body = (
            "from sentence_transformers import SentenceTransformer\nt1 = time.perf_counter()\n"
            f"m = SentenceTransformer({model!r}, device='cpu')\nt2 = time.perf_counter()\n"
            f"m.encode([{question!r}], normalize_embeddings=True)\n"
        )
    else:
        body = (
            "from index.onnx_encoder import OnnxEncoder\nt1 = time.perf_counter()\n"
            f"m = OnnxEncoder(Path({model!r}), threads=1)\nt2 = time.perf_counter()\nm.encode([{question!r}])\n"
        )
    code = (
        "import time\nt0 = time.perf_counter()\nimport json, sys\nfrom pathlib import Path\n"
        + body
        + "t3 = time.perf_counter()\n"
        "print(json.dumps({'import': t1 - t0, 'load': t2 - t1, 'encode': t3 - t2,"
        # ru_maxrss survives exec on Linux, so a child of this big process would report our peak;
        # VmHWM is the peak of the child's own address space.
        " 'rss_mb': [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0] / 1024,"
        " 'torch': 'torch' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    return {"wall": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000, help="corpus size (default 2000)")
    parser.add_argument("--queries", type=int, default=300, help="queries for top-1 agreement (default 300)")
    parser.add_argument("--latency-queries", type=int, default=200, help="single-question encodes (default 200)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved throughput rounds, best kept (default 2)")
    parser.add_argument("--slice", type=int, default=500, help="sentences per timed call (default 500)")
    parser.add_argument("--cold-starts", type=int, default=3, help="fresh processes per encoder (default 3)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    model_dir = Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
    corpus = make_sentences(args.sentences)
    questions = make_questions(max(args.queries, args.latency_queries))
    queries, short_questions = questions[: args.queries], questions[: args.latency_queries]

    work = Path(tempfile.mkdtemp(prefix="encoder-bench-"))
    try:
        t = time.perf_counter()
        export_onnx(model_dir, work / "fp32")
        t_fp32 = time.perf_counter() - t
        t = time.perf_counter()
        export_onnx(model_dir, work / "int8", quantize="int8")
        t_int8 = time.perf_counter() - t
        _fp16_export(work / "fp32", work / "fp16")

        cores = os.cpu_count() or 1
        torch.set_num_threads(cores)
        st = SentenceTransformer(str(model_dir), device="cpu")
        fp32 = OnnxEncoder(work / "fp32", threads=cores)
        int8 = OnnxEncoder(work / "int8", threads=cores)
        fp16 = OnnxEncoder(work / "fp16", threads=cores)
        counts = fp32.token_counts(corpus)
        words = [len(s.split()) for s in corpus]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work skews timings)")
        print(
            f"torch {torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}, {cores} cores, "
            f"torch threads {torch.get_num_threads()}, onnxruntime intra-op threads {cores}"
        )
        print(
            f"corpus: {len(corpus)} sentences, words {min(words)}-{max(words)} (mean {statistics.mean(words):.1f}), "
            f"word pieces {min(counts)}-{max(counts)} (mean {statistics.mean(counts):.1f})"
        )
        print(
            f"export: fp32 {t_fp32:.1f} s, int8 {t_int8:.1f} s (incl. torch import on the first); sizes "
            f"fp32 {(work / 'fp32' / ONNX_FILE).stat().st_size / 1e6:.0f} MB, "
            f"int8 {(work / 'int8' / ONNX_FILE).stat().st_size / 1e6:.0f} MB, "
            f"fp16 {(work / 'fp16' / ONNX_FILE).stat().st_size / 1e6:.0f} MB"
        )

        def st_encode(model: SentenceTransformer, bf16_autocast: bool = False) -> Encode:
            def encode(texts: Sequence[str]) -> np.ndarray:
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_autocast):
                    return model.encode(
                        list(texts),
                        batch_size=32,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )

            return encode

        modes: dict[str, Encode] = {"(a) sentence-transformers fp32, batch 32": st_encode(st)}
        modes["(b) onnx fp32, length-sorted, batch 64"] = lambda x: fp32.encode(x, batch_size=64)
        modes["(b') onnx fp32, input order, batch 64"] = _unsorted(fp32, 64)
        for bs in (32, 128):
            modes[f"(b) onnx fp32, length-sorted, batch {bs}"] = _batched(fp32, bs)
        modes["(c) onnx int8 dynamic, length-sorted, batch 64"] = lambda x: int8.encode(x, batch_size=64)
        modes["(d) torch bf16 autocast (sentence-transformers)"] = st_encode(st, bf16_autocast=True)
        st_bf16 = copy.deepcopy(st).to(torch.bfloat16)
        modes["(e) torch bf16 weights (sentence-transformers)"] = st_encode(st_bf16)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
                st_qint8 = torch.ao.quantization.quantize_dynamic(
                    copy.deepcopy(st), {torch.nn.Linear}, dtype=torch.qint8
                )
            modes["(e) torch int8 dynamic (nn.Linear)"] = st_encode(st_qint8)
        except Exception as exc:  # deprecated in torch 2.x; report instead of failing the bench
            print(f"torch dynamic int8 unavailable: {exc}")
        modes["(e) onnx fp16 (fp32 in/out), length-sorted, batch 64"] = lambda x: fp16.encode(x, batch_size=64)

        # Throughput. Other work on the machine comes in bursts, so the corpus is cut into slices and
        # every mode encodes every slice once per round, modes interleaved; a slice's best round counts.
        slices = [corpus[i : i + args.slice] for i in range(0, len(corpus), args.slice)]
        for encode in modes.values():
            encode(corpus[:64])  # warm-up: first-call allocations, oneDNN/MLAS kernel selection
        slice_best = {name: [float("inf")] * len(slices) for name in modes}
        slice_cpu = {name: [float("inf")] * len(slices) for name in modes}
        slice_vectors: dict[str, list[np.ndarray]] = {name: [np.empty(0)] * len(slices) for name in modes}
        for _ in range(args.rounds):
            for k, part in enumerate(slices):
                for name, encode in modes.items():
                    wall0, cpu0 = time.perf_counter(), time.process_time()
                    slice_vectors[name][k] = encode(part)
                    slice_best[name][k] = min(slice_best[name][k], time.perf_counter() - wall0)
                    slice_cpu[name][k] = min(slice_cpu[name][k], time.process_time() - cpu0)
        best = {name: sum(times) for name, times in slice_best.items()}
        cpu = {name: sum(times) for name, times in slice_cpu.items()}
        vectors = {name: _normalise(np.concatenate(parts)) for name, parts in slice_vectors.items()}
        base = "(a) sentence-transformers fp32, batch 32"
        print(
            f"\nthroughput on {len(corpus)} sentences ({len(slices)} slices, best of {args.rounds} interleaved rounds each)"
        )
        # CPU seconds (all threads of this process) barely grow when other processes take the cores,
        # so their ratio is the steadier one on a busy machine; wall time is what a user waits.
        print(f"{'mode':58} {'wall s':>7} {'sent/s':>7} {'vs (a)':>7} {'cpu s':>7} {'vs (a)':>7}")
        for name, seconds in best.items():
            print(
                f"{name:58} {seconds:7.2f} {len(corpus) / seconds:7.0f} {best[base] / seconds:6.2f}x "
                f"{cpu[name]:7.2f} {cpu[base] / cpu[name]:6.2f}x"
            )

        # Quality of each reduced-precision mode against sentence-transformers fp32.
        ref_name = "(a) sentence-transformers fp32, batch 32"
        ref_c, ref_q = vectors[ref_name], _normalise(modes[ref_name](queries))
        ref_scores = ref_q @ ref_c.T  # (queries, sentences)
        ref_top = ref_scores.argmax(axis=1)
        ref_top3 = np.argsort(-ref_scores, axis=1)[:, :3]
        # How close the race for first place is in fp32: near-ties flip under any perturbation.
        ordered = np.sort(ref_scores, axis=1)
        margins = ordered[:, -1] - ordered[:, -2]
        print(f"\nquality vs sentence-transformers fp32 ({len(queries)} queries, top-1 among {len(corpus)} sentences)")
        print(
            f"(fp32 gap between best and second-best sentence: median {np.median(margins):.4f}, "
            f"{(margins < 0.01).mean():.0%} of queries under 0.01)"
        )
        print(f"{'mode':58} {'top-1 same':>10} {'in top-3':>9} {'mean cos':>9} {'min cos':>9}")
        for name in modes:
            if (
                ("length-sorted, batch" in name and "batch 64" not in name)
                or name.startswith("(b')")
                or name == ref_name
            ):
                continue
            c, q = vectors[name], _normalise(modes[name](queries))
            top = (q @ c.T).argmax(axis=1)
            same = float((top == ref_top).mean())
            in_top3 = float((ref_top3 == top[:, None]).any(axis=1).mean())
            cos = np.concatenate([(c * ref_c).sum(axis=1), (q * ref_q).sum(axis=1)])
            print(f"{name:58} {same:10.1%} {in_top3:9.1%} {cos.mean():9.5f} {cos.min():9.5f}")

        # Single-question latency, one thread each, encoders interleaved question by question.
        torch.set_num_threads(1)
        lat_models = {
            "sentence-transformers fp32": st_encode(st),
            "onnx fp32": OnnxEncoder(work / "fp32", threads=1).encode,
            "onnx int8": OnnxEncoder(work / "int8", threads=1).encode,
        }
        for encode in lat_models.values():
            encode(short_questions[:8])
        times: dict[str, list[float]] = {k: [] for k in lat_models}
        for question in short_questions:
            for name, encode in lat_models.items():
                t = time.perf_counter()
                encode([question])
                times[name].append(time.perf_counter() - t)
        print(
            f"\nsingle-question latency, 1 thread ({len(short_questions)} questions, "
            f"{statistics.mean(fp32.token_counts(short_questions)):.1f} word pieces on average)"
        )
        st_p50 = _ms(times["sentence-transformers fp32"], 50)
        for name, values in times.items():
            print(
                f"{name:30} p50 {_ms(values, 50):6.2f} ms  p95 {_ms(values, 95):6.2f} ms  "
                f"({st_p50 / _ms(values, 50):.1f}x vs sentence-transformers at p50)"
            )

        # Cold start: a fresh interpreter imports, loads, encodes one question (median of N runs).
        print(f"\ncold start of a fresh process: import + load + encode one question (median of {args.cold_starts})")
        question = short_questions[0]
        runs = {
            "sentence-transformers fp32": ("st", str(model_dir)),
            "onnx fp32 (import index.onnx_encoder)": ("onnx", str(work / "fp32")),
            "onnx int8 (import index.onnx_encoder)": ("onnx", str(work / "int8")),
        }
        results: dict[str, list[dict[str, float]]] = {k: [] for k in runs}
        for _ in range(args.cold_starts):
            for name, (kind, path) in runs.items():
                results[name].append(_cold_start(kind, path, question))
        for name, rs in results.items():
            med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "import", "load", "encode", "rss_mb")}
            print(
                f"{name:40} wall {med['wall']:5.2f} s (import {med['import']:.2f}, load {med['load']:.2f}, "
                f"encode {med['encode']:.3f})  peak RSS {med['rss_mb']:4.0f} MB  torch imported: {rs[0]['torch']}"
            )
        print(
            "(import of index.onnx_encoder includes the index package's __init__: config, engine, faiss, ...)\n"
            "(peak RSS is the child's VmHWM: ru_maxrss of a child of this process would include ours)"
        )
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
            f"total {time.perf_counter() - started:.0f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
