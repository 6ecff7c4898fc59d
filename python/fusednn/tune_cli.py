"""``fusednn tune``: search hyperparameters of a model (built-in, or the user's own
``build_model(hp)`` named as ``file.py:function`` or ``module:function``) on a dataset, print
the trials as they finish and the best result, retrain the best configuration on all the
training data, and write plots, the best models and summary.json into ``--out``."""
from __future__ import annotations

import argparse
import os
import time

from .train_cli import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .train_cli import DATASETS

    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--data-path", default=None)
    p.add_argument("--download", action="store_true")
    p.add_argument("--model", type=model_spec, default="mlp",
                   help="mlp, cnn, or your builder: path/to/file.py:build_model or "
                        "package.module:build_model")
    p.add_argument("--images", action="store_true",
                   help="give the builder images (N, C, H, W) rather than flat rows "
                        "(implied by --model cnn)")
    p.add_argument("--method", choices=("grid", "random", "bayes", "tpe", "gp", "nsga2"),
                   default="bayes")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--epochs", type=positive_int, default=20,
                   help="epochs per trial (unless tuned)")
    p.add_argument("--cv", type=int, default=None, help="k-fold cross-validation per trial")
    p.add_argument("--validation-split", type=float, default=0.2)
    p.add_argument("--metric", "--objective", dest="metric", default=None,
                   help="a key fit logs (default: val_accuracy for the built-in models, "
                        "val_loss for a builder)")
    p.add_argument("--objectives", default=None,
                   help="several objectives, comma-separated (e.g. val_accuracy,params): a "
                        "multi-objective search (NSGA-II)")
    p.add_argument("--direction", choices=("min", "max"), default=None,
                   help="the objective's direction when its name does not say")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="fit batch size (unless tuned)")
    p.add_argument("--pruner", choices=("median", "halving", "hyperband", "none"),
                   default="median")
    p.add_argument("--space", default=None, help="a JSON or YAML file defining the search space")
    p.add_argument("--n-jobs", type=int, default=1, help="parallel worker processes")
    p.add_argument("--backend", choices=("processes", "dask"), default="processes")
    p.add_argument("--address", default=None, help="Dask scheduler address (default: local cluster)")
    p.add_argument("--storage", default=None,
                   help="journal:PATH or a database URL (default: journal file in --out when "
                        "parallel or resuming)")
    p.add_argument("--study-name", default="fusednn")
    p.add_argument("--resume", action="store_true", help="continue the stored study")
    p.add_argument("--isolate-trials", action="store_true",
                   help="run every trial in a fresh process (memory never accumulates)")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/tune")


def model_spec(text: str) -> str:
    """--model: a built-in name, or a builder reference (checked when the search starts)."""
    if text in ("mlp", "cnn") or (text.count(":") == 1 and all(text.split(":"))):
        return text
    raise argparse.ArgumentTypeError(f"expected mlp, cnn, file.py:function or module:function, "
                                     f"got {text!r}")


def main(args) -> int:
    from . import tune
    from .train_cli import load_dataset

    start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    (x_tr, y_tr), (x_te, y_te) = load_dataset(args.dataset, args.data_path, args.download,
                                              images=args.images or args.model == "cnn",
                                              seed=args.seed)
    objectives = args.objectives.split(",") if args.objectives else None
    tuner = tune.Tuner(x_tr, y_tr, space=args.space, model=args.model, method=args.method,
                       n_trials=args.trials, metric=args.metric, objectives=objectives,
                       direction=args.direction, batch_size=args.batch_size, cv=args.cv,
                       validation_split=args.validation_split, epochs=args.epochs,
                       pruner=args.pruner, seed=args.seed, storage=args.storage,
                       study_name=args.study_name, n_jobs=args.n_jobs, backend=args.backend,
                       address=args.address, resume=args.resume, out=args.out,
                       top_k=args.top_k, device=args.device,
                       isolate_trials=args.isolate_trials)
    result = tuner.run()
    print(result.table())
    plots = result.plots(os.path.join(args.out, "plots"))
    top = result.keep_top_models(os.path.join(args.out, "top"))
    extra = dict(dataset=args.dataset, model=args.model, method=args.method, cv=args.cv,
                 n_jobs=args.n_jobs, backend=args.backend, plots=plots, top_models=top)
    if result.task.multi:
        print(result.pareto_table())
        summary = result.write_summary(
            os.path.join(args.out, "summary.json"), **extra,
            total_wall_seconds=round(time.perf_counter() - start, 3))
        print(f"Pareto front of {len(summary['pareto_front'])} trial(s); {summary['trials']} in "
              f"{summary['total_wall_seconds']:.1f} s; files in {args.out}")
        return 0
    model, test = result.retrain_best(x_te, y_te, full_train=True)
    model.save(os.path.join(args.out, "best_model.fdnn"))
    test_numbers = {f"retrained_test_{k}": v for k, v in test.items()}
    summary = result.write_summary(
        os.path.join(args.out, "summary.json"), **extra, **test_numbers,
        total_wall_seconds=round(time.perf_counter() - start, 3))
    shown = ", ".join(f"{k} {v:.4f}" for k, v in test.items())
    print(f"best {summary['metric']} {summary['best_value']:.4f} (trial {summary['best_trial']}); "
          f"retrained on all training data: test {shown}; "
          f"{summary['trials']} in {summary['total_wall_seconds']:.1f} s; files in {args.out}")
    return 0
