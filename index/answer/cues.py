"""Answer-type cues: what kind of answer a question asks for, and whether a sentence holds one.

"who" wants a name the question does not hold, "when" a date, "how many" a number, "where" a place;
a number question may name its measure ("how much did X pay": money, not "in 2021").
"""

from __future__ import annotations

import re

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
    found = [text[a:b].lower() for a, b in measure_spans(measure, text)]
    return 1.0 if any(f not in question_lower for f in found) else 0.0


def measure_spans(measure: str, text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a number of ``measure`` (see :data:`_MEASURES`): (start, end) of each, in
    the order of the patterns (a count: any number but a year; money: a number with its currency, or
    a currency sign and the digit after it; an age: "N years old", or "aged" and its digit)."""
    if measure == "count":
        return [m.span() for m in _COUNT.finditer(text) if not _YEAR.match(m.group(0))]
    found = [m.span() for m in _MEASURE_PATTERNS[measure].finditer(text)]
    if measure == "money":
        found += [m.span() for m in _CURRENCY_SIGN.finditer(text)]
    elif measure == "age":
        found += [m.span() for m in _AGED.finditer(text)]
    return found


def question_kind(question: str) -> str:
    """What kind of answer a question asks for: number, date, person, place, or other. The asking
    word that comes first decides: "how many died when the bridge fell" asks for a number, the
    "when" only says which event."""
    low = question.lower()
    found = [(m.start(), kind) for kind, pattern in _KIND_PATTERNS if (m := pattern.search(low))]
    return min(found)[1] if found else "other"


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


_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*(?:\s+[A-Z][\w'’-]*[a-z][\w'’-]*)*")


def names(text: str) -> list[str]:
    """The names a sentence mentions, each once, in order: runs of capitalized words that read as a
    name (:func:`_named`; "Officials said" is none), possessives dropped, a shorter form of a longer
    name ("Khan" after "Imran Khan") counted as the same name."""
    found: list[str] = []
    for _, parts in _name_runs(text):
        name = re.sub(r"['’]s$", "", " ".join(w for _, w in parts))
        if any(name == f or name in f.split() or f in name.split() for f in found):
            continue
        found.append(name)
    return found


def name_spans(text: str) -> list[tuple[int, int]]:
    """Where the names of :func:`names` are in ``text``, every mention: (start, end) of each run of
    capitalized words that reads as a name, without the words at its edges that are no name ("In",
    "The") and without a possessive ("Khan's" -> "Khan")."""
    spans = []
    for m, parts in _name_runs(text):
        start = m.start() + parts[0][0]
        end = m.start() + parts[-1][0] + len(parts[-1][1])
        possessive = re.search(r"['’]s$", text[start:end])
        spans.append((start, end - (len(possessive.group(0)) if possessive else 0)))
    return spans


def _name_runs(text: str) -> list[tuple[re.Match[str], list[tuple[int, str]]]]:
    """Each run of capitalized words that reads as a name, with its words that are not
    :data:`_NOT_NAMES` as (offset in the run, word)."""
    runs = []
    for m in _NAME_RUN.finditer(text):
        parts = [(w.start(), w.group(0)) for w in re.finditer(r"\S+", m.group(0)) if not _NOT_NAMES.match(w.group(0))]
        if not parts or (m.start() == 0 and len(parts) == 1 and not _NEXT_CAPITALIZED.match(text, m.end())):
            continue
        runs.append((m, parts))
    return runs
