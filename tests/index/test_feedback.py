"""The feedback store (answers sent, votes on them) and ``python -m index feedback``, on real answers."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.cli import main
from index.engine import Engine
from index.feedback import FeedbackStore, check_verdict, export_question
from index.models import Answer
from tests.conftest import SEED_ID

PROTEST = "who led the protest?"


@pytest.fixture
def answer(seed_engine: Engine) -> Answer:
    found = seed_engine.ask(PROTEST)
    assert not found.abstained and found.build_id and found.more
    # Shown as with search.every_quote: a second quote to vote on.
    return dataclasses.replace(found, citations=(*found.citations, found.more[0]), more=found.more[1:])


def db_path(engine: Engine) -> Path:
    path = engine.config.bot.feedback_db
    assert path is not None
    return path


def test_the_default_database_sits_beside_the_index(seed_engine: Engine) -> None:
    config = seed_engine.config
    assert db_path(seed_engine) == config.index_dir.parent / "feedback.sqlite3"


def test_an_answer_comes_back_whole_by_its_key(answer: Answer, tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "fb.sqlite3") as store:
        key = store.save_answer(answer)
        other = store.save_answer(answer)
        assert key != other and len(key) == 12 and key.isalnum() and key == key.lower()
        stored = store.answer(key)
        assert store.answer("nosuchkey") is None
    assert stored is not None
    assert stored.question == PROTEST
    assert stored.citations == answer.citations  # every field, the score and highlight included
    assert stored.more == answer.more
    assert stored.build_id == answer.build_id
    assert stored.shown == answer.citations


def test_one_vote_per_user_and_answer_a_second_changes_it(answer: Answer, tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    with FeedbackStore(path) as store:
        key = store.save_answer(answer)
        assert store.vote(key, 1234567890, "up") is None
        assert store.vote(key, 1234567890, "wrong:1") == "up"
        assert store.vote(key, 42, "none") is None
        votes = store.votes()
        with pytest.raises(KeyError):
            store.vote("gone", 1, "up")
        with pytest.raises(ValueError):
            store.vote(key, 1, "wrong:9")  # no ninth quote
        with pytest.raises(ValueError):
            store.vote(key, 1, "meh")
    assert sorted(v[2] for v in votes) == ["none", "wrong:1"]
    hashes = {v[1] for v in votes}
    assert len(hashes) == 2 and all(len(h) == 64 for h in hashes)
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("fb.sqlite3-*"))
    assert b"1234567890" not in raw  # the id itself is nowhere in the file
    # The salt is the file's: reopened, the same user is the same hash (and changes, not adds).
    with FeedbackStore(path) as again:
        assert again.vote(key, 42, "abstain") == "none"
        assert len(again.votes()) == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_old_answers_nobody_voted_on_are_pruned_voted_ones_kept(answer: Answer, tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    with FeedbackStore(path) as store:
        old_unvoted, old_voted, fresh = (store.save_answer(answer) for _ in range(3))
        store.vote(old_voted, 7, "up")
    with sqlite3.connect(path) as db:  # two of them as if sent 100 days ago
        db.execute(
            "UPDATE answers SET created = '2000-01-01T00:00:00+00:00' WHERE key IN (?, ?)", (old_unvoted, old_voted)
        )
    with FeedbackStore(path) as reader:  # stats and export open it so: nothing is deleted
        assert reader.answer(old_unvoted) is not None
    with FeedbackStore(path, keep_days=90) as bot_store:  # as the bot opens it
        assert bot_store.answer(old_unvoted) is None
        assert bot_store.answer(old_voted) is not None and bot_store.answer(fresh) is not None
        assert len(bot_store.votes()) == 1
        assert bot_store.prune(90) == 0  # nothing more to delete


def test_verdicts() -> None:
    for ok in ("up", "none", "abstain", "wrong:1", "wrong:3"):
        assert check_verdict(ok, 3) == ok
    for bad in ("wrong:0", "wrong:4", "wrong:", "down", "UP"):
        with pytest.raises(ValueError):
            check_verdict(bad, 3)


def test_export_turns_votes_into_eval_questions(answer: Answer, seed_engine: Engine, tmp_path: Path) -> None:
    unanswered = seed_engine.ask("what colour is the moon's cheese")
    with FeedbackStore(tmp_path / "fb.sqlite3") as store:
        good = store.save_answer(answer)
        again = store.save_answer(dataclasses.replace(answer, question="Who  led the PROTEST?"))
        bad = store.save_answer(dataclasses.replace(unanswered, abstained=False, citations=answer.citations))
        wrong_only = store.save_answer(dataclasses.replace(answer, question="who was arrested?"))
        tie = store.save_answer(dataclasses.replace(answer, question="where was the rally?"))
        store.vote(good, 1, "up")
        store.vote(again, 2, "up")  # the same question asked again: pooled, one question
        store.vote(again, 3, "none")  # outvoted 2 to 1
        store.vote(bad, 1, "abstain")
        store.vote(wrong_only, 1, "wrong:2")
        store.vote(tie, 1, "up")
        store.vote(tie, 2, "none")
        items = store.export()
        stats = store.stats()
    first = answer.citations[0]
    assert items[0] == {
        "id": items[0]["id"],
        "article_id": SEED_ID,
        "question": PROTEST,
        "answers": [first.text],
        "votes": 2,
        "build_id": answer.build_id,
    }
    assert items[1]["article_id"] is None and items[1]["answers"] == [] and items[1]["kind"] == "feedback"
    assert len(items) == 2  # wrong:<n> alone exports nothing; a tie is left out
    assert stats.answers == 5 and stats.voted == 5
    assert stats.votes == {"up": 3, "wrong": 1, "none": 2, "abstain": 1}
    assert stats.wrong_by_position == {2: 1}
    assert stats.exportable == 2 and stats.disputed == 1
    assert stats.by_build[answer.build_id]["up"] == 3


def test_a_follow_up_exports_as_read_and_next_not_at_all(answer: Answer) -> None:
    from index.feedback import StoredAnswer

    base = StoredAnswer("k", "and his wife?", "", {}, answer.citations, (), None, "b", "t")
    assert export_question(base) == "and his wife?"
    assert export_question(dataclasses.replace(base, read_as="who is khan's wife")) == "who is khan's wife"
    nxt = dataclasses.replace(base, read_as=f"the sentence after sentence 4 of {SEED_ID}")
    assert export_question(nxt) is None


def test_the_cli_prints_stats_and_exports(answer: Answer, seed_engine: Engine, tmp_path: Path) -> None:
    config = seed_engine.config.base_dir / "config.yaml"
    runner = CliRunner()
    empty = runner.invoke(main, ["--config", str(config), "feedback", "stats"], catch_exceptions=False)
    assert empty.exit_code == 0 and "No feedback yet" in empty.output
    with FeedbackStore(db_path(seed_engine)) as store:
        store.vote(store.save_answer(answer), 7, "up")
        store.vote(store.save_answer(answer), 8, "wrong:1")
    shown = runner.invoke(main, ["--config", str(config), "feedback", "stats"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "2 answers stored, 2 with votes" in shown.output
    assert "1 helped, 1 a quote wrong, 0 none answers" in shown.output
    as_json = runner.invoke(main, ["--config", str(config), "feedback", "stats", "--json"], catch_exceptions=False)
    assert json.loads(as_json.output)["votes"]["up"] == 1
    out = tmp_path / "regress.jsonl"
    exported = runner.invoke(main, ["--config", str(config), "feedback", "export", str(out)], catch_exceptions=False)
    assert exported.exit_code == 0 and "wrote 1 question to" in exported.output
    (item,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert item["article_id"] == SEED_ID and item["question"] == PROTEST
    assert "Bushra Bibi" in item["answers"][0]


def test_feedback_db_resolves_like_the_other_paths(tmp_path: Path) -> None:
    from index.config import load_config

    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.yaml"
    path.write_text("index_dir: data/index\n", encoding="utf-8")
    assert load_config(path).bot.feedback_db == tmp_path / "conf" / "data" / "feedback.sqlite3"
    moved = load_config(path, index_dir=tmp_path / "elsewhere" / "idx")
    assert moved.bot.feedback_db == tmp_path / "elsewhere" / "feedback.sqlite3"  # follows --index-dir
    path.write_text("bot:\n  feedback_db: votes/fb.sqlite3\n", encoding="utf-8")
    assert load_config(path).bot.feedback_db == tmp_path / "conf" / "votes" / "fb.sqlite3"
