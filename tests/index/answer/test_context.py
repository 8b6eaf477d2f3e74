"""Questions in context, on small real articles through the real engine: filters applied before
ranking, follow-ups that remember, and the newer article winning a tie."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index.answer import Conversation, make_filters
from index.answer.conversation import read_follow_up
from index.engine import Engine
from index.errors import QuestionError
from index.models import Answer

STRIKE = """---
title: Valdora miners strike
date: 2025-03-04
source: https://www.dawn.com/news/valdora-strike
---
Maria Lopez led the strike at the Valdora copper mine on Tuesday.

Lopez said the miners would stay out until the company restored the night-shift bonus.

The company, Terrano Metals, said it had offered a pay rise of four per cent.

Police closed the road to the mine on Wednesday morning.
"""

FLOODS = """---
title: Floods in Kelby
date: 2025-06-10
source: Reuters
---
Heavy rain flooded the centre of Kelby on Sunday night.

The council said 300 homes had been evacuated and two schools would stay closed.

Volunteers handed out sandbags outside the town hall.
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def engine(make_engine: Callable[..., Engine], tmp_path: Path) -> Engine:
    src = tmp_path / "src"
    return make_engine(write(src, "strike.md", STRIKE), write(src, "floods.md", FLOODS))


def first(answer: Answer) -> tuple[str, int]:
    assert not answer.abstained, answer
    return answer.citations[0].article_id, answer.citations[0].sentence


def test_a_filter_keeps_the_answer_within_its_articles(engine: Engine) -> None:
    assert first(engine.ask("who led the strike at the mine?"))[0] == "strike"
    # The best quote within the filter is found, though a better one exists outside it.
    within = engine.ask("who led the strike at the mine?", filters=make_filters(source="reuters"))
    assert all(c.article_id == "floods" for c in within.citations)
    assert within.filters == {"source": "reuters"}
    answered = engine.ask("how many homes were evacuated", filters=make_filters(since="2025-06-01"))
    assert first(answered) == ("floods", 2)


def test_a_filter_that_leaves_no_article_says_so(engine: Engine) -> None:
    with pytest.raises(QuestionError, match="no indexed article matches since 2026-01-01"):
        engine.ask("who led the strike?", filters=make_filters(since="2026-01-01"))


def test_what_did_she_say_next_quotes_the_following_sentence(engine: Engine) -> None:
    talk = Conversation()
    assert first(engine.ask("who led the strike at the mine?", conversation=talk)) == ("strike", 1)
    after = engine.ask("what did she say next?", conversation=talk)
    assert first(after) == ("strike", 2)
    assert after.citations[0].text.startswith("Lopez said the miners would stay out")
    assert "sentence 1 of strike" in after.read_as
    assert first(engine.ask("and after that?", conversation=talk)) == ("strike", 3)
    assert first(engine.ask("what else?", conversation=talk)) == ("strike", 4)
    end = engine.ask("what happened next?", conversation=talk)
    assert end.abstained and "ends" in end.reason


def test_a_question_without_a_topic_inherits_the_one_before(engine: Engine) -> None:
    talk = Conversation()
    engine.ask("how many homes were evacuated in kelby", conversation=talk)
    when = engine.ask("when?", conversation=talk)
    assert "homes" in when.read_as and "kelby" in when.read_as
    # Alone, "when?" names nothing the articles could answer.
    assert engine.ask("when?").abstained or first(engine.ask("when?")) != first(when)


def test_a_pronoun_is_read_as_the_one_name_of_the_last_quote(engine: Engine) -> None:
    talk = Conversation()
    assert first(engine.ask("who led the strike at the mine?", conversation=talk)) == ("strike", 1)
    reading = read_follow_up("what bonus did she want restored?", talk)
    assert reading.text == "what bonus did Maria Lopez want restored?"
    assert reading.prefer == ("strike",)
    assert first(engine.ask("what bonus did she want restored?", conversation=talk)) == ("strike", 2)


def test_a_pronoun_is_left_alone_when_the_last_quote_names_several_or_none(engine: Engine) -> None:
    talk = Conversation()
    assert first(engine.ask("who led the strike at the mine?", conversation=talk)) == ("strike", 1)
    # "Maria Lopez ... the Valdora copper mine": "it" could be either name.
    assert read_follow_up("when did it start?", talk).text.startswith("when did it start?")
    nameless = Conversation()
    assert first(engine.ask("who closed the road to the mine?", conversation=nameless)) == ("strike", 4)
    assert read_follow_up("why did they do it?", nameless).text.startswith("why did they do it?")


def test_the_conversation_is_bounded_and_forgets(engine: Engine) -> None:
    now = [1000.0]
    talk = Conversation(max_turns=3, ttl_seconds=60, clock=lambda: now[0])
    for question in ("who led the strike?", "what did police close?", "what did volunteers hand out?", "when?"):
        engine.ask(question, conversation=talk)
    assert [t.question for t in talk.turns] == ["what did police close?", "what did volunteers hand out?", "when?"]
    now[0] += 61
    assert talk.turns == ()
    assert read_follow_up("what did she say next?", talk).next_of is None


def test_the_newer_article_wins_a_tie(make_engine: Callable[..., Engine], tmp_path: Path) -> None:
    src = tmp_path / "src"
    body = "The mayor of Kelby is Hana Novak, who was elected for a second term.\n"
    old = write(src, "a-old.md", f"---\ntitle: Old\ndate: 2023-05-01\n---\n{body}")
    new = write(src, "b-new.md", f"---\ntitle: New\ndate: 2025-05-01\n---\n{body}")
    engine = make_engine(old, new)
    answer = engine.ask("who is the mayor of kelby")
    assert answer.citations[0].date == "2025-05-01"
    assert len(answer.citations) == 1  # the same words again are not quoted twice


def test_pronouns_stand_for_the_one_person_or_organisation_of_the_quote() -> None:
    from index.answer.conversation import resolve_pronouns

    quote = "Maria Lopez said the Kelby Council had broken its promise to the miners in Valdora."
    assert resolve_pronouns("what did she want?", quote) == "what did Maria Lopez want?"
    assert resolve_pronouns("what did they promise?", quote) == "what did Kelby Council promise?"
    both = "Maria Lopez met Hana Novak in Valdora."
    assert resolve_pronouns("what did she say?", both) == "what did she say?"  # two people: left alone
    assert resolve_pronouns("when did it open?", "The mine in Valdora opened.") == "when did it open?"
