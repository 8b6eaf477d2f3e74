"""A syndicated-news corpus: each base article in ~20 near-identical copies that differ in person names only.

Base articles are the evaluation articles that have questions: the news sets in ``eval/*/`` and the
Wikipedia paragraphs of xquad-dev (``/work/shared/eval/xquad-dev``). They are taken in a fixed
shuffled order until ``copies x sentences`` reaches the target size. Each base article is kept as
it is (its own id) and written again ``copies - 1`` times as ``<id>-cNN`` with the people in it
renamed: a person is a two-word capitalised name ("Louise Amand") whose words never occur in lower
case in any base text and that is not a place or organisation by its words; the surname alone
("Amand said") is renamed with it. Copy ``k`` of an article always gets the same names.

Questions are the answerable ones of the base articles (``{id, article_id, question, answers}``).
A quote answers a question when it contains a gold answer and comes from the question's article or
from a copy of it in which that answer still occurs (a renamed answer no longer does).

    python -m bench.corpus_dupes [--sentences 20000] [--copies 20] [--out /tmp/citebot-sbs/sbs-corpus]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.evaluate import Question, load_question_set
from index.models import Article
from index.text.articles import article_to_markdown, read_article_file, scan_corpus
from index.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
XQUAD = Path("/work/shared/eval/xquad-dev/questions.jsonl")
QUESTION_SETS = [ROOT / "eval" / name / "questions.jsonl" for name in ("news", "heldout", "train")] + [XQUAD]

# Replacement names (any that occur in a base text are dropped).
FIRST = (
    "Amara Arvid Bettina Cosmin Delphine Emeka Fenna Gideon Halima Idris Jorun Kasimir Leontine Matteo Nadia "
    "Orla Piers Quilla Radu Selin Teodor Ulla Viggo Wanjiru Xavi Yelena Zoltan Brigid Caspian Dagny Aiko "
    "Dmitri Greta Hana Jonas Kofi Lucia Mei Omar Pavel Rafael Sofia Tomas Yusuf Ines Lena Priya"
).split()
LAST = (
    "Abernathy Bjornsen Castellan Dravecky Eskelund Faraday Gwilliam Halloran Iversen Jaskolski Kettering "
    "Lamarque Mbatha Nordqvist Ostrander Pemberton Quennell Ravensdale Szabo Thorvaldsen Ubaldi Vasquez "
    "Wetherby Yamamura Zeller Ashcombe Belcourt Corrigan Delacroix Elsworth Fontaine Grimsby Holloway "
    "Okafor Lindqvist Moreau Haddad Novak Tanaka Silva Brennan Kowalski Achebe Rossi Varga Dahl Mensah"
).split()

# Words that open a capitalised run without being part of a name: titles, and sentence openers.
LEADING = set(
    "The A An In On At But And When After Before While If As By For From Of To With Another Its His Her "
    "Their Our This That These Those Last Next Mr Mrs Ms Dr Sir Dame Lord Lady Judge Justice Prosecutor "
    "Mayor Inspector Detective Sergeant Constable Councillor Professor President Chief Superintendent "
    "Captain General Bishop Archbishop Senator Governor Minister Prime Coach Officer Chancellor Director "
    "Commissioner Deputy Acting Former Opposition Leader Chairman Chairwoman Secretary Speaker Pastor "
    "Father Brother Sister Saint St King Queen Prince Princess Emperor Pope Elector Count Duke".split()
)
# Words that make a two-word capitalised name a place, an organisation or an event, not a person.
NOT_PERSON = set(
    "City Town Street Road Lane Avenue Square Bridge Court Council Station Airport Bay River Park Bank "
    "Party Union Hospital University College School Academy Museum Bowl Cup League Club Group Rail Railway "
    "Airlines Airways Energy Water Foods Systems Ltd Inc Trust Board Authority Police Service Services "
    "Agency Office Ministry Department Parliament Assembly Church Cathedral Abbey Castle Hall House Centre "
    "Center Island Islands Valley Hill Hills Mountain Mountains Lake Sea Ocean Coast Forest Gate Market "
    "Street Harbour Port Prison Theatre Stadium Arena Festival Games Award Awards Prize Council Court Crown "
    "Kingdom Empire Republic State States Dynasty War Wars Revolution Act Treaty Movement Fund Foundation "
    "Institute Society Association Federation Commission Committee Network Television Radio News Times "
    "Post Herald Press Records Studios Company Corporation North South East West Northern Southern Eastern "
    "Western Central Upper Lower Great Greater New Old Royal National International United General Grand "
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday Christmas Easter Christ God English French German British "
    "American Chinese Roman Catholic Protestant Christian Islamic Jewish Mongol Mongols Super Pro Rovers "
    "Athletic Securities Quarterly Holdings Sands Cove Infirmary Deepwater Ford Guildhall Mill Citylink Marine "
    "Connect Civils Orchard Adventure Meadow Ridge Heights Gap Therapeutics Metro Vikings Italy Bible Buddhists "
    "Ave Boulevard Glen Scotia Asia Healthcare Brothers Logistics Junction Tor Heron Grammy Alive Homebuyers "
    "Downtown Golden Silver Six-time Cherry Summit Pine Cedar Ultimate El San Nova Dai Tibetan Khitan Jurchen "
    "Sheng Angels Duran Aelius Quarterly Partners Capital Bros Wind Farm Tram Line".split()
)
_WORD = r"[A-Z][a-z]*(?:'[A-Z])?[a-z]+(?:-[A-Z][a-z]+)?"  # Amand, O'Neill, Holt-Mbeki (not Rail's)
_RUN = re.compile(rf"(?<![\w'-])({_WORD}(?:[ ]{_WORD})+)(?![\w-])(?!'[A-Za-z]{{2}})")
_LOWER_WORDS = re.compile(r"\b[a-z][a-z'-]*\b")


@dataclass(frozen=True)
class Base:
    """A base article and its answerable questions."""

    article: Article
    questions: list[Question]


@dataclass
class Corpus:
    """The written corpus: every article's text by id, the copies of each base article, the questions."""

    folder: Path
    texts: dict[str, str]
    titles: dict[str, str]
    family: dict[str, list[str]]  # base id -> its ids (the original first)
    questions: list[Question]
    sentences: int  # as index.text.sentences splits them
    persons: dict[str, list[str]] = field(default_factory=dict)  # base id -> names renamed in its copies
    reused: bool = False  # the folder already held this corpus

    def answer_ids(self, q: Question) -> dict[str, set[str]]:
        """Gold answer (lower case) -> the ids of the question's article and copies that still contain it."""
        ids = self.family.get(q.article_id or "", [])
        return {a.lower(): {i for i in ids if a.lower() in self.texts[i].lower()} for a in q.answers}

    def is_hit(self, q: Question, article_id: str, text: str) -> bool:
        low = text.lower()
        return any(answer in low and article_id in ids for answer, ids in self.answer_ids(q).items())


