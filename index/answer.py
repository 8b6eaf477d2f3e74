"""From a question to cited sentences: hybrid retrieval, sentence scoring, de-duplication, abstention."""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lexical import STOPWORDS, stem_word, terms, words
from .models import Citation
from .store import Snapshot, sentence_hash

FEATURES = (
    "dense",  # cosine of question and sentence
    "coverage",  # share of the question's BM25 term weight (idf) that the sentence contains
    "chunk",  # fused retrieval score of the best chunk holding the sentence
    "window",  # mean cosine of the sentence and its neighbours (±1)
    "dense_gap",  # dense minus the best dense among the candidates (<= 0)
    "coverage_gap",  # coverage minus the best coverage among the candidates (<= 0)
    "lead_in",  # question weight the sentence before adds to this one's (its topic is set up there)
    "bigrams",  # share of the question's adjacent content-word pairs found in the sentence
    "novelty",  # share of the sentence's content words that the question does not already contain
    "type_number",  # how many/much/long... question and a number the question does not hold
    "type_date",  # when/what year... question and a date or time the question does not hold
    "type_person",  # who/whose... question and a capitalized name the question does not hold
    "type_place",  # where/which city... question and a capitalized place the question does not hold
    "type_measure",  # a number question and a number of the measure it asks for (money, speed, age...)
    "local_coverage",  # coverage with the question's words weighted by their rarity among the candidates
    "length",  # log of the sentence's word count
)
_MEASURE_COLUMN = FEATURES.index("type_measure")
_LOCAL_COLUMN = FEATURES.index("local_coverage")
_LENGTH_COLUMN = FEATURES.index("length")
# The re-read of the best few (``search.rerank``): what is left of the question once the words the
# sentence shares with it are taken out, against what is left of the sentence.
RERANK_FEATURES = (*FEATURES, "residual")


@dataclass(frozen=True)
class Weights:
    """Three fitted logistic models (``bench/fit_weights.py``, cross-validated by article; stored in
    ``index/weights.json``):

    - which sentence answers: ``score = sigmoid(bias + coef . FEATURES)``, read as the chance that
      the sentence answers the question;
    - whether any does: ``sigmoid(abstain_bias + abstain_coef . QUESTION_FEATURES)``, compared with
      ``abstain_below`` to decide whether to say the articles don't say;
    - the order of the best few, read again: ``sigmoid(rerank_bias + rerank_coef . RERANK_FEATURES)``.
    """

    coef: tuple[float, ...]
    bias: float
    abstain_coef: tuple[float, ...]
    abstain_bias: float
    abstain_below: float
    rerank_coef: tuple[float, ...]
    rerank_bias: float

    @classmethod
    def load(cls, path: Path | None = None) -> Weights:
        file = path or WEIGHTS_FILE
        data = json.loads(file.read_text(encoding="utf-8"))
        if (
            tuple(data["features"]) != FEATURES
            or tuple(data["question_features"]) != QUESTION_FEATURES
            or tuple(data["rerank_features"]) != RERANK_FEATURES
        ):
            raise ValueError(f"{file} was fitted for other features; refit with bench/fit_weights.py --write")
        return cls(
            coef=tuple(float(c) for c in data["coef"]),
            bias=float(data["bias"]),
            abstain_coef=tuple(float(c) for c in data["abstain_coef"]),
            abstain_bias=float(data["abstain_bias"]),
            abstain_below=float(data["abstain_below"]),
            rerank_coef=tuple(float(c) for c in data["rerank_coef"]),
            rerank_bias=float(data["rerank_bias"]),
        )

    def answerable(self, question_features: np.ndarray) -> float:
        """The chance that some candidate answers, from :func:`question_features`."""
        return float(_logistic(question_features, self.abstain_coef, self.abstain_bias))


WEIGHTS_FILE = Path(__file__).with_name("weights.json")


def _logistic(x: np.ndarray, coef: tuple[float, ...], bias: float) -> np.ndarray:
    """sigmoid(x . coef + bias), row by row: each fitted model's chance."""
    return 1.0 / (1.0 + np.exp(-(x @ np.asarray(coef, dtype=np.float32) + bias)))


@dataclass(frozen=True)
class Query:
    """A question prepared once: its text, unit vector (dim,), index terms and content words."""

    text: str
    vector: np.ndarray
    terms: tuple[str, ...]
    words: frozenset[str]


@dataclass(frozen=True)
class Scored:
    sentence: int  # global sentence id
    score: float
    features: tuple[float, ...]


