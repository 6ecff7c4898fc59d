"""``python -m fusednn.bench SUITE [options]`` (the same as ``fusednn bench``)."""
from __future__ import annotations

import argparse
import importlib
import sys

from . import SUITES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=sorted(SUITES), help="which kernels to benchmark")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats: a smoke run in seconds")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per case (median reported)")
    parser.add_argument("--only", default=None,
                        help="comma-separated optimizer names to run (e.g. adam,sgd)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where the kernels run (cuda needs a GPU and fusednn._cuda)")
    parser.add_argument("--out", default=None,
                        help="also write the table (.md) or the rows (.json) to this file")


def run(args) -> int:
    suite = importlib.import_module(SUITES[args.suite])
    return suite.main(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fusednn.bench", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
