"""The index on disk: FAISS agrees with brute force, damage and mismatches are refused, and a build
killed at any point leaves the old index or the new one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from index.engine import Engine
from index.errors import IndexMismatchError, IndexWriteError
from index.store import current_build, load_snapshot, make_vector_index
from tests.conftest import FIXTURES, ROOT, SEED, SEED_ID

TUNNEL = FIXTURES / "articles" / "harbour-tunnel.md"


@pytest.mark.parametrize(("n", "k"), [(1, 1), (50, 5), (3000, 20)])
def test_faiss_search_agrees_with_numpy_brute_force(n: int, k: int) -> None:
    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((10, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index, info = make_vector_index(vectors, exact_max=10**6)
    assert info == {"type": "flat"}
    sims, ids = index.search(queries, k)
    brute = queries @ vectors.T
    for q in range(len(queries)):
        found = [i for i in ids[q] if i >= 0]  # FAISS pads with -1 when n < k
        assert len(found) == min(k, n)
        np.testing.assert_allclose(sims[q][: len(found)], brute[q, found], rtol=1e-5, atol=1e-6)
        # Compare score sets, not orders: ties may come back in any order.
        expected = np.sort(brute[q])[::-1][: len(found)]
        np.testing.assert_allclose(np.sort(sims[q][: len(found)])[::-1], expected, rtol=1e-5, atol=1e-6)


def test_the_manifest_describes_the_index(seed_engine: Engine) -> None:
    snap = seed_engine.snapshot()
    m = json.loads((snap.folder / "manifest.json").read_text())  # as it is on disk
    assert m["model"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert m["model"]["dim"] == 384 and m["model"]["normalized"] is True
    assert m["chunking"] == {"sentences": 3, "overlap": 1}
    assert m["counts"]["articles"] == 1 and m["counts"]["sentences"] == len(snap.sentences) > 10
    assert m["articles"] == {SEED_ID: snap.articles[0].sha256}
    assert all("sha256" in entry for entry in m["files"].values())
    assert snap.manifest.model.dim == 384 and snap.manifest.counts == m["counts"]
    norms = np.linalg.norm(np.asarray(snap.sentence_vectors), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_a_damaged_file_is_refused_with_the_fix(seed_engine: Engine) -> None:
    folder = seed_engine.snapshot().folder
    with open(folder / "sentences.npy", "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(IndexMismatchError, match=r"sentences.npy does not match its checksum.*python -m index build"):
        Engine(seed_engine.config, encoder=seed_engine.encoder).ask("who led the protest?")
    report = Engine(seed_engine.config, encoder=seed_engine.encoder).rebuild()  # the fix the message names
    assert report.embedded_sentences == report.sentences  # nothing reused from a damaged build
    assert report.unchanged == 1 and not report.added  # the article itself did not change
    assert "Bushra Bibi" in seed_engine.ask("who led the protest?").citations[0].text


def test_an_index_from_another_model_is_refused_naming_both(seed_engine: Engine) -> None:
    folder = seed_engine.snapshot().folder
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["name"] = "sentence-transformers/all-mpnet-base-v2"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError) as info:
        Engine(seed_engine.config, encoder=seed_engine.encoder).ask("who led the protest?")
    message = str(info.value)
    assert "all-mpnet-base-v2" in message and "all-MiniLM-L6-v2" in message and "python -m index build" in message


def test_changed_chunking_is_refused_until_rebuilt(seed_engine: Engine) -> None:
    config = seed_engine.config.replace(chunking=type(seed_engine.config.chunking)(sentences=4, overlap=1))
    engine = Engine(config, encoder=seed_engine.encoder)
    with pytest.raises(IndexMismatchError, match=r"chunking.sentences 3 but the config asks for 4"):
        engine.ask("who led the protest?")
    engine.rebuild()
    assert "Bushra Bibi" in engine.ask("who led the protest?").citations[0].text


def test_loading_counts_that_disagree_is_refused(seed_engine: Engine) -> None:
    folder = seed_engine.snapshot().folder
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["counts"]["sentences"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="inconsistent"):
        load_snapshot(seed_engine.config.index_dir)


# "current": CURRENT.tmp written, not yet swapped; "cleaning": while removing what an earlier crash left.
POINTS_OLD = ["embedding", "files", "manifest", "renamed", "current", "cleaning"]
POINTS_NEW = ["published"]


@pytest.mark.parametrize("point", POINTS_OLD + POINTS_NEW)
def test_a_build_killed_at_any_point_leaves_the_old_or_the_new_index(
    make_engine: Callable[..., Engine], point: str
) -> None:
    engine = make_engine(SEED)
    old_build = current_build(engine.config.index_dir)
    shutil.copy(TUNNEL, engine.config.corpus_dir / TUNNEL.name)
    (engine.config.index_dir / "builds" / "20000101T000000-dead00.tmp").mkdir()  # left by an earlier crash
    proc = subprocess.run(
        [sys.executable, "-m", "tests.index.store.crash_build", str(engine.config.base_dir / "config.yaml"), point],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    fresh = Engine(engine.config, encoder=engine.encoder)
    ids = [a.id for a in fresh.articles()]
    if point in POINTS_OLD:
        assert current_build(engine.config.index_dir) == old_build and ids == [SEED_ID]
    else:
        assert current_build(engine.config.index_dir) != old_build and ids == ["000_8554960fb2f5e50c", "harbour-tunnel"]
    assert "Bushra Bibi" in fresh.ask("who led the protest?").citations[0].text
    report = fresh.rebuild()  # and the next build goes through, cleaning what the dead one left
    assert [a.id for a in fresh.articles()] == [SEED_ID, "harbour-tunnel"]
    tunnel = next(a.sentences for a in fresh.articles() if a.id == "harbour-tunnel")
    assert report.embedded_sentences == (0 if point in POINTS_NEW else tunnel)  # the seed is never re-embedded
    leftovers = [p.name for p in (engine.config.index_dir / "builds").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Make a folder tree read-only for this process: chmod for a user, the immutable flag for root
    (root ignores file modes). Undone after the test."""
    done: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-R", "+i", str(folder)], check=True)
        else:
            for p in [*folder.rglob("*"), folder]:
                p.chmod(0o555 if p.is_dir() else 0o444)
        done.append(folder)

    yield make
    for folder in done:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)
        else:
            for p in [folder, *folder.rglob("*")]:
                p.chmod(0o755 if p.is_dir() else 0o644)


def test_a_read_only_index_folder_is_one_line_and_the_index_survives(
    seed_engine: Engine, read_only: Callable[[Path], None]
) -> None:
    config = seed_engine.config
    shutil.copy(TUNNEL, config.corpus_dir / TUNNEL.name)
    read_only(config.index_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "index", "--config", str(config.base_dir / "config.yaml"), "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write the index"), proc.stderr
    assert proc.returncode == 9 and "previous index is unchanged" in lines[0]
    assert "Traceback" not in proc.stderr
    engine = Engine(config, encoder=seed_engine.encoder)
    assert [a.id for a in engine.articles()] == [SEED_ID]
    assert "Bushra Bibi" in engine.ask("who led the protest?").citations[0].text


def test_write_errors_say_the_old_index_is_unchanged(seed_engine: Engine) -> None:
    blocker = seed_engine.config.index_dir / "builds"
    shutil.rmtree(blocker)
    blocker.write_text("not a folder")  # every new build folder now fails to be created
    shutil.copy(TUNNEL, seed_engine.config.corpus_dir / TUNNEL.name)
    with pytest.raises(IndexWriteError, match=r"cannot write the index .* previous index is unchanged"):
        seed_engine.rebuild()
