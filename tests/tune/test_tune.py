"""fusednn.tune: spaces checked up front, exact grids, seeded reproducibility, pruning and CV,
resuming a killed run, and parallel trials in processes and on a local Dask cluster."""
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("optuna")
pytest.importorskip("sklearn")

from fusednn import tune  # noqa: E402
from fusednn.data import load_digits, train_test_split  # noqa: E402
from fusednn.tune import Choice, Float, Int  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    x_tr, _, y_tr, _ = train_test_split(x, y, 0.2, seed=0)
    return x_tr, y_tr


SMALL = {"lr": Float(1e-3, 1e-2, log=True), "hidden": Int(16, 64), "batch_size": Choice([64, 128])}


@pytest.mark.parametrize("space,match", [
    ({"lr": Choice([])}, "'lr': a Choice needs a non-empty list"),
    ({"lr": Float(0.1, 0.01)}, "'lr': low 0.1 > high 0.01"),
    ({"lr": Float(0.0, 0.1, log=True)}, "'lr': a log scale needs positive bounds"),
    ({"learning_rate": Float(1e-3, 1e-2)}, "unknown argument 'learning_rate'"),
    ({"momentum": Float(0, 1, when={"optimizer": "sgd"})}, "'momentum' depends on 'optimizer'"),
    ({"optimizer": Choice(["adam"]), "momentum": Float(0, 1, when={"optimizer": "sgd"})},
     "when optimizer='sgd', but 'optimizer' takes"),
    ({"hidden": Int(8, 32.5)}, "'hidden': an Int needs integer bounds"),
    ({"lr": {"type": "gaussian", "low": 1}}, "'lr': type must be one of"),
])
def test_bad_spaces_fail_before_any_trial(digits, space, match):
    with pytest.raises(ValueError, match=match):
        tune.Tuner(*digits, space=space, n_trials=2)


def test_grid_search_enumerates_exactly_the_grid(digits):
    space = {"lr": Choice([1e-3, 3e-3]), "hidden": Choice([16, 32]), "batch_size": Choice([64, 128])}
    result = tune.Tuner(*digits, space=space, method="grid", n_trials=100, epochs=2,
                        pruner="none", verbose=0).run()
    seen = sorted(tuple(t["params"][k] for k in ("lr", "hidden", "batch_size")) for t in result.trials)
    assert seen == sorted(itertools.product([1e-3, 3e-3], [16, 32], [64, 128]))
    with pytest.raises(ValueError, match="'lr' is continuous"):
        tune.Tuner(*digits, space=SMALL, method="grid")


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_seeded_searches_are_reproducible(digits, method):
    runs = [tune.Tuner(*digits, space=SMALL, method=method, n_trials=4, epochs=2, seed=7,
                       verbose=0).run() for _ in range(2)]
    assert [t["params"] for t in runs[0].trials] == [t["params"] for t in runs[1].trials]
    assert [t["value"] for t in runs[0].trials] == [t["value"] for t in runs[1].trials]


def test_a_metric_typo_fails_fast_with_the_available_keys(digits):
    with pytest.raises(KeyError, match=r"'val_acc'.*available: \['accuracy', 'loss', 'lr', "
                                       r"'val_accuracy', 'val_loss'\]"):
        tune.Tuner(*digits, space=SMALL, metric="val_acc", n_trials=3, epochs=2, verbose=0).run()


def test_cross_validation_reports_mean_and_std(digits):
    result = tune.Tuner(*digits, space=SMALL, method="random", n_trials=2, epochs=2, cv=3,
                        verbose=0).run()
    for t in result.study.trials:
        # The first fold epoch by epoch (steps 0, 1), then the running mean after folds 2, 3.
        assert sorted(t.intermediate_values) == [0, 1, 2, 3]
        assert t.user_attrs["std"] > 0
        assert t.value == pytest.approx(t.intermediate_values[3])
    folds = tune.stratified_folds(digits[1], 3, 0)
    assert sorted(np.concatenate([va for _, va in folds])) == list(range(len(digits[1])))


def test_pruning_stops_bad_trials(digits):
    space = {"lr": Float(1e-5, 1e-1, log=True), "optimizer": Choice(["sgd", "adam"])}
    result = tune.Tuner(*digits, space=space, method="random", n_trials=14, epochs=6,
                        pruner="median", verbose=0).run()
    assert result.counts().get("PRUNED", 0) >= 1


def test_results_retrain_plots_and_top_models(digits, tmp_path):
    x, y = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, 0.2, seed=0)
    result = tune.Tuner(x_tr, y_tr, space=SMALL, n_trials=3, epochs=3, out=str(tmp_path),
                        top_k=2, verbose=0).run()
    model, metrics = result.retrain_best(x_te, y_te)
    assert 0.5 < metrics["accuracy"] <= 1.0
    assert len(result.keep_top_models(str(tmp_path / "top"))) == 2
    plots = result.plots(str(tmp_path / "plots"))
    assert any(p.endswith("optimization_history.png") for p in plots)
    assert "| trial | state" in result.table()



