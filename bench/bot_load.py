"""Bot under load: 50 /ask interactions within one second while a /reindex runs, over loopback HTTP.

Threads are on (``bot.threads: true``, the default): every answer also starts a public thread on
itself, one more request to Discord per question.

Run: python -m bench.bot_load [--questions 50] [--window 1.0] [--timeout 300]

The real bot and a real engine run against the loopback fake of Discord's HTTP API used by the
tests (tests/bot/fakediscord.py); nothing leaves 127.0.0.1. The corpus is the 17 evaluation
articles plus the seed article, each edited after the first build so that the /reindex has to
embed every article again and takes several seconds. While it runs, questions from the
evaluation set arrive evenly spread over ``--window`` seconds, each from a different user.

Every answer is stored in the feedback database (beside the index, in the temporary folder) for
the buttons under it, as the bot does in production; ``answers_with_buttons`` counts them.

Reported: time to acknowledge (the deferral callback; Discord's deadline is 3 s, the goal < 1 s),
time to the answer (p50, p95, max), how many answers arrived while the re-index was still running,
lost or doubled answers, threads started (one per answer, none twice), and the worst event-loop lag
(the gateway heartbeat shares that loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.client import create_bot
from index.config import load_config
from index.engine import Engine
from tests.bot.fakediscord import MANAGER_PERMISSIONS, FakeDiscord, Interaction, logged_in

THREADS = r"/channels/\d+/messages/\d+/threads"

REPO = Path(__file__).resolve().parents[1]

NEWS = REPO / "eval" / "news"
SEED = REPO / "corpus" / "000_8554960fb2f5e50c.txt"
CONFIG = """corpus_dir: corpus
index_dir: index
bot:
  test_guild: 777000000000000003
  cooldown_questions: 5
  cooldown_seconds: 30
  threads: true
"""


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def make_site(folder: Path) -> Path:
    """A config, the corpus (eval articles + seed) and its index, built once before the load."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    for article in [*sorted((NEWS / "articles").glob("*.md")), SEED]:
        shutil.copy(article, corpus / article.name)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder / "config.yaml"


def edit_every_article(corpus: Path) -> int:
    """Append an editor's note to every article: new hashes, so the re-index embeds them all again."""
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    for path in files:
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(text + "\n\nEditor's note: this story was updated after publication.\n", encoding="utf-8")
    return len(files)


