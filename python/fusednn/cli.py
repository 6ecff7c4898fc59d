"""The ``fusednn`` command: ``fusednn info``, ``train``, ``tune``, ``bench SUITE``."""
from __future__ import annotations

import argparse
import json
import sys


def _info(args) -> int:
    from ._info import format_info, info

    data = info()
    print(json.dumps(data, indent=2) if args.json else format_info(data))
    return 0


def _bench(args) -> int:
    from .bench.__main__ import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusednn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="what was built, CPU features, kernel path, CUDA and GPUs")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_info)

    from . import train_cli

    p = sub.add_parser("train", help="train a model on a dataset; writes history.png, log.csv, "
                                     "model.fdnn and summary.json into --out")
    train_cli.add_arguments(p)
    p.set_defaults(func=train_cli.main)

    from . import tune_cli

    p = sub.add_parser("tune", help="hyperparameter search (grid, random, bayes, gp); writes "
                                    "plots, the best models and summary.json into --out")
    tune_cli.add_arguments(p)
    p.set_defaults(func=tune_cli.main)

    from .bench.__main__ import add_arguments

    p = sub.add_parser("bench", help="kernel benchmarks against PyTorch")
    add_arguments(p)
    p.set_defaults(func=_bench)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
