"""The buttons under every answer, against the loopback fake of Discord's HTTP API.

The real bot and a real engine over the three fixture articles: the components it sends with an
answer, what a click (interaction type 3) and a menu choice get back, the votes written to the
feedback database, and a click on an old answer handled by a new bot on the same database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.client import CitebotBot, create_bot
from bot.render import CLOSEST_TEXT, quote_text, render_answer
from bot.views import (
    GONE_TEXT,
    WHAT_WAS_WRONG,
    ContextButton,
    DownButton,
    MoreButton,
    UpButton,
    WhySelect,
    answer_view,
    view_for,
)
from index.config import load_config
from index.embed import Encoder
from index.engine import Engine
from index.feedback import FeedbackStore
from index.models import Answer, Citation
from tests.bot.conftest import running
from tests.bot.fakediscord import CHANNEL_ID, FakeDiscord, Interaction, Recorded, logged_in, plain
from tests.bot.test_http_payloads import EPHEMERAL, MESSAGE, assert_safe, callback
from tests.bot.test_threads import thread_started, with_bot
from tests.conftest import write_config

UPDATE = 7  # UPDATE_MESSAGE: a menu choice edits the message it was made in
BUTTON, SELECT = 2, 3
PROTEST = "who led the protest?"
BUSHRA = "Khan's wife, Bushra Bibi, led the latest protest"
VOTER = 888000000000000123


def db_of(bot: CitebotBot) -> Path:
    path = bot.config.bot.feedback_db
    assert path is not None
    return path


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    rows = message.get("components") or []
    assert len(rows) <= 5 and all(row["type"] == 1 for row in rows)
    return [c for row in rows for c in row["components"]]


def by_label(message: dict[str, Any]) -> dict[str, str]:
    return {b["label"]: b["custom_id"] for b in buttons(message)}


async def ask(fake: FakeDiscord, bot: CitebotBot, question: str = PROTEST) -> dict[str, Any]:
    """Ask with /ask; the stored answer message (the interaction's original response)."""
    interaction = fake.slash(bot, "ask", {"question": question})
    await fake.wait_answered(interaction)
    return fake.original(interaction)


async def click(
    fake: FakeDiscord, bot: CitebotBot, message: dict[str, Any], custom_id: str, **kw: Any
) -> tuple[Interaction, Recorded]:
    clicked = fake.click(bot, int(message["id"]), custom_id, **kw)
    await fake.wait_answered(clicked)
    return clicked, callback(fake, clicked)


def ephemeral(reply: Recorded) -> str:
    assert reply.json["type"] == MESSAGE, reply.json
    assert reply.message["flags"] & EPHEMERAL
    return str(reply.message["content"])


@pytest.mark.asyncio
async def test_an_answer_carries_its_four_buttons(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    assert BUSHRA in plain(answer["content"])
    labels = by_label(answer)
    assert list(labels) == ["Context", "More", "👍", "👎"]
    (key,) = {custom_id.rsplit(":", 1)[1] for custom_id in labels.values()}
    assert labels == {
        "Context": f"citebot:ctx:{key}",
        "More": f"citebot:more:{key}",
        "👍": f"citebot:up:{key}",
        "👎": f"citebot:down:{key}",
    }
    assert all(len(c) <= 100 for c in labels.values())
    assert all(b["type"] == BUTTON for b in buttons(answer))
    with FeedbackStore(db_of(bot)) as store:
        stored = store.answer(key)
    assert stored is not None and stored.question == PROTEST and stored.build_id
    assert [c.sentence for c in stored.citations] and stored.more


@pytest.mark.asyncio
async def test_more_is_left_out_when_there_is_no_more(tmp_path: Path, encoder: Encoder) -> None:
    # An article of one sentence: the one quote is all there is, so nothing waits behind More.
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "protest.txt").write_text(f"{BUSHRA} on Tuesday.\n", encoding="utf-8")
    config = load_config(write_config(tmp_path))
    engine = Engine(config, encoder=encoder)
    engine.rebuild()
    async with running(config, engine) as (fake, bot):
        answer = await ask(fake, bot)
        await thread_started(fake)
    assert BUSHRA in plain(answer["content"])
    assert list(by_label(answer)) == ["Context", "👍", "👎"]


@pytest.mark.asyncio
async def test_a_plain_abstention_has_no_buttons(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot, "what is the capital of France?")
    assert answer["content"] == "The indexed articles don't say."
    assert buttons(answer) == []


@pytest.mark.asyncio
async def test_context_shows_the_neighbours_with_the_quote_in_bold(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot, "when does the library reopen?")
    _, reply = await click(fake, bot, answer, by_label(answer)["Context"], user_id=VOTER)
    text = ephemeral(reply)
    # Quote 1 is sentence 1 of the library article: itself and the two after it (none before).
    assert text.startswith("**[1]** *The Alder Street library in Hatherley reopened")
    assert "*, 2025-09-02, sentences" in text
    assert "sentences 1–3 (article `alder-street-library`)" in text  # a local file: no link
    assert "`1` **The Alder Street library in Hatherley reopened on Tuesday" in text
    assert "`2` The Victorian building had been closed since March 2024" in text
    assert "`3` Builders replaced the roof" in text
    # Quote 2 (sentence 6): 4 to 8, the last sentence of the article.
    assert "sentences 4–8" in text and "`6` **The library now opens until 8pm on weekdays" in text
    assert_safe(fake)


@pytest.mark.asyncio
async def test_more_shows_the_next_quotes_to_the_clicker(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    _, reply = await click(fake, bot, answer, by_label(answer)["More"])
    text = ephemeral(reply)
    assert text.startswith("**[4]** “")  # numbered on from the three shown
    assert "Shahzor Ali" in text and BUSHRA not in text
    assert "sentence 17" in text
    assert_safe(fake)


@pytest.mark.asyncio
async def test_thumbs_up_is_one_vote_by_a_salted_hash(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    up = by_label(answer)["👍"]
    _, first = await click(fake, bot, answer, up, user_id=VOTER)
    assert ephemeral(first) == "Thanks, noted: this answer helped."
    _, again = await click(fake, bot, answer, up, user_id=VOTER)
    assert ephemeral(again) == "You had already said so: this answer helped."
    with FeedbackStore(db_of(bot)) as store:
        ((key, who, verdict, _),) = store.votes()
        assert who == store.user_hash(VOTER)
    assert up.endswith(key) and verdict == "up"
    raw = b"".join(p.read_bytes() for p in db_of(bot).parent.glob("feedback.sqlite3*"))
    assert str(VOTER).encode() not in raw and f"user{VOTER % 1000}".encode() not in raw  # no id, no name
    assert_safe(fake)


@pytest.mark.asyncio
async def test_thumbs_down_asks_what_was_wrong_and_a_second_choice_changes_the_vote(
    http_bot: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    down, reply = await click(fake, bot, answer, by_label(answer)["👎"], user_id=VOTER)
    assert ephemeral(reply) == WHAT_WAS_WRONG
    menu = fake.original(down)
    (select,) = buttons(menu)
    key = by_label(answer)["👎"].rsplit(":", 1)[1]
    assert select["type"] == SELECT and select["custom_id"] == f"citebot:why:{key}"
    options = {o["value"]: o for o in select["options"]}
    assert list(options) == ["wrong:1", "wrong:2", "wrong:3", "none", "abstain"]
    assert options["wrong:1"]["label"] == "Quote 1 is wrong"
    assert options["wrong:1"]["description"].startswith(BUSHRA)
    assert options["none"]["label"] == "None of them answers"
    assert options["abstain"]["label"] == "It should have said it doesn't know"
    assert len(select["options"]) <= 25
    assert all(len(o["label"]) <= 80 and len(o.get("description") or "") <= 100 for o in select["options"])

    _, chose = await click(fake, bot, menu, select["custom_id"], values=["wrong:2"], user_id=VOTER)
    assert chose.json["type"] == UPDATE
    assert chose.json["data"]["content"] == "Thanks, noted: quote 2 is wrong."
    assert chose.json["data"]["components"] == []  # the menu is gone from the message
    # The same user, from the answer's 👎 again: the vote changes, it does not add a second.
    down2, _ = await click(fake, bot, answer, by_label(answer)["👎"], user_id=VOTER)
    _, changed = await click(fake, bot, fake.original(down2), select["custom_id"], values=["abstain"], user_id=VOTER)
    assert changed.json["data"]["content"] == "Changed your vote: it should have said it doesn't know."
    # Another member has a menu of their own (the first one was only shown to the first).
    theirs, _ = await click(fake, bot, answer, by_label(answer)["👎"], user_id=VOTER + 1)
    _, other = await click(fake, bot, fake.original(theirs), select["custom_id"], values=["none"], user_id=VOTER + 1)
    assert other.json["data"]["content"] == "Thanks, noted: none of the quotes answers the question."
    with FeedbackStore(db_of(bot)) as store:
        verdicts = sorted(v[2] for v in store.votes())
    assert verdicts == ["abstain", "none"]
    assert_safe(fake)


@pytest.mark.asyncio
async def test_views_are_sent_stopped_and_the_templates_stay_registered(
    http_bot: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    down, _ = await click(fake, bot, answer, by_label(answer)["👎"])
    await click(
        fake, bot, fake.original(down), f"citebot:why:{by_label(answer)['👎'].rsplit(':', 1)[1]}", values=["none"]
    )
    assert answer_view("abc", more=True).is_finished()  # discord.py sends it and keeps no timer for it
    registry = bot._connection._view_store._dynamic_items  # discord.py's: template -> item class
    assert {ContextButton, MoreButton, UpButton, DownButton, WhySelect} <= set(registry.values())


@pytest.mark.asyncio
async def test_a_new_bot_on_the_same_database_answers_clicks_on_old_answers(news_engine: Engine) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        first = create_bot(news_engine.config, news_engine)
        async with logged_in(fake, first):
            answer = await ask(fake, first)
        assert first.is_closed()
        restarted = create_bot(news_engine.config, news_engine)  # a new process would be the same
        async with logged_in(fake, restarted):
            _, more = await click(fake, restarted, answer, by_label(answer)["More"])
            assert "Shahzor Ali" in ephemeral(more)
            _, up = await click(fake, restarted, answer, by_label(answer)["👍"], user_id=VOTER)
            assert ephemeral(up) == "Thanks, noted: this answer helped."
            assert restarted.feedback is not None
            assert len(await_votes(restarted)) == 1
    finally:
        await fake.close()
    assert_safe(fake)


def await_votes(bot: CitebotBot) -> list[tuple[str, str, str, str]]:
    assert bot.feedback is not None
    return bot.feedback.votes()


@pytest.mark.asyncio
async def test_a_click_on_an_answer_no_longer_stored_says_so(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    answer = await ask(fake, bot)
    key = by_label(answer)["Context"].rsplit(":", 1)[1]
    with sqlite3.connect(db_of(bot)) as db:
        db.execute("DELETE FROM answers WHERE key = ?", (key,))
    for label in ("Context", "More", "👍", "👎"):
        _, reply = await click(fake, bot, answer, by_label(answer)[label])
        assert ephemeral(reply) == GONE_TEXT
    assert_safe(fake)


@pytest.mark.asyncio
async def test_buttons_go_on_the_answer_in_a_thread_too(news_engine: Engine) -> None:
    from tests.bot.test_threads import MENTION, answered_in, posted_in

    async with running(with_bot(news_engine.config, threads=True), news_engine) as (fake, bot):
        fake.message(bot, f"{MENTION} {PROTEST}")
        (start,) = await thread_started(fake)
        (reply,) = posted_in(fake, CHANNEL_ID)  # the answer, in the channel: the thread starts on it
        assert start.path == f"/channels/{CHANNEL_ID}/messages/{reply_id(fake, reply)}/threads"
        assert list(by_label(reply.json)) == ["Context", "More", "👍", "👎"]
        thread_id = reply_id(fake, reply)  # a thread on a message has the message's id
        fake.message(bot, "who led the protest in islamabad?", channel_id=thread_id)
        (follow_up,) = await answered_in(fake, thread_id)
        assert list(by_label(follow_up.json)) == ["Context", "More", "👍", "👎"]
    assert_safe(fake)


def reply_id(fake: FakeDiscord, request: Recorded) -> int:
    """The id the fake gave the message a request created."""
    (message,) = [m for m in fake.messages.values() if m["content"] == request.json["content"] and m["author"]["bot"]]
    return int(message["id"])


# --- rendering, on answers made by hand --------------------------------------------------------


def citation(text: str, highlight: tuple[int, int] | None = None, **kw: Any) -> Citation:
    fields: dict[str, Any] = dict(
        text=text,
        article_id="a1",
        title="A title",
        date="2025-01-02",
        source="https://example.org/a1",
        sentence=4,
        start=0,
        end=len(text),
        score=0.2,
        highlight=highlight,
    )
    fields.update(kw)
    return Citation(**fields)


def test_the_answering_phrase_is_bold_and_the_rest_escaped() -> None:
    text = "The *acting* chief, Ana_Ruiz, said @everyone must leave."
    start = text.index("Ana_Ruiz")
    bold = quote_text(citation(text, (start, start + len("Ana_Ruiz"))))
    assert bold == "The \\*acting\\* chief, **Ana\\_Ruiz**, said @\u200beveryone must leave."
    # A span padded with spaces is tightened; a span outside the text is ignored (the quote stays plain).
    padded = "Police said Bushra Bibi led it"
    at = padded.index("Bushra")
    assert quote_text(citation(padded, (at - 1, at + 11))) == "Police said **Bushra Bibi** led it"
    assert quote_text(citation(padded, (5, 500))) == padded
    assert quote_text(citation(padded, (3, 3))) == padded
    assert quote_text(citation(padded, None)) == padded
    cut = quote_text(citation("and then Bibi spoke", (9, 13), cut_start=True, cut_end=True))
    assert cut == "…and then **Bibi** spoke…"


def test_an_answer_renders_its_highlight() -> None:
    text = "Khan's wife, Bushra Bibi, led the latest protest."
    answer = Answer("who led?", abstained=False, citations=(citation(text, (13, 24)),))
    (part,) = render_answer(answer)
    assert part.startswith("**[1]** “Khan's wife, **Bushra Bibi**, led the latest protest.”\n— *A title*")


def test_an_abstention_shows_the_closest_sentence_marked() -> None:
    closest = citation("The council met on Tuesday.", (19, 26))
    answer = Answer("when will it reopen?", abstained=True, closest=closest)
    (part,) = render_answer(answer)
    assert part.startswith(f"{CLOSEST_TEXT}\n“The council met on **Tuesday**.”\n— *A title*, 2025-01-02")
    assert CLOSEST_TEXT == "Closest I found — it may not answer your question:"
    assert render_answer(Answer("q", abstained=True)) == ["The indexed articles don't say."]


@pytest.mark.asyncio
async def test_the_closest_sentence_gets_the_buttons_but_no_more(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    _, bot = http_bot
    closest = citation("The council met on Tuesday.")
    view = await view_for(bot, Answer("when?", abstained=True, closest=closest, more=(closest,)))
    assert view is not None
    assert [i.item.label for i in view.children] == ["Context", "👍", "👎"]
    assert await view_for(bot, Answer("when?", abstained=True)) is None


@pytest.mark.asyncio
async def test_context_pings_nobody_and_overflows_into_ephemeral_followups(
    http_bot: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = http_bot
    harbour = await ask(fake, bot, "what did the union's strike call say?")
    _, reply = await click(fake, bot, harbour, by_label(harbour)["Context"])
    text = ephemeral(reply)
    assert "stop work at noon" in text and "<https://example.org/news/port-kellan-walkout>" in text
    for raw in ("@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>"):
        assert raw not in text
    # The seed article's sentences are long: three quotes' context is over 2,000 characters.
    protest = await ask(fake, bot)
    clicked, _ = await click(fake, bot, protest, by_label(protest)["Context"])
    await fake.wait_for(lambda: len(fake.answers(clicked)) >= 2)
    _, *followups = fake.answers(clicked)
    assert followups and all(f.path.startswith("/webhooks/") and f.json["flags"] & EPHEMERAL for f in followups)
    texts = [r.message["content"] for r in fake.answers(clicked)]
    assert texts[0].startswith("**[1]** ") and any(t.startswith("**[3]** ") for t in texts[1:])
    assert all(len(t) <= 2000 for t in texts)
    assert_safe(fake)  # allowed_mentions {"parse": []} on every response and every followup