async def loop_lag(stop: asyncio.Event, samples: list[float], tick: float = 0.02) -> None:
    """How late the event loop wakes up, sampled every ``tick`` seconds."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(tick)
        samples.append(time.perf_counter() - started - tick)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    questions = [json.loads(line) for line in (NEWS / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [q for q in questions if q.get("answers")]
    with tempfile.TemporaryDirectory(prefix="citebot-load-") as tmp:
        config = load_config(make_site(Path(tmp)))
        engine = Engine(config)
        started = time.perf_counter()
        first = engine.rebuild()
        build_seconds = time.perf_counter() - started
        edited = edit_every_article(config.corpus_dir)

        fake = FakeDiscord()
        await fake.start()
        bot = create_bot(config, engine)
        try:
            async with logged_in(fake, bot):  # setup_hook: cogs, warm-up, command sync
                stop = asyncio.Event()
                lags: list[float] = []
                lag_task = asyncio.create_task(loop_lag(stop, lags))

                reindex = fake.slash(bot, "reindex", permissions=MANAGER_PERMISSIONS)
                deadline = time.monotonic() + 10
                while not engine.busy and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)  # the rebuild thread has started: the index is being written
                if not engine.busy:
                    raise RuntimeError("the re-index did not start")

                asks: list[tuple[Interaction, dict[str, Any]]] = []
                spacing = args.window / max(1, args.questions - 1)
                burst_start = time.perf_counter()
                for i in range(args.questions):
                    target = burst_start + i * spacing
                    await asyncio.sleep(max(0.0, target - time.perf_counter()))
                    q = questions[i % len(questions)]
                    asks.append((fake.slash(bot, "ask", {"question": q["question"]}, user_id=900_000 + i), q))
                burst_seconds = time.perf_counter() - burst_start

                def done() -> bool:
                    answered = bool(fake.answers(reindex)) and all(fake.answers(a) for a, _ in asks)
                    return answered and len(fake.sent("POST", THREADS)) >= len(asks)

                timed_out = False
                try:
                    await fake.wait_for(done, timeout=args.timeout)
                except TimeoutError:
                    timed_out = True
                await asyncio.sleep(0.5)  # anything sent twice would arrive now
                stop.set()
                await lag_task
        finally:
            await fake.close()

        started_threads = fake.sent("POST", THREADS)
        threaded_messages = {r.path.split("/")[4] for r in started_threads}
        reindex_reqs = fake.for_interaction(reindex)
        reindex_done = fake.answers(reindex)[0].at if fake.answers(reindex) else float("inf")
        acks: list[float] = []
        answers: list[float] = []
        during = lost = doubled = late_acks = abstained = correct = with_buttons = 0
        for interaction, q in asks:
            requests = fake.for_interaction(interaction)
            callbacks = [r for r in requests if r.path.endswith("/callback")]
            followups = [r for r in requests if r.creates_message and not r.path.endswith("/callback")]
            if len(callbacks) > 1 or len(followups) > 1:
                doubled += 1
            if not callbacks:
                lost += 1
                continue
            ack = callbacks[0].at - interaction.fed_at
            acks.append(ack)
            late_acks += ack >= 1.0
            if not followups:
                lost += 1
                continue
            answers.append(followups[0].at - interaction.fed_at)
            during += followups[0].at < reindex_done
            content = followups[0].json.get("content", "")
            abstained += content == "The indexed articles don't say."
            with_buttons += bool(followups[0].json.get("components"))
            shown = content.replace("**", "").lower()  # the answering phrase inside a quote is bold
            correct += any(a.lower() in shown for a in q["answers"])

        return {
            "corpus_articles": first.articles,
            "initial_build_s": round(build_seconds, 2),
            "articles_edited": edited,
            "reindex_s": round(reindex_done - reindex.fed_at, 2),
            "reindex_ack_ms": round((reindex_reqs[0].at - reindex.fed_at) * 1000, 1) if reindex_reqs else None,
            "reindex_report": (fake.answers(reindex)[0].json.get("content", "") if fake.answers(reindex) else ""),
            "questions": len(asks),
            "burst_s": round(burst_seconds, 3),
            "ack_ms_p50": round(percentile(acks, 0.5) * 1000, 1),
            "ack_ms_p95": round(percentile(acks, 0.95) * 1000, 1),
            "ack_ms_max": round(max(acks, default=float("nan")) * 1000, 1),
            "acks_over_1s": late_acks,
            "answer_s_p50": round(percentile(answers, 0.5), 2),
            "answer_s_p95": round(percentile(answers, 0.95), 2),
            "answer_s_max": round(max(answers, default=float("nan")), 2),
            "answered_during_reindex": during,
            "answers_with_expected_phrase": correct,
            "abstained": abstained,
            "answers_with_buttons": with_buttons,
            "lost": lost,
            "answered_twice": doubled,
            "threads_started": len(started_threads),
            "threads_on_one_answer_twice": len(started_threads) - len(threaded_messages),
            "timed_out": timed_out,
            "event_loop_lag_ms_max": round(max(lags, default=0.0) * 1000, 1),
            "event_loop_lag_ms_p99": round(percentile(lags, 0.99) * 1000, 1),
            "cpus": os.cpu_count(),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50, help="how many /ask interactions (max 500)")
    parser.add_argument("--window", type=float, default=1.0, help="seconds over which they arrive (max 10)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting after this many seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    # Bounded by design: a benchmark must not turn into a load generator.
    args.questions = max(1, min(args.questions, 500))
    args.window = max(0.0, min(args.window, 10.0))
    args.timeout = max(10.0, min(args.timeout, 900.0))

    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report = result.pop("reindex_report")
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
        print(f"{'reindex reply':<{width}}  {report.splitlines()[0] if report else '(none)'}")
    ok = (
        not result["timed_out"]
        and result["lost"] == 0
        and result["answered_twice"] == 0
        and result["acks_over_1s"] == 0
        and result["threads_started"] == result["questions"]
        and result["threads_on_one_answer_twice"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
