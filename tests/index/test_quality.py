"""Answer quality on the project's news question set, through the real eval code: a change that
makes citebot answer worse, or abstain worse, fails here. Floors sit just under the measured
figures (README, `python -m index eval eval/news/questions.jsonl`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.config import load_config
from index.embed import Encoder
from index.evaluate import SetReport, evaluate
from tests.conftest import NEWS, write_config

# With the reader reading 2 of every answered question and 4 of a close call, and abstention
# decided by the sentence model: news hit@1 0.669, hit@3 0.851, abstention P 0.923 R 0.316,
# off-topic 0.95 (README).
FLOORS = {
    "hit@1": 0.65,
    "hit@3": 0.83,
    "recall@5": 0.97,
    "abstain_precision": 0.9,
    "abstain_recall": 0.30,
    "abstain_recall[off-topic]": 0.9,  # questions no article is about are refused
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> SetReport:
    folder: Path = tmp_path_factory.mktemp("quality")
    config = load_config(write_config(folder))
    return evaluate(config, NEWS / "questions.jsonl", encoder=encoder)


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_citebot_stays_above_its_floor(report: SetReport, metric: str) -> None:
    value = report.methods["citebot"][metric]
    assert value is not None and value >= FLOORS[metric], f"{metric} fell to {value}"


@pytest.mark.parametrize("baseline", ["bm25-sentences", "dense-sentences", "rrf-sentences", "tutorial-chunks"])
def test_the_first_quote_beats_every_simple_baseline(report: SetReport, baseline: str) -> None:
    ours, theirs = report.methods["citebot"]["hit@1"], report.methods[baseline]["hit@1"]
    assert ours is not None and theirs is not None and ours > theirs


def test_the_set_is_what_the_readme_says(report: SetReport) -> None:
    citebot = report.methods["citebot"]
    assert citebot["questions"] >= 80 and citebot["answerable"] <= 0.75 * citebot["questions"]
    assert len({row["article_id"] for row in report.details if row["article_id"]}) >= 12
