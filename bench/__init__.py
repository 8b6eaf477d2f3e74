"""Benchmarks: speed and memory, printed as numbers and ratios (never timed in unit tests)."""

from __future__ import annotations

import os


def as_installed() -> dict[str, str]:
    """The environment with Python's bytecode cache on, as on a user's machine: some sandboxes set
    PYTHONDONTWRITEBYTECODE, which makes every new process compile the project's sources again
    (about 150 ms of citebot's cold start; LangChain's packages were compiled when pip installed them)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
