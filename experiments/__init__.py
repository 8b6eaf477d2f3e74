"""One-off measurements that are not part of citebot's runtime (run them with ``python -m experiments.NAME``)."""

# The project's question sets, as the README's quality table runs them (paths from the repository root).
EVAL_SETS = (
    "eval/news/questions.jsonl",
    "eval/heldout/questions.jsonl",
    "eval/chat/questions.jsonl",
    "../shared/eval/xquad-dev/questions.jsonl",
)
