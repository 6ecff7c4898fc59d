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


class DefaultsShown(argparse.HelpFormatter):
    """--help shows every option's default, including options without help text."""

    def _format_action(self, action):
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                and "%(default)" not in (action.help or ""):
            action.help = ((action.help + " ") if action.help else "") + "(default: %(default)s)"
        return super()._format_action(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusednn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add = lambda *a, **k: sub.add_parser(*a, formatter_class=DefaultsShown, **k)  # noqa: E731
    p = add("info", help="what was built, CPU features, kernel path, CUDA and GPUs")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_info)

    from . import train_cli

    p = add("train", help="train a model on a dataset; writes history.png, log.csv, "
                                     "model.fdnn and summary.json into --out")
    train_cli.add_arguments(p)
    p.set_defaults(func=train_cli.main)

    from . import tune_cli

    p = add("tune", help="hyperparameter search (grid, random, bayes, gp); writes "
                                    "plots, the best models and summary.json into --out")
    tune_cli.add_arguments(p)
    p.set_defaults(func=tune_cli.main)

    from .bench.__main__ import add_arguments

    p = add("bench", help="kernel benchmarks against PyTorch")
    add_arguments(p)
    p.set_defaults(func=_bench)
    return parser


# What a user can cause (bad values, missing or corrupt files, no network, a missing optional
# package): one line naming it, exit status 2, as argparse does for a bad flag. Anything else is
# a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, KeyError, ImportError)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"fusednn {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