def load_bases(work: Path, question_sets: Sequence[Path] = QUESTION_SETS) -> list[Base]:
    """The articles of the question sets that have answerable questions, read as citebot reads them."""
    bases: list[Base] = []
    for path in question_sets:
        if not path.is_file():
            print(f"corpus: {path} is missing; left out", file=sys.stderr)
            continue
        qset = load_question_set(path, None, work / "sources")
        files, _ = scan_corpus(qset.corpus)
        by_article: dict[str, list[Question]] = {}
        for q in qset.questions:
            if q.answerable and q.article_id:
                by_article.setdefault(q.article_id, []).append(q)
        for f in files:
            if f.id in by_article:
                bases.append(Base(read_article_file(f.path, max_bytes=2_000_000, article_id=f.id), by_article[f.id]))
    return bases


def person_names(texts: Sequence[str], lower_words: set[str]) -> list[tuple[str, str]]:
    """(first, last) of the people named in ``texts``, in order of first mention (see the module doc)."""
    found: dict[tuple[str, str], None] = {}
    for text in texts:
        for match in _RUN.finditer(text):
            words = match.group(1).split(" ")
            while words and words[0] in LEADING:
                words = words[1:]
            if len(words) != 2 or any(w in NOT_PERSON for w in words):
                continue
            before = text[max(0, match.start() - 4) : match.start()]
            if before.endswith(("the ", "The ")):  # "the Copper Kettle", "the Denver Broncos"
                continue
            if any(w.lower() in lower_words for w in words):  # "Central station", "Kawann Short"
                continue
            found.setdefault((words[0], words[1]), None)
    return list(found)


def renamer(
    persons: Sequence[tuple[str, str]], rng: random.Random, first: Sequence[str], last: Sequence[str]
) -> Callable[[str], str]:
    """A function that renames ``persons`` (full names and surnames alone) in a text."""
    surnames = list(dict.fromkeys(s for _, s in persons))
    new_last = dict(zip(surnames, rng.sample(list(last), len(surnames)), strict=True))
    picks = rng.sample(list(first), len(persons)) if len(persons) <= len(first) else rng.choices(first, k=len(persons))
    new_first = dict(zip(persons, picks, strict=True))
    full = {f"{f} {s}": f"{new_first[(f, s)]} {new_last[s]}" for f, s in persons}
    names = sorted([*full, *new_last], key=len, reverse=True)
    if not names:
        return lambda text: text
    pattern = re.compile(r"(?<![\w'-])(?<!the )(?<!The )(" + "|".join(map(re.escape, names)) + r")(?![\w-])")

    def rename(text: str) -> str:
        return pattern.sub(lambda m: full.get(m.group(1)) or new_last[m.group(1)], text)

    return rename


