"""The shipped reader (index/reader/model) through its serving class, on hand-written news passages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.errors import describe
from index.errors import ReaderModelError
from index.reader import MODEL_DIR, Reader
from index.reader.card import model_card
from index.reader.serve import META_FILE, ONNX_FILE, encode_pairs, load_tokenizer

REPO = Path(__file__).resolve().parents[2]

# Written for this test (fictional places and people); not from any eval or training set.
PASSAGES = {
    "bridge": [
        "The new Harlow Street bridge over the River Tamsey opened to traffic on Monday after three years of work.",
        "The crossing cost 84 million pounds, 12 million more than the council first estimated.",
        "Council leader Maria Okafor said the delays were caused by flooding in the winter of 2023.",
        "Cyclists will have a separate lane on the eastern side of the bridge.",
        "The old bridge, built in 1911, will be demolished next spring.",
    ],
    "strike": [
        "Bus drivers in Northam will strike for two days next week in a dispute over pay.",
        "The union said its members had rejected an offer of a 4 percent rise by a vote of 812 to 97.",
        "Northam Transit, which runs the city's 40 routes, said it was disappointed by the decision.",
        "Schools have warned parents that pupils who travel by bus may arrive late.",
    ],
    "football": [
        "Westbury Rovers won the county cup on Saturday, beating Elm Park 3-1 in front of 9,000 fans.",
        "Striker Tom Reyes scored twice in the second half.",
        "It is the club's first trophy since 1998.",
        "Elm Park manager Dana Kowalski said her team had been tired after a long season.",
    ],
}

# (passage, question, index of the answering sentence)
ANSWERED = [
    ("bridge", "How much did the Harlow Street bridge cost?", 1),
    ("bridge", "What caused the delays to the bridge?", 2),
    ("bridge", "when was the old bridge built", 4),
    ("strike", "By how many votes did the union reject the pay offer?", 1),
    ("strike", "How many routes does Northam Transit run?", 2),
    ("football", "Who scored twice for Westbury Rovers?", 1),
    ("football", "How many fans watched the county cup final?", 0),
]

UNANSWERED = ("bridge", "What is the name of the bridge's architect?")


def candidates(passage: list[str]) -> list[tuple[str, str, str]]:
    return [
        (s, passage[i - 1] if i > 0 else "", passage[i + 1] if i + 1 < len(passage) else "")
        for i, s in enumerate(passage)
    ]


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load()


def test_shipped_files_and_meta() -> None:
    meta = json.loads((MODEL_DIR / META_FILE).read_text())
    assert (MODEL_DIR / ONNX_FILE).stat().st_size <= 31_000_000  # int8, Gather included
    assert meta["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert meta["max_length"] >= 64
    assert "validation" in meta and "training" in meta
    assert (MODEL_DIR / "MODEL_CARD.md").is_file()


def test_the_card_is_written_from_the_shipped_meta() -> None:
    meta = json.loads((MODEL_DIR / META_FILE).read_text())
    assert (MODEL_DIR / "MODEL_CARD.md").read_text() == model_card(meta)  # no figure drifts from meta.json


def test_scores_are_probabilities_one_per_candidate(reader: Reader) -> None:
    cands = candidates(PASSAGES["bridge"])
    scores = reader.score("How much did the bridge cost?", cands)
    assert scores.dtype == np.float32
    assert scores.shape == (len(cands),)
    assert np.all((scores > 0) & (scores < 1))
    assert reader.score("anything?", []).shape == (0,)


def test_batch_padding_keeps_the_order_and_the_call_is_deterministic(reader: Reader) -> None:
    # int8 activations are quantised with one scale per batch, so scores shift a little with the
    # batch (MODEL_CARD.md); what must hold: padding is masked out well enough that scored one by one
    # (no padding) the candidates come in the same order, and the same call gives the same bits.
    cands = candidates(PASSAGES["strike"])
    question = "Why are bus drivers striking?"
    batched = reader.score(question, cands)
    alone = np.array([reader.score(question, [c])[0] for c in cands])
    assert np.argsort(-batched).tolist() == np.argsort(-alone).tolist()
    assert np.array_equal(batched, reader.score(question, cands))


def test_candidates_read_side_by_side_score_as_read_one_after_another(reader: Reader) -> None:
    side_by_side = Reader.load(parallel=2)
    for name, passage in PASSAGES.items():
        cands = candidates(passage)
        question = f"what happened to the {name}"
        assert np.array_equal(side_by_side.logits(question, cands), reader.logits(question, cands))
    assert side_by_side.logits("anything?", cands[:1]).shape == (1,)


def test_the_saved_graph_leaves_the_slow_fusion_out_and_scores_as_a_fresh_load(reader: Reader, tmp_path: Path) -> None:
    import onnx

    saved = Reader.load(optimized_dir=tmp_path)
    (copy,) = tmp_path.glob("*.onnx")
    ops = {node.op_type for node in onnx.load(str(copy)).graph.node}
    assert "LayerNormalization" in ops and "SkipLayerNormalization" not in ops  # index.embed.onnx.UNFUSED
    cands, question = candidates(PASSAGES["bridge"]), "what happened to the bridge"
    fresh = reader.logits(question, cands)
    assert np.array_equal(saved.logits(question, cands), fresh)
    again = Reader.load(optimized_dir=tmp_path)  # loads the saved copy as it is
    assert np.array_equal(again.logits(question, cands), fresh)


@pytest.mark.parametrize(("passage", "question", "answer"), ANSWERED)
def test_answering_sentence_beats_its_neighbours(reader: Reader, passage: str, question: str, answer: int) -> None:
    sentences = PASSAGES[passage]
    scores = reader.score(question, candidates(sentences))
    neighbours = [i for i in (answer - 1, answer + 1) if 0 <= i < len(sentences)]
    assert all(scores[answer] > scores[i] for i in neighbours), (question, scores.round(3).tolist())


def test_most_answering_sentences_rank_first(reader: Reader) -> None:
    firsts = [int(np.argmax(reader.score(q, candidates(PASSAGES[p])))) == answer for p, q, answer in ANSWERED]
    assert sum(firsts) >= len(ANSWERED) - 1, firsts


def test_unanswered_question_scores_below_an_answered_one(reader: Reader) -> None:
    passage, question = UNANSWERED
    cands = candidates(PASSAGES[passage])
    unanswered = reader.score(question, cands)
    answered = reader.score("How much did the Harlow Street bridge cost?", cands)
    assert float(unanswered.max()) < float(answered.max()), (unanswered.round(3).tolist(), answered.round(3).tolist())


def test_layout_keeps_the_sentence_when_the_context_is_long() -> None:
    tokenizer = load_tokenizer(MODEL_DIR / "tokenizer.json")
    long = "word " * 400
    feed = encode_pairs(tokenizer, "who?", [("The mayor resigned.", long, long)], max_length=64)
    ids = feed["input_ids"][0].tolist()
    assert len(ids) == 64
    sentence = tokenizer.encode("The mayor resigned.", add_special_tokens=False).ids
    assert ids[4 : 4 + len(sentence)] == sentence  # [CLS] who ? [SEP] sentence ...
    assert feed["token_type_ids"][0, :4].tolist() == [0, 0, 0, 0]
    assert feed["token_type_ids"][0, 4:].min() == 1


def test_a_shorter_read_is_capped_at_the_trained_length_and_keeps_the_sentence() -> None:
    trained = json.loads((MODEL_DIR / META_FILE).read_text())["max_length"]
    assert Reader.load(max_length=10_000).max_length == trained  # never more than it was trained on
    short = Reader.load(max_length=64)
    passage = PASSAGES["bridge"]
    context = " ".join(passage * 4)  # neighbours far longer than 64 pieces
    logits = short.logits("how much did the crossing cost", [(s, context, context) for s in passage])
    assert int(np.argmax(logits)) == 1  # the sentence itself is still read whole


def test_serving_does_not_import_torch() -> None:
    code = (
        "import sys; import index.reader.serve as s; r = s.Reader.load(); "
        "r.score('who?', [('Alice won.', '', '')]); "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'transformers' not in sys.modules, 'transformers imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


def test_corrupted_model_is_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    data = bytearray((copy / ONNX_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(ReaderModelError, match="damaged") as info:
        Reader.load(copy)
    assert "\n" not in str(info.value)
    # An admin in Discord is not sent to /reindex, which rebuilds the index and not the reader.
    told = describe(info.value, admin=True).text or ""
    assert "reinstall citebot" in told and "won't fix" in told


def test_missing_model_is_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    (copy / ONNX_FILE).unlink()
    with pytest.raises(ReaderModelError, match="missing") as info:
        Reader.load(copy)
    assert "\n" not in str(info.value)
    with pytest.raises(ReaderModelError):
        Reader.load(tmp_path / "nowhere")


def test_the_card_names_every_run_a_reader_grew_from_in_order() -> None:
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    tr = meta["training"]
    first = {
        "command": "python -m index.reader.train --budget-minutes 78",
        "steps": 1174,
        "train_minutes": 78.0,
        "layers": 6,
        "max_length": 128,
        "lr": 5e-5,
        "groups_read": 5870,
        "earlier_run": None,
    }
    second = {
        "command": "python -m index.reader.train --init-from a/checkpoint.pt",
        "steps": 2367,
        "train_minutes": 105.0,
        "layers": 6,
        "max_length": 128,
        "lr": 3e-5,
        "groups_read": 17705,
        "earlier_run": first,
    }
    tr.update({"earlier_run": second, "train_minutes": 95.0, "init_from_groups": 17705})
    tr["config"] = {**tr["config"], "init_from": "b/checkpoint.pt"}
    card = model_card(meta)
    assert "2 earlier runs" in card and "over groups 0 to 5,870" in card and "over groups 5,870 to 17,705" in card
    assert card.index(first["command"]) < card.index(second["command"])  # in the order they ran
    assert "278 minutes of training steps" in card  # 78 + 105 + 95
