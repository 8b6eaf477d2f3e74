"""What people said about answers: the answers the bot sent and the votes on them, in one SQLite file.

No Discord in here: the bot stores each answer it sends under a short random key (its buttons carry
the key, so a click after a restart still finds the answer) and records votes against that key.
A vote keeps a salted hash of the user id, never a name or the id itself: ``sha256(salt + id)``,
the salt random and kept in the file, so the same person votes once per answer (a second vote
changes the first) and nobody can be looked up by id without the file.

Verdicts: ``up`` (the answer helped), ``wrong:<n>`` (quote n is wrong, 1-based), ``none`` (none of
the quotes answers), ``abstain`` (it should have said it doesn't know).

:meth:`FeedbackStore.export` turns votes into questions in the evaluation format
(``eval/chat/questions.jsonl``), so feedback becomes regression questions:

- ``up``: the first quote is gold: ``article_id`` its article, ``answers`` its text.
- ``none`` and ``abstain``: unanswerable (``article_id: null``, ``answers: []``, ``kind: "feedback"``).
- ``wrong:<n>``: nothing. It says one quote is wrong, not what the answer is; ``stats`` counts it.

Votes are pooled per question (asked again, the same question is one question): the claim with
the most votes wins, a tie between different claims exports nothing (``disputed`` in the stats).
A follow-up is exported as the engine read it (``read_as``); a "what comes next" follow-up, which
has no question of its own, is not exported.

Every method may be called from any thread (the bot calls them on a worker thread of its own):
one connection, WAL, behind a lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import Answer, Citation

log = logging.getLogger(__name__)

KEY_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"
KEY_LENGTH = 12  # ~62 bits: unguessable enough that a custom_id cannot be aimed at another answer
KEY_PATTERN = r"[0-9a-z]{1,32}"
VERDICTS = ("up", "none", "abstain")  # besides wrong:<n>
NEXT_SENTENCE = "the sentence after sentence "  # how the engine describes a "what comes next" reading

PRUNE_EVERY = 1000  # answers saved between two prunings (besides one when the store opens)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    read_as TEXT NOT NULL,
    filters TEXT NOT NULL,     -- JSON object: the filters that applied
    citations TEXT NOT NULL,   -- JSON list of the shown quotes (every Citation field)
    more TEXT NOT NULL,        -- JSON list of the next best quotes, not shown
    closest TEXT,              -- JSON object: on an abstention, the closest sentence shown; or NULL
    build_id TEXT NOT NULL,
    created TEXT NOT NULL      -- UTC, ISO 8601
);
CREATE TABLE IF NOT EXISTS votes (
    answer_key TEXT NOT NULL REFERENCES answers(key) ON DELETE CASCADE,
    user_hash TEXT NOT NULL,
    verdict TEXT NOT NULL,
    at TEXT NOT NULL,          -- UTC, ISO 8601, of the latest change
    PRIMARY KEY (answer_key, user_hash)
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as the bot sent it, found again by its key."""

    key: str
    question: str
    read_as: str
    filters: dict[str, str]
    citations: tuple[Citation, ...]
    more: tuple[Citation, ...]
    closest: Citation | None
    build_id: str
    created: str

    @property
    def shown(self) -> tuple[Citation, ...]:
        """The quotes people saw and vote on: the citations, or on an abstention the closest sentence."""
        if self.citations:
            return self.citations
        return (self.closest,) if self.closest is not None else ()


@dataclass(frozen=True)
class FeedbackStats:
    """What ``python -m index feedback stats`` prints."""

    answers: int  # answers stored
    voted: int  # answers with at least one vote
    votes: dict[str, int]  # by verdict kind: up, wrong, none, abstain
    wrong_by_position: dict[int, int]  # wrong:<n> votes by n
    by_build: dict[str, dict[str, int]]  # build id -> votes by verdict kind
    exportable: int  # questions export would write
    disputed: int  # questions whose votes tie between different claims

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_verdict(verdict: str, quotes: int | None = None) -> str:
    """``verdict`` when it is one of ``up``, ``none``, ``abstain`` or ``wrong:<n>`` (n within
    ``quotes`` when given); else ValueError."""
    if verdict in VERDICTS:
        return verdict
    match = re.fullmatch(r"wrong:([1-9][0-9]?)", verdict)
    if match and (quotes is None or int(match.group(1)) <= quotes):
        return verdict
    raise ValueError(f"unknown verdict {verdict!r}")