def test_a_search_without_out_removes_its_own_folders_once_nothing_holds_them(digits):
    """Trial models and the journal of a search given no folder live in temp folders the
    tuner made: as long as the tuner or its result is held (the result loads its best model
    from there), then removed, not left behind in the temp directory after every search."""
    import gc

    tuner = tune.Tuner(*digits, space=SMALL, method="random", n_trials=2, epochs=1, n_jobs=2,
                       pruner="none", verbose=0)
    result = tuner.run()
    folders = [f.path for f in tuner._temp_folders]
    assert [os.path.basename(f).split("-")[1] for f in folders] == ["tune", "trials"]
    assert all(os.path.isdir(f) for f in folders)
    del tuner
    gc.collect()
    assert all(os.path.isdir(f) for f in folders)  # the result still reads them
    assert result.best_models(1)[0] is not None
    assert result.counts() == {"COMPLETE": 2}  # the study reads its journal
    del result
    gc.collect()
    assert not any(os.path.exists(f) for f in folders)

def test_parallel_processes_and_dask_share_one_study(digits, tmp_path):
    for backend in ("processes", "dask"):
        if backend == "dask":
            pytest.importorskip("distributed")
        result = tune.Tuner(*digits, space=SMALL, method="random", n_trials=4, epochs=2,
                            n_jobs=2, backend=backend, pruner="none",
                            storage=f"journal:{tmp_path}/{backend}.log", verbose=0).run()
        assert result.counts() == {"COMPLETE": 4}
        assert len({json.dumps(t["params"], sort_keys=True) for t in result.trials}) == 4


def test_existing_study_needs_resume(digits, tmp_path):
    storage = f"journal:{tmp_path}/s.log"
    tune.Tuner(*digits, space=SMALL, n_trials=2, epochs=2, storage=storage, verbose=0).run()
    with pytest.raises(RuntimeError, match="pass resume=True"):
        tune.Tuner(*digits, space=SMALL, n_trials=4, epochs=2, storage=storage, verbose=0).run()
    result = tune.Tuner(*digits, space=SMALL, n_trials=4, epochs=2, storage=storage,
                        resume=True, verbose=0).run()
    assert result.counts() == {"COMPLETE": 4}


def test_killed_cli_run_resumes_without_repeating_finished_trials(tmp_path):
    out, log = tmp_path / "run", tmp_path / "study.log"
    cmd = [sys.executable, "-m", "fusednn", "tune", "--trials", "8", "--epochs", "15",
           "--pruner", "none", "--storage", f"journal:{log}", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finished = []
    deadline = time.time() + 300
    for line in proc.stdout:  # kill it after the third finished trial
        if line.startswith("trial ") and "COMPLETE" in line:
            finished.append(line.split()[1])
            if len(finished) == 3:
                proc.send_signal(signal.SIGKILL)
                break
        assert time.time() < deadline
    proc.wait()
    import optuna

    from fusednn.tune.study import make_storage

    before = {t.number: t.params for t in optuna.load_study(
        study_name="fusednn", storage=make_storage(f"journal:{log}")).trials
        if t.state.name == "COMPLETE"}
    assert len(before) >= 3
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    study = optuna.load_study(study_name="fusednn", storage=make_storage(f"journal:{log}"))
    complete = {t.number: t.params for t in study.trials if t.state.name == "COMPLETE"}
    assert len(complete) == 8
    assert all(complete[n] == p for n, p in before.items())  # finished trials kept, not rerun
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["COMPLETE"] == 8 and summary["retrained_test_accuracy"] > 0.5
    assert os.path.exists(out / "best_model.fdnn")


def test_space_from_yaml_and_json(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "lr: {type: float, low: 1.0e-4, high: 0.03, log: true}\n"
        "optimizer: {type: choice, values: [adam, sgd]}\n"
        "momentum: {type: float, low: 0.0, high: 0.9, when: {optimizer: sgd}}\n")
    space = tune.Space.load(str(tmp_path / "s.yaml"))
    assert list(space.params) == ["lr", "optimizer", "momentum"]
    (tmp_path / "s.json").write_text(json.dumps({"hidden": {"type": "int", "low": 8, "high": 4}}))
    with pytest.raises(ValueError, match="'hidden': low 8 > high 4"):
        tune.Space.load(str(tmp_path / "s.json"))


def test_isolated_trials_give_the_same_results_and_still_prune(digits):
    same = {}
    for isolate in (False, True):
        r = tune.Tuner(*digits, space=SMALL, method="random", n_trials=3, epochs=3, seed=2,
                       isolate_trials=isolate, verbose=0).run()
        same[isolate] = [(t["params"], t["value"]) for t in r.trials]
        if isolate:
            assert all(len(t.intermediate_values) == 3 for t in r.study.trials)
    assert same[True] == same[False]
    with pytest.raises(KeyError, match="'val_acc'"):
        tune.Tuner(*digits, space=SMALL, metric="val_acc", n_trials=1, epochs=2,
                   isolate_trials=True, verbose=0).run()