def prepare(question: str, vector: np.ndarray) -> Query:
    return Query(
        text=question,
        vector=np.asarray(vector, dtype=np.float32).reshape(-1),
        terms=tuple(terms(question)),
        words=frozenset(w for w in words(question) if w not in STOPWORDS),
    )


def retrieve_chunks(s: Snapshot, q: Query, *, candidates: int, keep: int) -> dict[int, float]:
    """Hybrid chunk retrieval: dense (FAISS) and BM25 hits, fused by normalized score.

    Returns:
        chunk id -> fused score in [0, 1], the ``keep`` best.
    """
    if s.chunk_index.ntotal == 0:
        return {}
    k = min(candidates, s.chunk_index.ntotal)
    sims, ids = s.chunk_index.search(q.vector.reshape(1, -1), k)
    dense = {int(i): float(v) for i, v in zip(ids[0], sims[0], strict=True) if i >= 0}  # -1 pads
    lex_ids, lex_scores = s.chunk_lexical.search(q.terms, candidates)
    top = float(lex_scores[0]) if len(lex_scores) else 0.0
    lexical = {int(i): float(v) / top for i, v in zip(lex_ids, lex_scores, strict=True)} if top > 0 else {}
    pool = np.fromiter(set(dense) | set(lexical), dtype=np.int64)
    # A chunk found by one retriever only still has a score in the other: compute it, don't guess 0.
    dense_all = s.chunk_vectors[pool] @ q.vector
    lex_all = s.chunk_lexical.score_docs(q.terms, pool) / top if top > 0 else np.zeros(len(pool))
    fused = 0.5 * dense_all + 0.5 * lex_all
    order = np.argsort(-fused, kind="stable")[:keep]
    return {int(pool[i]): float(fused[i]) for i in order}


