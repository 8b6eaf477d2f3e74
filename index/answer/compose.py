"""Stage 5, composing the answer: near-duplicates collapsed, each quote checked and cited."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..models import Answer, Citation
from ..store.snapshot import Snapshot, sentence_hash
from ..text.terms import words
from .highlight import answer_span
from .model import Scored


def dedupe(s: Snapshot, scored: list[Scored], *, limit: int, threshold: float = 0.95) -> list[Scored]:
    """Keep the best of near-duplicate sentences (same words, or embeddings closer than ``threshold``),
    and one piece of each sentence that was split for the model (the quote shows the whole sentence)."""
    kept: list[Scored] = []
    seen_text: set[str] = set()
    seen_sentence: set[tuple[int, int]] = set()
    for item in scored:
        key = " ".join(words(s.sentence_text(item.sentence)))
        whole = (int(s.sentences[item.sentence, 0]), s.sentence_number(item.sentence))
        if key in seen_text or whole in seen_sentence:
            continue
        vec = s.sentence_vectors[item.sentence]
        if any(float(vec @ s.sentence_vectors[k.sentence]) >= threshold for k in kept):
            continue
        seen_text.add(key)
        seen_sentence.add(whole)
        kept.append(item)
        if len(kept) == limit:
            break
    return kept


# A sentence split for the model is quoted whole when it is at most this long (it then fits one
# Discord message with its citation); a longer one is quoted as the piece that scored, marked as cut.
MAX_QUOTE_CHARS = 1500


def cite(s: Snapshot, item: Scored, question: str = "") -> Citation | None:
    """A citation for a scored sentence, or None when the stored text does not hold the sentence that
    was split at build time (each piece's text is checked against the hash recorded then). The
    phrase of the quote that answers ``question`` is its ``highlight`` (none for no question)."""
    art_idx = int(s.sentences[item.sentence, 0])
    article = s.articles[art_idx]
    body = s.article_text(art_idx)
    rows = s.sentence_rows(item.sentence)
    spans = [(int(s.sentences[r, 1]), int(s.sentences[r, 2])) for r in rows]
    for r, (start, end) in zip(rows, spans, strict=True):
        if not body[start:end] or sentence_hash(body[start:end]) != int(s.sentence_hashes[r]):
            return None
    if any(body[a_end:b_start].strip() for (_, a_end), (b_start, _) in itertools.pairwise(spans)):
        return None  # the pieces of one sentence are separated by white space only
    start, end = spans[0][0], spans[-1][1]
    cut_start = cut_end = False
    if end - start > MAX_QUOTE_CHARS:
        start, end = spans[item.sentence - rows.start]
        cut_start, cut_end = item.sentence > rows.start, item.sentence < rows.stop - 1
    text = body[start:end]  # a long sentence's cut piece: the highlight is found in what is quoted
    return Citation(
        text=text,
        article_id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        sentence=s.sentence_number(item.sentence),
        start=start,
        end=end,
        score=round(item.score, 4),
        cut_start=cut_start,
        cut_end=cut_end,
        highlight=answer_span(question, text) if question else None,
    )


@dataclass(frozen=True)
class Shown:
    """Which quotes an answer shows: the first always; a later one only when it stands on its own,
    scoring at least ``floor`` and at least ``ratio`` times the first quote's score. The rest (up to
    ``more``) are offered behind "More". On an abstention the best sentence is offered as the closest
    found when it scores at least ``closest_floor``.

    The defaults are fitted on eval/news and eval/train by ``python -m experiments.quote_floor``
    (a later quote is shown when it is likelier to answer than not): there, 6 % of second and third
    quotes answered, and no score band held a majority, so a later quote is shown only above 0.58
    and within 95 % of the first; and of 51 refusals none had a closest sentence that answered, so
    ``closest_floor`` is above every score (never shown) until feedback says otherwise.
    """

    floor: float = 0.58
    ratio: float = 0.95
    more: int = 5
    closest_floor: float = 1.01


EVERY_QUOTE = Shown(floor=0.0, ratio=0.0)  # search.every_quote: top_k quotes, whatever their scores


def compose(
    s: Snapshot,
    question: str,
    scored: list[Scored],
    refuse: bool,
    k: int,
    shown: Shown | None = None,
    *,
    highlight: bool = True,
) -> Answer:
    """The answer to a question: up to ``k`` checked, cited quotes of its candidates that stand on
    their own (``shown``), the next ones as ``more``; or the refusal, with the closest sentence.
    Each quote's phrase that answers the question is its highlight, unless ``highlight`` is False
    (a quote chosen by a rule, such as the next sentence, answers no question of its own)."""
    shown = shown or Shown()
    asked = question if highlight else ""
    if refuse:
        best = [x for x in scored[:1] if x.score >= shown.closest_floor]
        closest = next(iter(_cited(s, best, asked)), None)
        return Answer(
            question, abstained=True, reason="no sentence is relevant enough", closest=closest, build_id=s.build_id
        )
    citations = _cited(s, dedupe(s, scored, limit=k + shown.more), asked)
    if not citations:
        return Answer(question, abstained=True, reason="no quote could be verified", build_id=s.build_id)
    first = citations[0].score
    stands = [c for c in citations[1:k] if c.score >= shown.floor and c.score >= shown.ratio * first]
    quoted = (citations[0], *stands)
    rest = tuple(c for c in citations[1:] if c not in stands)[: shown.more]
    return Answer(question, abstained=False, citations=quoted, more=rest, build_id=s.build_id)


def _cited(s: Snapshot, items: list[Scored], question: str) -> list[Citation]:
    return [c for c in (cite(s, x, question) for x in items) if c is not None]
