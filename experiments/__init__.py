"""One-off measurements that are not part of citebot's runtime (run them with ``python -m experiments.NAME``)."""