def inputs_key(bases: Sequence[Base], sentences: int, copies: int, seed: int) -> str:
    digest = hashlib.sha256(json.dumps([sentences, copies, seed]).encode())
    digest.update(Path(__file__).read_bytes())  # a change to this generator is a change of input
    for b in bases:
        digest.update(
            json.dumps([b.article.id, b.article.sha256, [dataclasses.astuple(q) for q in b.questions]]).encode()
        )
    return digest.hexdigest()[:16]


def make_corpus(
    folder: Path,
    work: Path,
    *,
    sentences: int = 20_000,
    copies: int = 20,
    seed: int = 0,
    max_questions: int | None = None,
) -> Corpus:
    """Write the corpus into ``folder`` (only when its inputs changed) and return what is in it.

    Args:
        folder: The corpus folder (its ``*.md`` files are replaced when the inputs changed).
        work: Where the xquad-dev articles are written out as corpus files first.
        sentences: About how many sentences the corpus holds, copies included.
        copies: Versions of each base article, the original included.
        seed: Which base articles, in which order, and which names.
        max_questions: Keep this many questions, taken in turn from each base article.
    """
    all_bases = load_bases(work)
    order = list(range(len(all_bases)))
    random.Random(seed).shuffle(order)
    chosen: list[Base] = []
    total = 0
    for i in order:
        if total >= sentences:
            break
        chosen.append(all_bases[i])
        total += copies * len(split_sentences(all_bases[i].article.text))
    lower_words: set[str] = set()
    for b in all_bases:
        lower_words.update(_LOWER_WORDS.findall(f"{b.article.title}\n{b.article.text}"))
    names_in_text = set(re.findall(r"[A-Za-z]+", " ".join(f"{b.article.title} {b.article.text}" for b in all_bases)))
    first = [n for n in dict.fromkeys(FIRST) if n not in names_in_text]
    last = [n for n in dict.fromkeys(LAST) if n not in names_in_text]
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    family: dict[str, list[str]] = {}
    persons: dict[str, list[str]] = {}
    articles: list[Article] = []
    for b in chosen:
        a = b.article
        people = person_names([a.title, a.text], lower_words)[: len(last)]
        persons[a.id] = [f"{f} {s}" for f, s in people]
        family[a.id] = [a.id]
        articles.append(a)
        for k in range(1, copies):
            rename = renamer(people, random.Random(f"{seed}:{a.id}:{k}"), first, last)
            copy = dataclasses.replace(a, id=f"{a.id}-c{k:02d}", title=rename(a.title), text=rename(a.text))
            family[a.id].append(copy.id)
            articles.append(copy)
    for a in articles:
        texts[a.id], titles[a.id] = a.text, a.title
    key = inputs_key(chosen, sentences, copies, seed)
    marker = folder / ".inputs"
    reused = marker.is_file() and marker.read_text() == key
    if not reused:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.md"):
            old.unlink()
        for a in articles:
            (folder / f"{a.id}.md").write_text(article_to_markdown(a), encoding="utf-8")
        marker.write_text(key)
    questions = pick_questions(chosen, max_questions, seed)
    count = sum(len(split_sentences(t)) for t in texts.values())
    return Corpus(folder, texts, titles, family, questions, count, persons, reused)


def pick_questions(bases: Sequence[Base], n: int | None, seed: int) -> list[Question]:
    """Up to ``n`` questions, one from each base article in turn (each article's in a shuffled order)."""
    queues = []
    for b in bases:
        qs = list(b.questions)
        random.Random(f"{seed}:{b.article.id}:questions").shuffle(qs)
        queues.append(qs)
    out: list[Question] = []
    limit = n if n is not None else sum(len(q) for q in queues)
    while len(out) < limit and any(queues):
        for queue in queues:
            if queue and len(out) < limit:
                out.append(queue.pop(0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/citebot-sbs/sbs-corpus"))
    args = parser.parse_args()
    corpus = make_corpus(args.out, args.out.parent, sentences=args.sentences, copies=args.copies, seed=args.seed)
    print(
        f"{corpus.folder}: {len(corpus.texts):,} articles ({len(corpus.family)} base x {args.copies}), "
        f"{corpus.sentences:,} sentences, {len(corpus.questions)} questions"
        + (" (already there)" if corpus.reused else "")
    )
    for base, names in corpus.persons.items():
        print(f"  {base}: {', '.join(names) or '(no person names found)'}")


if __name__ == "__main__":
    main()
