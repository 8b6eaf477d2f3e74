"""Every question set in eval/ passes its checker (eval/news/check.py): format, unique ids, gold answers in their article."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[2] / "eval"
SETS = sorted(p.parent for p in EVAL.glob("*/questions.jsonl"))


def test_the_sets_are_found() -> None:
    assert {p.name for p in SETS} >= {"news", "heldout", "train"}


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_question_set_passes_its_checker(folder: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EVAL / "news" / "check.py"), str(folder)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith("OK")
