"""`python -m index`: the citebot command line."""

from .cli import main

main(prog_name="python -m index")