def verdict_kind(verdict: str) -> str:
    """``wrong`` for every ``wrong:<n>``, else the verdict itself."""
    return verdict.split(":", 1)[0]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _new_key() -> str:
    return "".join(secrets.choice(KEY_CHARS) for _ in range(KEY_LENGTH))


def _citation_json(c: Citation) -> dict[str, Any]:
    return dataclasses.asdict(c)


def _citation(data: dict[str, Any]) -> Citation:
    names = {f.name for f in dataclasses.fields(Citation)}
    values = {k: v for k, v in data.items() if k in names}
    if values.get("highlight") is not None:
        values["highlight"] = tuple(values["highlight"])
    return Citation(**values)


class FeedbackStore:
    """The feedback database at ``path`` (created, with its folder, on first use).

    Args:
        path: The SQLite file (``bot.feedback_db``).
        keep_days: Answers nobody voted on are deleted once older than this (the bot passes
            ``bot.feedback_keep_days``), when the store opens and every ``PRUNE_EVERY`` answers
            saved; voted ones are kept. None (reading stats, exporting): nothing is deleted.
    """

    def __init__(self, path: str | Path, *, keep_days: float | None = None) -> None:
        self.path = Path(path)
        self.keep_days = keep_days
        self._saved = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode a commit need not wait for the disk: a power cut may lose the last votes,
            # never the file.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            # INSERT OR IGNORE, then read: two processes opening a new file agree on one salt.
            self._db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('salt', ?)", (secrets.token_hex(16),))
            self._salt = str(self._db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()[0])
        if keep_days is not None:
            self.prune(keep_days)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def user_hash(self, user_id: int | str) -> str:
        """The salted hash that stands for a user in the votes."""
        return hashlib.sha256(f"{self._salt}{user_id}".encode()).hexdigest()

    # --- answers --------------------------------------------------------------------------------

    def save_answer(self, answer: Answer) -> str:
        """Store an answer the bot is about to send; returns its new key (for the buttons)."""
        row = (
            answer.question,
            answer.read_as,
            json.dumps(answer.filters, ensure_ascii=False),
            json.dumps([_citation_json(c) for c in answer.citations], ensure_ascii=False),
            json.dumps([_citation_json(c) for c in answer.more], ensure_ascii=False),
            json.dumps(_citation_json(answer.closest), ensure_ascii=False) if answer.closest else None,
            answer.build_id,
            _now(),
        )
        with self._lock:
            while True:
                key = _new_key()
                try:
                    self._db.execute(
                        "INSERT INTO answers (key, question, read_as, filters, citations, more, closest, build_id,"
                        " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, *row),
                    )
                    break
                except sqlite3.IntegrityError:  # a key drawn twice: draw again
                    continue
            self._saved += 1
        if self.keep_days is not None and self._saved % PRUNE_EVERY == 0:
            self.prune(self.keep_days)
        return key

    def prune(self, keep_days: float, now: dt.datetime | None = None) -> int:
        """Delete the answers older than ``keep_days`` that nobody voted on; returns how many.
        Their buttons then say the answer is gone; the votes, and the answers voted on, stay."""
        cutoff = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=keep_days)).isoformat(timespec="seconds")
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM answers WHERE created < ? AND key NOT IN (SELECT answer_key FROM votes)", (cutoff,)
            ).rowcount
        if deleted:
            log.info("feedback: deleted %d answers older than %g days that nobody voted on", deleted, keep_days)
        return int(deleted)

    def answer(self, key: str) -> StoredAnswer | None:
        """The answer stored under ``key``, or None when there is none (never stored, or deleted)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else _stored(row)

    # --- votes ----------------------------------------------------------------------------------

    def vote(self, key: str, user_id: int | str, verdict: str) -> str | None:
        """Record ``user_id``'s verdict on answer ``key``: one vote per user and answer, a second
        one replaces the first.

        Returns:
            The user's previous verdict on this answer, or None when this is their first vote.

        Raises:
            KeyError: No answer is stored under ``key``.
            ValueError: The verdict is not one of the known ones (or names a quote the answer lacks).
        """
        stored = self.answer(key)
        if stored is None:
            raise KeyError(key)
        check_verdict(verdict, len(stored.shown))
        who = self.user_hash(user_id)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT verdict FROM votes WHERE answer_key = ? AND user_hash = ?", (key, who)
                ).fetchone()
                self._db.execute(
                    "INSERT INTO votes (answer_key, user_hash, verdict, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (answer_key, user_hash) DO UPDATE SET verdict = excluded.verdict, at = excluded.at",
                    (key, who, verdict, _now()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None if row is None else str(row[0])

    def votes(self) -> list[tuple[str, str, str, str]]:
        """Every vote as (answer key, user hash, verdict, time), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT answer_key, user_hash, verdict, at FROM votes ORDER BY at, rowid"
            ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def _voted_answers(self) -> Iterator[tuple[StoredAnswer, list[str]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT answers.*, group_concat(votes.verdict, ' ') AS verdicts FROM answers"
                " JOIN votes ON votes.answer_key = answers.key GROUP BY answers.key ORDER BY answers.rowid"
            ).fetchall()
        for row in rows:
            yield _stored(row), str(row["verdicts"]).split(" ")

    # --- reading it out -------------------------------------------------------------------------

    def stats(self) -> FeedbackStats:
        """Counts of answers and votes, by verdict and by index build."""
        with self._lock:
            answers = int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])
            rows = self._db.execute(
                "SELECT answers.build_id, votes.verdict FROM votes JOIN answers ON answers.key = votes.answer_key"
            ).fetchall()
            voted = int(self._db.execute("SELECT count(DISTINCT answer_key) FROM votes").fetchone()[0])
        votes: Counter[str] = Counter()
        wrong: Counter[int] = Counter()
        by_build: dict[str, Counter[str]] = {}
        for build_id, verdict in rows:
            kind = verdict_kind(verdict)
            votes[kind] += 1
            by_build.setdefault(build_id, Counter())[kind] += 1
            if kind == "wrong":
                wrong[int(verdict.split(":", 1)[1])] += 1
        questions, disputed = self._pooled()
        return FeedbackStats(
            answers=answers,
            voted=voted,
            votes={k: votes[k] for k in ("up", "wrong", "none", "abstain")},
            wrong_by_position=dict(sorted(wrong.items())),
            by_build={b: dict(c) for b, c in sorted(by_build.items())},
            exportable=len(questions),
            disputed=disputed,
        )

    def export(self) -> list[dict[str, Any]]:
        """The voted questions in the evaluation format (see the module's docstring), oldest first."""
        return self._pooled()[0]

    def _pooled(self) -> tuple[list[dict[str, Any]], int]:
        claims: dict[str, Counter[tuple[str | None, str]]] = {}
        first_seen: dict[str, tuple[str, StoredAnswer]] = {}
        for stored, verdicts in self._voted_answers():
            question = export_question(stored)
            if question is None:
                continue
            norm = " ".join(question.lower().split())
            first_seen.setdefault(norm, (question, stored))
            tally = claims.setdefault(norm, Counter())
            for verdict in verdicts:
                if verdict == "up" and stored.shown:
                    top = stored.shown[0]
                    tally[(top.article_id, top.text)] += 1
                elif verdict in ("none", "abstain"):
                    tally[(None, "")] += 1
        out: list[dict[str, Any]] = []
        disputed = 0
        for norm, tally in claims.items():
            ranked = tally.most_common()
            if not ranked:
                continue  # wrong:<n> votes only
            if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                disputed += 1
                continue
            (article_id, text), count = ranked[0]
            question, stored = first_seen[norm]
            item: dict[str, Any] = {
                "id": "feedback-" + hashlib.sha256(norm.encode()).hexdigest()[:12],
                "article_id": article_id,
                "question": question,
                "answers": [text] if article_id is not None else [],
            }
            if article_id is None:
                item["kind"] = "feedback"
            item["votes"] = count
            item["build_id"] = stored.build_id
            if stored.filters:
                item["filters"] = stored.filters  # asked within these; the evaluation does not apply them
            out.append(item)
        return out, disputed


def export_question(stored: StoredAnswer) -> str | None:
    """The question to export for a stored answer: as asked, or a follow-up as the engine read it;
    None for a "what comes next" follow-up, which is no question on its own."""
    if not stored.read_as:
        return stored.question
    if stored.read_as.startswith(NEXT_SENTENCE):
        return None
    return stored.read_as


def _stored(row: sqlite3.Row) -> StoredAnswer:
    closest = row["closest"]
    return StoredAnswer(
        key=str(row["key"]),
        question=str(row["question"]),
        read_as=str(row["read_as"]),
        filters=dict(json.loads(row["filters"])),
        citations=tuple(_citation(c) for c in json.loads(row["citations"])),
        more=tuple(_citation(c) for c in json.loads(row["more"])),
        closest=_citation(json.loads(closest)) if closest else None,
        build_id=str(row["build_id"]),
        created=str(row["created"]),
    )
