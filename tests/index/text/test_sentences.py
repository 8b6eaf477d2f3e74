"""Sentences keep exact offsets; chunks cover every sentence and never exceed the model's limit."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.embed import Encoder
from index.text.chunking import chunk_sentences
from index.text.sentences import fit_sentences, split_sentences

NEWS = (
    "Dr. Smith met U.S. officials on Jan. 5 in Washington. The deal was worth $3.5 million. "
    '"We will stay here until Khan joins us. He will decide what to do next," Ali said.\n\n'
    "Use of live ammunition\n\nIt was signed at 3 p.m. by Mr. Jones."
)


def test_sentences_split_like_a_reader_would_and_keep_offsets() -> None:
    sentences = split_sentences(NEWS)
    assert [s.text for s in sentences] == [
        "Dr. Smith met U.S. officials on Jan. 5 in Washington.",
        "The deal was worth $3.5 million.",
        '"We will stay here until Khan joins us. He will decide what to do next," Ali said.',
        "Use of live ammunition",
        "It was signed at 3 p.m. by Mr. Jones.",
    ]
    for s in sentences:
        assert NEWS[s.start : s.end] == s.text


TEXT = st.text(alphabet=st.sampled_from(list("abcdefghij ABC.,!?\"'\n\t-é漢0123456789")), min_size=0, max_size=400)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_offsets_round_trip_on_any_text(text: str) -> None:
    sentences = split_sentences(text)
    last = 0
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= last  # in order, never overlapping
        last = s.end


def test_a_sentence_over_the_limit_is_split_at_words_not_truncated(encoder: Encoder) -> None:
    text = " ".join(f"word{i} alpha beta" for i in range(300))  # no sentence punctuation at all
    pieces, numbers = fit_sentences(text, split_sentences(text), encoder.token_counts, encoder.max_tokens)
    assert len(pieces) > 1
    assert numbers == [0] * len(pieces)  # still one sentence to a reader
    assert all(c <= encoder.max_tokens for c in encoder.token_counts([p.text for p in pieces]))
    assert " ".join(p.text for p in pieces) == text  # every word kept, in order
    for p in pieces:
        assert text[p.start : p.end] == p.text


def test_a_single_giant_word_is_cut_by_characters(encoder: Encoder) -> None:
    text = "Start. " + "x9" * 3000 + " end."
    pieces, numbers = fit_sentences(text, split_sentences(text), encoder.token_counts, encoder.max_tokens)
    assert all(c <= encoder.max_tokens for c in encoder.token_counts([p.text for p in pieces]))
    assert numbers[0] == 0 and set(numbers[1:]) == {1}  # "Start." and then the one long sentence
    assert "".join(p.text for p in pieces).replace(" ", "") == text.replace(" ", "")


ARTICLE = st.lists(
    st.text(alphabet=st.sampled_from(list("abcdef ghij")), min_size=1, max_size=700).map(lambda s: s + "."),
    min_size=1,
    max_size=25,
).map(" ".join)


@given(ARTICLE, st.integers(1, 5), st.integers(0, 4))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_chunks_cover_every_sentence_and_fit_the_model(encoder: Encoder, text: str, size: int, overlap: int) -> None:
    overlap = min(overlap, size - 1)
    sentences, _ = fit_sentences(text, split_sentences(text), encoder.token_counts, encoder.max_tokens)
    chunks = chunk_sentences(
        text, sentences, size=size, overlap=overlap, count_tokens=encoder.token_counts, max_tokens=encoder.max_tokens
    )
    covered = set()
    for c in chunks:
        assert 1 <= c.last - c.first <= size
        assert (c.start, c.end) == (sentences[c.first].start, sentences[c.last - 1].end)
        covered.update(range(c.first, c.last))
    assert covered == set(range(len(sentences)))
    counts = encoder.token_counts([text[c.start : c.end] for c in chunks])
    assert all(n <= encoder.max_tokens for n in counts)
