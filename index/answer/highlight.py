"""The phrase of a quote that answers the question: the name for "who", the date for "when", the
number for "how many", the place for "where", for showing in bold.

The quote itself is always the whole source sentence; this only says which part of it to bold, and
says nothing (None) rather than something doubtful: a wrong bold misleads more than none. The answer
is what the question does not say, so a phrase made only of the question's own words is never one
("who is the interior minister": "Mohsin Naqvi", not "Interior Minister"), and among several
candidates the one nearest to the words the question shares with the sentence is taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA, Indel

from ..text.terms import STOPWORDS, stem_word, word_spans, words
from .cues import measure_spans, name_spans, question_kind, question_measure

Span = tuple[int, int]

# --- the question, as people type it ------------------------------------------------------------

_LEADS = ("who", "whom", "whose", "where", "when", "how", "what", "which")
_HOW_NEXT = ("many", "much", "long", "far", "old", "big", "large", "tall", "high", "fast", "often", "deep", "wide")


def read_question(question: str) -> str:
    """The question in lower case with its question words' typos fixed ("hwo many" -> "how many",
    "whos" -> "who", "wen" -> "when"): the first word, and the word after "how", are matched
    against the question words allowing one letter missing, one too many or two swapped (not one
    letter changed: "that" is no "what", "then" no "when")."""
    ws = [w for w in words(question) if w]
    if not ws:
        return ""
    if ws[0].endswith("s") and ws[0][:-1] in _LEADS:
        ws[0] = ws[0][:-1]  # "whos", "wheres": "who's" without its apostrophe
    ws[0] = _closest(ws[0], _LEADS, changes=False) or ws[0]
    if ws[0] in ("who", "how") and len(ws) > 1 and ws[1] in _HOW_NEXT:
        ws[0] = "how"  # "hwo many" is both one swap from "who" and from "how"; "who many" is a "how" too
    for i in range(len(ws) - 1):
        if ws[i] == "how":
            ws[i + 1] = _closest(ws[i + 1], _HOW_NEXT, changes=True) or ws[i + 1]
    return " ".join(ws)


def _closest(word: str, known: tuple[str, ...], *, changes: bool) -> str | None:
    """The one word of ``known`` that ``word`` is a typo of, or None (none, or more than one)."""
    if word in known:
        return word
    if len(word) < 2 or (changes and len(word) < 3):
        return None
    near = [
        k
        for k in known
        if Indel.distance(word, k) == 1
        or (len(word) == len(k) and OSA.distance(word, k) == 1 and (changes or sorted(word) == sorted(k)))
    ]
    if len(near) == 1:
        return near[0]
    if near and word[::-1] != word and all(sorted(word) == sorted(k) for k in near):
        return near[0]  # "hwo": who or how, settled by the next word (see read_question)
    return None


@dataclass(frozen=True)
class Asked:
    """What a question asks for: a ``kind`` (person, place, date, number), the ``measure`` of a
    number (count, money, percent, time_or_length, size, age, speed; "" for any quantity), the
    words of a date asked for (year, day, month, time; "" for any) and the stems of what "how many"
    counts (the words after it up to a function word: "how many criminal cases does he face")."""

    kind: str
    measure: str = ""
    date: str = ""
    counted: frozenset[str] = frozenset()


_DATE_ASKED = re.compile(r"\b(?:what|which) (year|day|date|month|time)\b")
_COUNTED = re.compile(r"\bhow many (?:more |of the |of )?(.*)")


def asked(question: str) -> Asked | None:
    """What ``question`` (as :func:`read_question` reads it) asks for, or None when it is none of
    the kinds a phrase can be found for ("why", "what did she say")."""
    kind = question_kind(question)
    if kind in ("person", "place"):
        return Asked(kind)
    if kind == "date":
        m = _DATE_ASKED.search(question)
        return Asked("date", date=m.group(1) if m and m.group(1) != "date" else "")
    if kind == "number":
        measure = question_measure(question)
        if measure is None:
            # "how much snow fell": any quantity; "how often", "what size", ...: no phrase to look for
            return Asked("number") if re.search(r"\bhow much\b", question) else None
        m = _COUNTED.search(question) if measure == "count" else None
        counted: list[str] = []
        for w in words(m.group(1)) if m else ():
            if w in STOPWORDS or len(counted) == 3:
                break
            counted.append(_stem(w))
        return Asked("number", measure, counted=frozenset(counted))
    return None


# --- the candidates in the sentence ---------------------------------------------------------------

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:1[5-9]\d\d|20\d\d)(?:s\b)?"
_CLOCK = r"\d{1,2}(?:[.:]\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)|midnight|noon|midday"
_PART = r"morning|afternoon|evening|night"
# One date phrase each; a phrase is later joined to its neighbours ("5am on 13 April").
_DATE_PATTERNS = {
    "day": re.compile(
        rf"\b(?:{_DAY} (?:of )?(?:{_MONTHS})|(?:{_MONTHS}) {_DAY}\b)(?:,? {_YEAR})?"
        rf"|\b(?:(?:last|next|this|on|early|late) )?(?:{_WEEKDAYS})(?: (?:{_PART}))?\b"
        r"|\b(?:yesterday|today|tomorrow|tonight)\b"
    ),
    "month": re.compile(rf"\b(?:(?:early|mid|late|the end of|the start of) )?(?:{_MONTHS})(?:,? {_YEAR})?(?!\w)"),
    "year": re.compile(rf"(?<![\d,.])\b{_YEAR}\b(?![,.]?\d)|\b\d{{4}}-\d\d-\d\d\b"),
    "time": re.compile(rf"\b(?:{_CLOCK})(?!\w)"),
    "relative": re.compile(
        r"\b(?:last|next|this|earlier this|later this) (?:week|month|year|spring|summer|autumn|winter|weekend)\b"
        r"|\b(?:\w+ )(?:days|weeks|months|years|decades) (?:ago|earlier|later)\b"
        r"|\b(?:the )?(?:\d{1,2}(?:st|nd|rd|th)|nineteenth|twentieth|twenty-first) century\b"
    ),
}
_JOIN_DATES = re.compile(r"\s*(?:,|on|of|in|at)?\s*", re.I)

_NUMBER = (
    r"\d[\d,.]*\d|\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty(?:-\w+)?|"
    r"a hundred|a thousand|a million|a dozen|hundreds|thousands|millions|dozens"
)
_MULTIPLIER = r"hundred|thousand|million|billion|trillion|m|bn|k"
# A number as a count is said: "more than 150", "about 2,300", "two million", "Eleven".
_COUNT = re.compile(
    r"\b(?:(?:more than|fewer than|less than|at least|at most|up to|just over|just under|about|around|"
    r"nearly|almost|roughly|approximately|some|over|under|only|another|a further) )?"
    rf"(?:{_NUMBER})(?:[\s-](?:{_MULTIPLIER}))*\b",
    re.I,
)
_NOT_COUNTS = re.compile(
    r"\s?(?:per cent|percent|%|percentage points?|pounds?|pence|euros?|dollars?|cents?|[ap]\.?m\b)", re.I
)
_CURRENCY = re.compile(rf"[£$€¥]\s?\d[\d,.]*(?:\s?(?:{_MULTIPLIER})\b)?", re.I)
_RATE = re.compile(r"\s(?:a|an|per|each) (?:year|month|week|day|hour|night|head)\b|\s(?:an hour)\b", re.I)
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|from|near|outside|inside|to|into|across|towards|around|through|beside|opposite|off|via|"
    r"between|within|on)\s+(?:the\s+)?$",
    re.I,
)
_ARTICLE_BEFORE = re.compile(r"\b(?:the|a|an)\s+$", re.I)


def _dates(sentence: str, date: str) -> list[Span]:
    found = sorted(
        m.span()
        for name, pattern in _DATE_PATTERNS.items()
        if not date or name == date
        for m in pattern.finditer(sentence)
    )
    merged: list[Span] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif merged and _JOIN_DATES.fullmatch(sentence, merged[-1][1], start):
            merged[-1] = (merged[-1][0], end)  # "4am on Friday", "13 April, 2025"
        else:
            merged.append((start, end))
    return [_drop_lead(sentence, s) for s in merged]


def _drop_lead(sentence: str, span: Span) -> Span:
    """Without a leading "on" (kept in a date pattern only to join "early on Friday")."""
    m = re.match(r"on ", sentence[span[0] : span[1]])
    return (span[0] + m.end(), span[1]) if m else span


def _quantities(sentence: str, measure: str) -> list[Span]:
    """Numbers of ``measure``; "" for any quantity: money, a share or a number with its unit."""
    if measure == "count":
        return [m.span() for m in _COUNT.finditer(sentence) if not _NOT_COUNTS.match(sentence, m.end())]
    if not measure:  # "how much": money or a share; another quantity only when there is neither
        return _quantities(sentence, "money") + _quantities(sentence, "percent") or [
            s for name in ("size", "time_or_length", "speed") for s in _quantities(sentence, name)
        ]
    found = [m.span() for m in _CURRENCY.finditer(sentence)] if measure == "money" else []
    found += [s for s in measure_spans(measure, sentence) if not _covered(s, found)]
    found = [_with_rate(sentence, s) if measure == "money" else s for s in found]
    return sorted(s for s in found if not any(o != s and _inside(s, o) for o in found))


def _with_rate(sentence: str, span: Span) -> Span:
    m = _RATE.match(sentence, span[1])
    return (span[0], m.end()) if m else span


def _covered(span: Span, others: list[Span]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in others)


def _inside(span: Span, other: Span) -> bool:
    return other[0] <= span[0] and span[1] <= other[1]


# --- choosing one ---------------------------------------------------------------------------------

# The words that say what kind of answer is wanted: they anchor nothing in the sentence.
_ASKING = frozenset(_LEADS) | frozenset(_HOW_NEXT) | {"year", "day", "date", "month", "time", "number", "many"}
_ASKING_STEMS = frozenset(stem_word(w) for w in _ASKING)
COMMA_WORDS = 3  # a comma (or a bracket, a colon) between a candidate and a question word counts as this many words


def answer_span(question: str, sentence: str) -> Span | None:
    """The (start, end) in ``sentence`` of the phrase that answers ``question``, or None when the
    question asks for no name, place, date or number, or the sentence has none that the question
    does not already say, or it has several and no word of the question tells which."""
    read = read_question(question)
    wanted = asked(read)
    if wanted is None:
        return None
    own = {_stem(w) for w in words(read)}
    tokens = word_spans(sentence)
    if wanted.kind == "date":
        found = _dates(sentence, wanted.date)
    elif wanted.kind == "number":
        found = _quantities(sentence, wanted.measure)
        if wanted.measure == "count":
            found = _counted(sentence, tokens, found, wanted.counted)
    elif wanted.kind == "person":
        found = _people(sentence, tokens, own)
        if _about_a_name(tokens, sentence, own):
            return None  # "who is bushra bibi" asks what she is, which no name answers
    else:
        found = [s for s in name_spans(sentence) if _PLACE_BEFORE.search(sentence, 0, s[0])]
    found = [s for s in found if _says_more(tokens, s, own)]
    if len({sentence[a:b].lower() for a, b in found}) > 1:
        anchors = [i for i, (w, _, _) in enumerate(tokens) if w not in STOPWORDS and _stem(w) in own - _ASKING_STEMS]
        if not anchors:
            return None  # several, and nothing to tell them apart
        found = [max(found, key=lambda s: (_closeness(sentence, tokens, s, anchors), -s[0]))]
    if not found:
        return None
    return _with_noun(tokens, found[0], wanted.counted) if wanted.counted else found[0]


def _people(sentence: str, tokens: list[tuple[str, int, int]], own: set[str]) -> list[Span]:
    """The names that could answer "who": without the question's words before them (a title: "who
    is the interior minister" -> "Mohsin Naqvi" of "Interior Minister Mohsin Naqvi"), none whose last
    word the question says (the question's own "Matteo Ravasini", "Porthaven Citylink"); a person's
    name (two words or more, not after "the") before a single word or a thing's ("the Civic Alliance")."""
    people: list[Span] = []
    others: list[Span] = []
    for span in name_spans(sentence):
        inner = [(w, a, min(b, span[1])) for w, a, b in tokens if span[0] <= a < span[1]]
        if not inner or _stem(inner[-1][0]) in own:
            continue
        kept = next(i for i, (w, _, _) in enumerate(inner) if _stem(w) not in own)
        trimmed = (inner[kept][1], span[1])
        person = len(sentence[span[0] : span[1]].split()) > 1 and not _ARTICLE_BEFORE.search(sentence, 0, span[0])
        (people if person else others).append(trimmed)
    return people or others


def _about_a_name(tokens: list[tuple[str, int, int]], sentence: str, own: set[str]) -> bool:
    """Whether every word the question has to say is in a name of the sentence that it names itself
    (its last word is the question's): "who is bushra bibi" asks what she is. Not so for a title the
    question says before another name ("who is the interior minister": "... Mohsin Naqvi")."""
    said = own - _ASKING_STEMS - {stem_word(w) for w in STOPWORDS}
    named: set[str] = set()
    for a, b in name_spans(sentence):
        inner = [_stem(w) for w, x, _ in tokens if a <= x < b]
        if inner and inner[-1] in own:
            named.update(inner)
    return bool(said) and said <= named


_OF_ITS = re.compile(r"\s+of\s+(?:its|the|their|his|her|our|your|all)\s+$", re.I)
_UNIT_AFTER = re.compile(
    r"[\s-](seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|metres?|meters?|kilometres?|"
    r"kilometers?|km|miles?|feet|foot|inches|hectares?|acres?|tonnes?|tons?|kilograms?|kg|grams?|litres?|liters?)\b",
    re.I,
)


def _counted(
    sentence: str, tokens: list[tuple[str, int, int]], found: list[Span], counted: frozenset[str]
) -> list[Span]:
    """Counts for "how many": a number of what the question counts first ("how many homes": "30,000
    homes"); none of a unit it does not count ("three weeks" for "how many shops"); "46 of its 118
    branches" as one, the part (46) being the answer."""
    spans = []
    for start, end in found:
        unit = _UNIT_AFTER.match(sentence, end)
        if unit and _stem(unit.group(1).lower()) not in counted:
            continue
        spans.append((start, end))
    joined: list[Span] = []
    for span in spans:
        if joined and _OF_ITS.fullmatch(sentence, joined[-1][1], span[0]):
            joined[-1] = (joined[-1][0], span[1])
        else:
            joined.append(span)
    counting = [s for s in joined if _counts(tokens, s, counted)]
    return counting or joined


# Past forms a stemmer does not bring to their verb ("led" is no "lead"): a question asks "who is
# leading", the sentence says "led by".
_IRREGULAR = {
    "led": "lead", "won": "win", "ran": "run", "paid": "pay", "made": "make", "took": "take", "taken": "take",
    "gave": "give", "given": "give", "told": "tell", "said": "say", "sold": "sell", "bought": "buy",
    "built": "build", "chose": "choose", "chosen": "choose", "found": "find", "held": "hold", "left": "leave",
    "met": "meet", "kept": "keep", "began": "begin", "begun": "begin", "brought": "bring", "fell": "fall",
    "fallen": "fall", "rose": "rise", "risen": "rise", "wrote": "write", "written": "write", "spent": "spend",
    "sent": "send", "struck": "strike", "caught": "catch", "went": "go", "gone": "go", "came": "come",
    "got": "get", "saw": "see", "seen": "see", "grew": "grow", "grown": "grow", "knew": "know",
    "known": "know", "flew": "fly", "flown": "fly", "threw": "throw", "thrown": "throw", "shot": "shoot",
    "lost": "lose", "beat": "beat", "beaten": "beat", "drove": "drive", "driven": "drive", "stole": "steal",
    "stolen": "steal", "hid": "hide", "hidden": "hide", "broke": "break", "broken": "break", "spoke": "speak",
    "spoken": "speak", "sat": "sit", "stood": "stand", "heard": "hear", "thought": "think", "fought": "fight",
    "taught": "teach", "sang": "sing", "sung": "sing", "swam": "swim", "wore": "wear", "worn": "wear",
    "hung": "hang", "laid": "lay", "lent": "lend", "meant": "mean", "felt": "feel", "dealt": "deal",
}  # fmt: skip


def _stem(word: str) -> str:
    return stem_word(_IRREGULAR.get(word, word))


def _says_more(tokens: list[tuple[str, int, int]], span: Span, own: set[str]) -> bool:
    """Whether the span has a word the question does not have (a stopword alone does not count)."""
    inside = [w for w, a, b in tokens if span[0] <= a and b <= span[1]]
    return any(_stem(w) not in own and w not in STOPWORDS for w in inside) or any(
        ch.isdigit() for w in inside if _stem(w) not in own for ch in w
    )


def _counts(tokens: list[tuple[str, int, int]], span: Span, counted: frozenset[str]) -> bool:
    after = [w for w, a, _ in tokens if a >= span[1]][:3]
    return any(_stem(w) in counted for w in after)


def _with_noun(tokens: list[tuple[str, int, int]], span: Span, counted: frozenset[str]) -> Span:
    """A count with what it counts when that follows within three words ("400 power lines")."""
    end = span[1]
    for w, _, b in [t for t in tokens if t[1] >= span[1]][:3]:
        if _stem(w) in counted:
            end = b
    return (span[0], end)


def _closeness(sentence: str, tokens: list[tuple[str, int, int]], span: Span, anchors: list[int]) -> float:
    """How near the span is to the question's words in the sentence: the sum over them of 1 / (1 +
    the words between), a comma (a bracket, a colon, a dash) counting :data:`COMMA_WORDS` words, so
    a candidate next to two of them beats one next to one; the question's words inside the span
    do not count."""
    inside = [i for i, (_, a, b) in enumerate(tokens) if span[0] <= a and b <= span[1]]
    if not inside:
        return 0.0
    lo, hi = inside[0], inside[-1]
    total = 0.0
    for k in anchors:
        if lo <= k <= hi:
            continue  # the question's own word in the candidate ("four years" for "in the year to March")
        if k < lo:
            gap, between = lo - k, sentence[tokens[k][2] : span[0]]
        else:
            gap, between = k - hi, sentence[span[1] : tokens[k][1]]
        total += 1 / (1 + gap + COMMA_WORDS * len(re.findall(r"[,;:()\u2013\u2014]", between)))
    return total