def features(s: Snapshot, q: Query, chunks: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix of every sentence in the retrieved chunks.

    Returns:
        (sentence ids int64 (n,), features float32 (n, len(FEATURES))).
    """
    best_chunk: dict[int, float] = {}
    for cid, fused in chunks.items():
        _, first, last = (int(x) for x in s.chunks[cid])
        for sid in range(first, last):
            best_chunk[sid] = max(best_chunk.get(sid, -1.0), fused)
    sids = np.fromiter(best_chunk, dtype=np.int64, count=len(best_chunk))
    out = np.zeros((len(sids), len(FEATURES)), dtype=np.float32)
    if not len(sids):
        return sids, out
    query_terms = set(q.terms)
    idf = {t: s.sentence_lexical.term_idf(t) for t in query_terms}
    idf_total = sum(idf.values()) or 1.0
    bigrams = _bigrams(q.text)
    kind = question_kind(q.text)
    question_lower = q.text.lower()
    measure = question_measure(question_lower) if kind == "number" else None

    term_sets: dict[int, set[str]] = {}

    def present(sid: int) -> set[str]:
        if sid not in term_sets:
            term_sets[sid] = query_terms.intersection(terms(s.sentence_text(sid)))
        return term_sets[sid]

    def coverage(found: set[str]) -> float:
        return sum(idf[t] for t in found) / idf_total

    dense = s.sentence_vectors[sids] @ q.vector
    for i, sid in enumerate(map(int, sids)):
        text = s.sentence_text(sid)
        art = s.articles[int(s.sentences[sid, 0])]
        lo, hi = art.first_sentence, art.first_sentence + art.sentences
        content = [w for w in words(text) if w not in STOPWORDS]
        out[i, 0] = dense[i]
        out[i, 1] = coverage(present(sid))
        out[i, 2] = best_chunk[sid]
        out[i, 3] = float(np.mean(s.sentence_vectors[max(lo, sid - 1) : min(hi, sid + 2)] @ q.vector))
        out[i, 6] = coverage(present(sid - 1) - present(sid)) if sid - 1 >= lo else 0.0
        out[i, 7] = len(bigrams & _bigrams(text)) / len(bigrams) if bigrams else 0.0
        out[i, 8] = sum(1 for w in content if w not in q.words) / len(content) if content else 0.0
        if kind in KINDS:
            out[i, 9 + KINDS.index(kind)] = answer_present(kind, text, question_lower)
        if measure:
            out[i, _MEASURE_COLUMN] = measure_present(measure, text, question_lower)
        out[i, _LENGTH_COLUMN] = math.log1p(len(content))
    # The article's own names are in most candidates and tell them apart no better than "the": the
    # question's words that only some candidates hold ("governor", "referee") say which one answers.
    df = {t: sum(1 for sid in sids if t in term_sets[int(sid)]) for t in query_terms}
    local = {t: math.log((len(sids) + 1) / (n + 0.5)) for t, n in df.items() if n}
    local_total = sum(local.values())
    if local_total > 0:
        for i, sid in enumerate(map(int, sids)):
            out[i, _LOCAL_COLUMN] = sum(local[t] for t in term_sets[sid] if t in local) / local_total
    out[:, 4] = out[:, 0] - out[:, 0].max()
    out[:, 5] = out[:, 1] - out[:, 1].max()
    return sids, out


def score_sentences(s: Snapshot, q: Query, chunks: dict[int, float], weights: Weights) -> list[Scored]:
    """Score every sentence of the retrieved chunks against the question, best first."""
    return rank(*features(s, q, chunks), weights)


def rank(sids: np.ndarray, x: np.ndarray, weights: Weights) -> list[Scored]:
    """Candidates scored by the sentence model from their :func:`features`, best first."""
    if not len(sids):
        return []
    probs = _logistic(x, weights.coef, weights.bias)
    out = [Scored(int(sid), float(p), tuple(float(v) for v in row)) for sid, p, row in zip(sids, probs, x, strict=True)]
    out.sort(key=lambda item: (-item.score, item.sentence))
    return out


def residuals(question: str, sentence: str) -> tuple[str, str]:
    """The question without the words the sentence shares with it, and the sentence without the
    words it shares with the question (words compared by stem; order and punctuation kept).

    "who sang the national anthem?" against "Lady Gaga performed the national anthem." gives
    ("who sang ?", "Lady Gaga performed ."): how well the rest of the sentence answers the rest of
    the question, which the whole-sentence similarity blurs with the words they share.
    """
    q = _stemmed(question)
    s = _stemmed(sentence)
    q_stems, s_stems = {stem for _, stem in q}, {stem for _, stem in s}
    rest_q = " ".join(word for word, stem in q if stem not in s_stems)
    rest_s = " ".join(word for word, stem in s if stem not in q_stems)
    return rest_q or ".", rest_s or "."


_PIECE = re.compile(r"[\w'’-]+|[^\w\s]")


def _stemmed(text: str) -> list[tuple[str, str]]:
    return [(w, stem_word(re.split(r"['’]", w.lower(), maxsplit=1)[0])) for w in _PIECE.findall(text)]


# The re-read only runs when the runner-up's score is within this of the best's. Held out
# (bench/fit_weights.py), re-reading the rest changed no first quote that mattered: hit@1 is the
# same from a margin of 0.1 up to always, and 0.25 re-reads about a third of the questions.
RERANK_WITHIN = 0.25


def worth_rereading(scored: list[Scored]) -> bool:
    """Whether the best sentences are close enough for the re-read to change the first quote."""
    return len(scored) > 1 and scored[0].score - scored[1].score < RERANK_WITHIN


def rerank(scored: list[Scored], residual: np.ndarray, weights: Weights) -> list[Scored]:
    """Re-order the first ``len(residual)`` sentences by the re-read model; the rest keep their place.

    Args:
        scored: Sentences best first, as :func:`score_sentences` gives them.
        residual: (k,) cosine of the two :func:`residuals` of each of ``scored[:k]``.

    The re-read sentences take the re-read model's chance as their score; a sentence below them
    keeps its own, capped at theirs, so scores still fall down the list.
    """
    head = scored[: len(residual)]
    if not head:
        return scored
    x = np.hstack([np.array([item.features for item in head], dtype=np.float32), residual.reshape(-1, 1)])
    probs = _logistic(x, weights.rerank_coef, weights.rerank_bias)
    order = np.argsort(-probs, kind="stable")
    floor = float(probs.min())
    tail = [Scored(item.sentence, min(item.score, floor), item.features) for item in scored[len(head) :]]
    return [Scored(head[i].sentence, float(probs[i]), head[i].features) for i in order] + tail


QUESTION_FEATURES = (
    "top_score",  # the best sentence's score
    "top_dense",  # best cosine among the candidates
    "top_coverage",  # best coverage among the candidates
    "uncovered",  # share of the question's idf weight found neither in the best sentence nor its neighbours
    "unknown",  # share of the question's idf weight in terms the corpus never uses
    "top_chunk",  # best fused chunk score
    "typed",  # the question asks for a number, date, person or place
    "type_found",  # ... and the best sentence holds one
    "rarest_uncovered",  # idf of the rarest question term missing near the best sentence, over the highest idf
    "number_missing",  # the question names a number or year that the best sentence's article never uses
    "measured",  # the question asks for a particular measure (money, a count, a speed...)
    "measure_found",  # ... and the best sentence holds a number of it
)


def question_features(s: Snapshot, q: Query, scored: list[Scored]) -> np.ndarray:
    """Features of the question as a whole, for the abstention model.

    Returns:
        float32 array of shape (len(QUESTION_FEATURES),).
    """
    out = np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
    query_terms = set(q.terms)
    idf = {t: s.sentence_lexical.term_idf(t) for t in query_terms}
    total = sum(idf.values()) or 1.0
    out[4] = sum(v for t, v in idf.items() if t not in s.sentence_lexical.vocab) / total
    kind = question_kind(q.text)
    out[6] = float(kind in KINDS)
    if not scored:
        out[3] = 1.0
        return out
    top = scored[0]
    feats = np.array([x.features for x in scored], dtype=np.float32)
    out[0] = top.score
    out[1] = feats[:, 0].max()
    out[2] = feats[:, 1].max()
    art = s.articles[int(s.sentences[top.sentence, 0])]
    lo = max(art.first_sentence, top.sentence - 1)
    hi = min(art.first_sentence + art.sentences, top.sentence + 2)
    near = set(terms(" ".join(s.sentence_text(i) for i in range(lo, hi))))
    out[3] = sum(v for t, v in idf.items() if t not in near) / total
    out[5] = feats[:, 2].max()
    if kind in KINDS:
        out[7] = top.features[9 + KINDS.index(kind)]
    missing = [v for t, v in idf.items() if t not in near]
    ceiling = s.sentence_lexical.term_idf("\0") or 1.0  # an unseen term has the highest idf
    out[8] = max(missing) / ceiling if missing else 0.0
    numbers = set(re.findall(r"\d[\d,.]*\d|\d", q.text))
    if numbers:
        body = s.article_text(int(s.sentences[top.sentence, 0]))
        out[9] = float(any(n not in body for n in numbers))
    if kind == "number" and question_measure(q.text.lower()):
        out[10] = 1.0
        out[11] = top.features[_MEASURE_COLUMN]
    return out


def _bigrams(text: str) -> set[tuple[str, str]]:
    content = [w for w in words(text) if w not in STOPWORDS]
    return set(itertools.pairwise(content))


KINDS = ("number", "date", "person", "place")
_KIND_PATTERNS = (
    (
        "date",
        re.compile(r"\bwhen\b|\b(what|which) (year|date|day|month|time|century|decade|season)\b|\bhow long ago\b"),
    ),
    (
        "number",
        re.compile(
            r"\bhow (many|much|long|far|old|big|large|tall|high|fast|often|deep|wide|heavy)\b"
            r"|\bwhat (number|percentage|proportion|share|amount|size|age|price|cost|score|margin)\b"
        ),
    ),
    ("person", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what) (person|man|woman|player|official)\b")),
    ("place", re.compile(r"\bwhere\b|\b(what|which) (city|town|country|place|state|region|venue|street|village)\b")),
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|half|quarter)s?\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(january|february|march|april|may|june|july|august|september|october|"
    r"november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow|"
    r"tonight|morning|afternoon|evening|week|month|year|century|spring|summer|autumn|winter)\b|\b\d{1,2}([.:]\d\d)?\s?[ap]\.?m\b",
    re.I,
)
_CAPITALIZED = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*")
_NOT_NAMES = re.compile(
    r"^(the|a|an|in|on|at|he|she|it|they|we|i|but|and|this|that|these|those|his|her|their|its|our|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)$",
    re.I,
)


# What a number question measures, tried in order; a question matching none takes any number. "How
# much did X pay" wants an amount of money, which "in 2021" or "six years" is not: any number would do
# for the type_number feature, and near misses on an article's topic are full of the wrong numbers.
_MEASURES = (
    ("speed", re.compile(r"\bhow fast\b|\b(top|maximum|average|what) speed\b")),
    ("age", re.compile(r"\bhow old\b|\bwhat age\b")),
    (
        "percent",
        re.compile(
            r"\b(percentage|per cent|percent|proportion|share)\b|\bhow much (did|does|do|will|has|have)\b.*"
            r"\b(rise|rose|fall|fell|drop|dropped|grow|grew|increase|decrease|shrink|shrank|go up|go down)\b"
        ),
    ),
    (
        "money",
        re.compile(
            r"\b(cost|costs|costing|pay|paid|spend|spent|worth|earn|earns|earned|salary|salaries|price|prices|fee|fees|"
            r"bonus|budget|fund|funding|money|cash|prize|wage|wages|sell|sold|buy|bought|fine|fined|compensation|"
            r"revenue|profit|profits|loss|losses|debt|debts|invest|invested|investment|raise|raised|donate|donated|charge|charged)\b"
        ),
    ),
    ("time_or_length", re.compile(r"\bhow long\b")),
    ("size", re.compile(r"\bhow (big|large|tall|high|far|deep|wide|heavy)\b")),
    ("count", re.compile(r"\bhow many\b|\bwhat number\b")),
)
_NUMBER_WORDS = (
    r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|"
    r"(?:twen|thir|for|fif|six|seven|eigh|nine)ty|hundreds?|thousands?|millions?|billions?|trillions?|dozens?"
)
_UNITS = {
    "speed": r"mph|km/h|kph|knots|miles (an|per) hour|kilometres (an|per) hour|kilometers (an|per) hour|metres (a|per) second",
    "age": r"years? old|-year-old",
    "percent": r"per cent|percent|%|percentage points?",
    "money": r"pounds?|euros?|dollars?|pence|cents?|yen|francs?|rupees?|crowns?|krona|kroner|pesos?",
    "time_or_length": r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|metres?|meters?|kilometres?|kilometers?|km|miles?|feet|foot|inches|cm|mm",
    "size": r"metres?|meters?|kilometres?|kilometers?|km|miles?|feet|foot|inches|cm|mm|hectares?|acres?|square|tonnes?|tons?|kilograms?|kg|grams?|litres?|liters?|gallons?|storeys?|floors?",
}
_MEASURE_PATTERNS = {
    name: re.compile(
        rf"(?:\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:{_NUMBER_WORDS}|more|than|about|around|nearly|almost))*[\s-]*(?:{units}))",
        re.I,
    )
    for name, units in _UNITS.items()
}
_CURRENCY_SIGN = re.compile(r"[£$€¥]\s?\d")
_AGED = re.compile(r"\baged? (of )?\d")
_YEAR = re.compile(r"^(1[5-9]\d\d|20\d\d)s?$")
_COUNT = re.compile(rf"\b(?:{_NUMBER_WORDS})\b", re.I)


def question_measure(question_lower: str) -> str | None:
    """The measure a number question asks for (money, speed, count...), or None when it names none."""
    for name, pattern in _MEASURES:
        if pattern.search(question_lower):
            return name
    return None


def measure_present(measure: str, text: str, question_lower: str) -> float:
    """1.0 when ``text`` holds a number of ``measure`` (with its unit) that the question does not hold."""
    if measure == "count":
        found = [m.group(0).lower() for m in _COUNT.finditer(text) if not _YEAR.match(m.group(0))]
    else:
        found = [m.group(0).lower() for m in _MEASURE_PATTERNS[measure].finditer(text)]
        if measure == "money":
            found += [m.group(0) for m in _CURRENCY_SIGN.finditer(text)]
        elif measure == "age":
            found += [m.group(0).lower() for m in _AGED.finditer(text)]
    return 1.0 if any(f not in question_lower for f in found) else 0.0


def question_kind(question: str) -> str:
    """What kind of answer a question asks for: number, date, person, place, or other."""
    low = question.lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(low):
            return kind
    return "other"


def answer_present(kind: str, text: str, question_lower: str) -> float:
    """1.0 when ``text`` holds a thing of the asked kind that the question itself does not hold."""
    if kind == "number":
        found = [m.group(0).lower() for m in _NUMBER.finditer(text)]
    elif kind == "date":
        found = [m.group(0).lower() for m in _DATE.finditer(text)]
    else:
        found = [
            m.group(0).lower()
            for m in _CAPITALIZED.finditer(text)
            if not _NOT_NAMES.match(m.group(0)) and (kind != "person" or _named(text, m))
        ]
    return 1.0 if any(f not in question_lower for f in found) else 0.0


_NEXT_CAPITALIZED = re.compile(r"\s+[A-Z]")


def _named(text: str, m: re.Match[str]) -> bool:
    """Whether a capitalized word reads as part of a name: not the sentence's first word, or the first
    of two capitalized words ("Officials said" is no name; "Ruth Kaplan said" is)."""
    return m.start() > 0 or bool(_NEXT_CAPITALIZED.match(text, m.end()))


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


def cite(s: Snapshot, item: Scored) -> Citation | None:
    """A citation for a scored sentence, or None when the stored text does not hold the sentence that
    was split at build time (each piece's text is checked against the hash recorded then)."""
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
    return Citation(
        text=body[start:end],
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
    )
