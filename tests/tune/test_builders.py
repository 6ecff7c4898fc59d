"""fusednn.tune over the user's own models: ``build_model(hp)`` builders and HyperModels,
KerasTuner's surface, any objective and task, several objectives, parallel workers running
user code, and every bad input refused before a trial runs."""
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("sklearn")

import fusednn  # noqa: E402
from fusednn import keras, nn, tune  # noqa: E402
from fusednn.data import load_digits, train_test_split  # noqa: E402
from tests.tune.user_builders import build_mlp as small_mlp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDERS = os.path.join(HERE, "user_builders.py")


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, 0.2, seed=0)
    return x_tr, y_tr, x_te, y_te




# -- HyperParameters ------------------------------------------------------------------------------
def test_hyperparameters_draw_from_the_trial_and_record_the_space():
    trial = optuna.trial.FixedTrial({"lr": 0.01, "units": 32, "opt": "sgd", "momentum": 0.5,
                                     "flag": True})
    hp = tune.HyperParameters(trial)
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == 0.01
    assert hp.Int("units", 16, 64, step=16) == 32
    opt = hp.Choice("opt", ["adam", "sgd"])
    with hp.conditional_scope("opt", "sgd"):
        assert hp.Float("momentum", 0.0, 0.9) == 0.5
    with hp.conditional_scope("opt", ["adam"]):
        assert hp.Float("beta1", 0.8, 0.99) is None  # inactive: not part of the trial
    assert hp.Boolean("flag") is True
    assert hp.Fixed("epochs", 3) == 3
    assert opt == "sgd" and hp.values == {"lr": 0.01, "units": 32, "opt": "sgd",
                                          "momentum": 0.5, "flag": True, "epochs": 3}
    assert hp.fit_values() == {"epochs": 3}
    assert hp.get("beta1") is None and hp["units"] == 32
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == 0.01  # the same draw again
    with pytest.raises(ValueError, match="'lr' drawn twice with different definitions"):
        hp.Float("lr", 1e-4, 1e-2, log=True)
    with pytest.raises(KeyError, match="'nope' has not been drawn"):
        hp.get("nope")


def test_hyperparameters_defaults_and_replay():
    hp = tune.HyperParameters()
    assert hp.Float("a", 0.5, 2.0) == 0.5 and hp.Int("b", 3, 9) == 3
    assert hp.Choice("c", ["x", "y"], default="y") == "y" and hp.Boolean("d") is False
    replay = tune.HyperParameters(values={"a": 1.5, "c": "x"})
    assert replay.Float("a", 0.5, 2.0) == 1.5 and replay.Choice("c", ["x", "y"]) == "x"
    assert replay.Int("b", 3, 9, default=5) == 5  # a name the values lack takes its default


@pytest.mark.parametrize("draw,match", [
    (lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "log sampling needs positive"),
    (lambda hp: hp.Float("lr", 1.0, 0.1), "min_value 1.0 > max_value 0.1"),
    (lambda hp: hp.Float("lr", 1e-3, 1.0, sampling="reverse_log"), "sampling must be one of"),
    (lambda hp: hp.Float("lr", 1e-3, 1.0, log=False, sampling="log"), "contradicts"),
    (lambda hp: hp.Float("lr", float("nan"), 1.0), "finite numbers"),
    (lambda hp: hp.Float("lr", 1e-3, 1.0, step=0.1, log=True), "step is a factor and must be > 1"),
    (lambda hp: hp.Int("n", 1, 2.5), "must be integers"),
    (lambda hp: hp.Choice("c", []), "non-empty list"),
    (lambda hp: hp.Choice("c", [[1, 2]]), "numbers, strings"),
    (lambda hp: hp.Float("x", min_value=1, low=1, max_value=2), "not both"),
    (lambda hp: hp.conditional_scope("missing", 1).__enter__(), "must be drawn before"),
])
def test_bad_hyperparameter_definitions_name_the_problem(draw, match):
    with pytest.raises(ValueError, match=match):
        draw(tune.HyperParameters())


def test_log_sampling_with_a_step_is_kerastuners_geometric_grid():
    """KerasTuner 1.4: with sampling="log" the step is a factor, values min * step^k up to
    max (these are the values its random_sample draws)."""
    import optuna

    seen = {"i": set(), "f": set()}

    def draw(trial):
        hp = tune.HyperParameters(trial)
        seen["i"].add(hp.Int("i", 2, 64, step=2, sampling="log"))
        seen["f"].add(hp.Float("f", 1e-4, 1e-1, step=10, sampling="log"))
        return 0.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).optimize(draw, 200)
    assert seen["i"] == {2, 4, 8, 16, 32, 64}
    assert sorted(seen["f"]) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    hp = tune.HyperParameters()
    assert hp.Int("n", 3, 100, step=3, sampling="log") == 3  # the default is min_value
    assert "Choice([3, 9, 27, 81])" in hp.summary()


def test_a_choice_holds_one_kind_of_value():
    with pytest.raises(TypeError, match="only one type of value"):
        tune.HyperParameters().Choice("c", [1, "x"])
    with pytest.raises(ValueError, match="`ordered` must be False"):
        tune.HyperParameters().Choice("c", ["a", "b"], ordered=True)
    assert tune.HyperParameters().Choice("c", [None, 0.5, 1]) is None


@pytest.mark.parametrize("name,direction", [
    ("val_loss", "minimize"), ("loss", "minimize"), ("val_mae", "minimize"),
    ("val_mean_squared_error", "minimize"), ("train_seconds", "minimize"),
    ("params", "minimize"), ("val_accuracy", "maximize"), ("val_auc", "maximize"),
    ("val_f1", "maximize"), ("val_precision", "maximize"), ("recall", "maximize"),
    ("balanced_accuracy", "maximize"),
])
def test_direction_is_read_from_the_name(name, direction):
    assert tune.Objective(name).direction == direction


def test_an_objective_of_no_known_direction_is_refused():
    with pytest.raises(ValueError, match="cannot tell whether objective 'val_foo'"):
        tune.Tuner(small_mlp, objective="val_foo")
    assert tune.Objective("val_foo", "max").direction == "maximize"


# -- searching a builder ------------------------------------------------------------------------
def test_builder_search_keras_tuner_style(digits, tmp_path):
    x, y, x_te, y_te = digits
    tuner = tune.RandomSearch(small_mlp, objective="val_accuracy", max_trials=3, seed=3,
                              directory=str(tmp_path), project_name="p", verbose=0)
    result = tuner.search(x, y, epochs=3, validation_split=0.25)
    assert result.counts() == {"COMPLETE": 3}
    best = tuner.get_best_hyperparameters(2)
    assert len(best) == 2 and set(best[0].values) == {"units", "lr"}
    assert best[0].values == result.best_params
    # The saved model of the best trial scores exactly the trial's value on its held-out part.
    model = tuner.get_best_models(1)[0]
    _, held = result.task.splits()[0]
    score = model.evaluate(x[held], y[held])["accuracy"]
    assert score == pytest.approx(result.best_value, abs=1e-12)
    rebuilt = tuner.hypermodel.build(best[0])
    assert [layer.units for layer in rebuilt.layers if hasattr(layer, "units")][0] == \
        best[0].values["units"]
    assert "Trial" in tuner.results_summary(2)
    assert os.path.isdir(tmp_path / "p" / "trials")


def test_seeded_builder_search_is_reproducible(digits):
    x, y = digits[:2]
    runs = [tune.Tuner(small_mlp, objective="val_accuracy", method="tpe", max_trials=3, seed=5,
                       verbose=0).search(x, y, epochs=2) for _ in range(2)]
    assert [(t["params"], t["value"]) for t in runs[0].trials] == \
           [(t["params"], t["value"]) for t in runs[1].trials]


class RecordingModel(tune.HyperModel):
    """A HyperModel that tunes fit arguments and records what fit received."""

    def build(self, hp):
        hp.Choice("batch_size", [16, 48])
        hp.Choice("class_weight", ["balanced"])
        hp.Fixed("epochs", 2)
        return small_mlp(hp)

    def fit(self, hp, model, x, y, **kwargs):
        seen = {k: kwargs[k] for k in ("batch_size", "class_weight", "epochs")}
        assert seen == {k: hp.values[k] for k in seen}
        history = model.fit(x, y, **kwargs)
        model.history.history["fit_batch_size"] = [float(kwargs["batch_size"])]
        return history


def test_hypermodel_fit_receives_the_drawn_fit_arguments(digits):
    x, y = digits[:2]
    result = tune.Tuner(RecordingModel(), objective="val_accuracy", method="random",
                        max_trials=2, epochs=5, verbose=0).search(x, y)
    for t in result.study.trials:
        assert t.state.name == "COMPLETE"
        assert t.user_attrs["fixed"] == {"epochs": 2}
        assert t.params["class_weight"] == "balanced"


def test_regression_kfold_search_on_float_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 6)).astype(np.float32)
    y = (x @ rng.normal(size=6) + 0.1 * rng.normal(size=240)).astype(np.float32)

    def build(hp):
        model = fusednn.Sequential([nn.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
                                    nn.Dense(1)], input_shape=(6,))
        model.compile(optimizer="adam", lr=hp.Float("lr", 3e-3, 3e-2, log=True), loss="mse",
                      metrics=["mae"])
        return model

    result = tune.Tuner(build, objective="val_mae", cv=3, max_trials=3, epochs=4,
                        verbose=0).search(x, y)
    assert result.task.direction == "minimize" and not result.task.stratify
    for t in result.study.trials:
        assert sorted(t.intermediate_values) == [0, 1, 2, 3, 4, 5] and np.isfinite(t.value)
        assert t.value == pytest.approx(t.intermediate_values[5])
    folds = tune.kfold(len(y), 3, 0)
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(len(y)))
    assert all(abs(len(va) - len(y) / 3) <= 1 for _, va in folds)
    assert all(np.intersect1d(tr, va).size == 0 for tr, va in folds)


def test_multi_objective_search_has_a_pareto_front_and_its_plot(digits, tmp_path):
    x, y = digits[:2]
    result = tune.Tuner(small_mlp, objectives=["val_accuracy", "params"], max_trials=6,
                        epochs=2, verbose=0).search(x, y)
    assert result.study.directions == [optuna.study.StudyDirection.MAXIMIZE,
                                       optuna.study.StudyDirection.MINIMIZE]
    assert isinstance(result.study.sampler, optuna.samplers.NSGAIISampler)
    rows = [r for r in result.trials if r["state"] == "COMPLETE"]
    front = result.pareto_front()
    assert front
    for f in front:  # nothing completed dominates a front member
        acc, params = f["values"]
        assert not any(r["values"][0] >= acc and r["values"][1] <= params and
                       r["values"] != f["values"] for r in rows)
        assert f["values"][1] == f["model_params"]
    assert len(result.best_models(len(front))) == len(front)
    with pytest.raises(ValueError, match="no single best trial"):
        result.best_trial
    paths = result.plots(str(tmp_path))
    assert paths == [str(tmp_path / "pareto_front.png")] and os.path.getsize(paths[0]) > 10_000
    assert "| trial | val_accuracy | params" in result.pareto_table()


def test_plain_objective_function():
    tuner = tune.Tuner(objective=lambda t: (t.suggest_float("x", -3, 3) - 1.0) ** 2,
                       method="tpe", n_trials=40, seed=0, verbose=0)
    result = tuner.run()
    assert abs(result.best_params["x"] - 1.0) < 0.3 and result.task.direction == "minimize"


def test_grid_search_over_a_builder_with_a_conditional_scope(digits):
    x, y = digits[:2]

    def build(hp):
        opt = hp.Choice("optimizer", ["adam", "sgd"])
        with hp.conditional_scope("optimizer", "sgd"):
            momentum = hp.Choice("momentum", [0.0, 0.9])
        model = fusednn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(10)],
                                   input_shape=(64,))
        kw = {"momentum": momentum} if opt == "sgd" else {}
        model.compile(optimizer=opt, lr=hp.Float("lr", 0.01, 0.03, step=0.01), **kw)
        return model

    tuner = tune.GridSearch(build, objective="val_loss", epochs=1, verbose=0)
    assert tuner.method == "grid"
    result = tuner.search(x, y)
    assert tuner.grid == {"optimizer": ["adam", "sgd"], "momentum": [0.0, 0.9],
                          "lr": [0.01, 0.02, 0.03]}
    assert result.counts() == {"COMPLETE": 12}
    seen = {(t["params"]["optimizer"], t["params"].get("momentum"), round(t["params"]["lr"], 6))
            for t in result.trials}
    assert {s for s in seen if s[0] == "sgd"} == {("sgd", m, lr) for m in (0.0, 0.9)
                                                   for lr in (0.01, 0.02, 0.03)}
    with pytest.raises(ValueError, match="'lr' is a continuous Float"):
        tune.GridSearch(small_mlp, objective="val_loss", verbose=0).search(x, y, epochs=1)


def test_hyperband_and_bayesian_presets(digits):
    x, y = digits[:2]
    hb = tune.Hyperband(small_mlp, objective="val_accuracy", max_epochs=9, factor=3, verbose=0)
    assert hb.n_trials == 9 + 5 + 3  # brackets s=2,1,0 of the classic count
    assert isinstance(hb.pruner, optuna.pruners.HyperbandPruner) and hb.method == "random"
    pytest.importorskip("torch")  # Optuna's GP sampler runs on torch
    bo = tune.BayesianOptimization(small_mlp, objective="val_accuracy", max_trials=3,
                                   num_initial_points=2, verbose=0)
    result = bo.search(x, y, epochs=1)
    assert isinstance(result.study.sampler, optuna.samplers.GPSampler)
    assert result.counts() == {"COMPLETE": 3}


def keras_builder(hp):
    model = keras.Sequential([keras.layers.Input((64,)),
                              keras.layers.Dense(hp.Int("units", 16, 32, step=16),
                                                 activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2,
                                                           sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_keras_builder_and_its_best_model_keeps_keras_semantics(digits):
    x, y, x_te, y_te = digits
    tuner = tune.RandomSearch(keras_builder, objective="val_accuracy", max_trials=2, verbose=0)
    tuner.search(x, y, epochs=2, validation_data=(x_te, y_te))
    model = tuner.get_best_models(1)[0]
    assert isinstance(model, keras.Sequential)
    loss, acc = model.evaluate(x_te, y_te, verbose=0)  # Keras's [loss, *metrics]
    assert acc == pytest.approx(tuner.result.best_value, abs=1e-12)


def test_executions_per_trial_average_fits_from_different_initial_weights(digits):
    """KerasTuner's executions_per_trial: each trial trains its model that many times, from
    different initial weights, and scores the mean; the model it keeps is the last fit's."""
    x, y, x_te, y_te = digits
    scores = []

    class Record(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            scores.append(self.model.evaluate(x_te, y_te, verbose=0)[1])

    tuner = tune.RandomSearch(keras_builder, objective="val_accuracy", max_trials=1,
                              executions_per_trial=3, verbose=0)
    tuner.search(x, y, epochs=1, validation_data=(x_te, y_te), callbacks=[Record()])
    assert len(scores) == 3 and len(set(scores)) > 1
    assert tuner.result.best_value == pytest.approx(np.mean(scores), abs=1e-9)
    best = tuner.get_best_models(1)[0]
    assert best.evaluate(x_te, y_te, verbose=0)[1] == pytest.approx(scores[-1], abs=1e-12)
    with pytest.raises(ValueError, match="executions_per_trial"):
        tune.RandomSearch(keras_builder, objective="val_accuracy", executions_per_trial=0)


def test_isolated_trials_relay_the_builders_draws(digits):
    x, y = digits[:2]
    runs = {}
    for isolate in (False, True):
        tuner = tune.Tuner(f"{BUILDERS}:build_mlp", objective="val_accuracy", method="random",
                           max_trials=2, seed=4, isolate_trials=isolate, verbose=0)
        runs[isolate] = [(t["params"], t["value"]) for t in tuner.search(x, y, epochs=2).trials]
    assert runs[True] == runs[False]


# -- refused before any trial -------------------------------------------------------------------
def test_bad_setups_fail_before_any_trial(digits, tmp_path):
    x, y = digits[:2]
    with pytest.raises(ValueError, match="space= describes the built-in"):
        tune.Tuner(small_mlp, space={"lr": tune.Float(1e-3, 1e-2)})
    with pytest.raises(ValueError, match="model must be 'mlp', 'cnn', a function"):
        tune.Tuner(x, y, model="resnet")
    with pytest.raises(ValueError, match="y must hold integer class labels"):
        tune.Tuner(x, y.astype(np.float32), model="mlp")
    with pytest.raises(ValueError, match="defines no 'nope'"):
        tune.Tuner(f"{BUILDERS}:nope")
    with pytest.raises(ValueError, match="does not exist"):
        tune.Tuner(str(tmp_path / "missing.py") + ":build")
    with pytest.raises(ValueError, match="not a lambda or a function inside another"):
        tune.Tuner(lambda hp: small_mlp(hp), objective="val_loss", n_jobs=2,
                   verbose=0).search(x, y, epochs=1)
    with pytest.raises(ValueError, match="give validation_data, validation_split or cv"):
        tune.Tuner(small_mlp, verbose=0).search(x, y, validation_data=(x, y), cv=3)
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        tune.Tuner(small_mlp, verbose=0).search(x, y, sample_weight=np.ones(len(y)))


def test_a_builder_returning_an_uncompiled_model_is_named(digits):
    x, y = digits[:2]

    def build(hp):
        return fusednn.Sequential([nn.Dense(10)], input_shape=(64,))

    with pytest.raises(ValueError, match="must compile the model it returns"):
        tune.Tuner(build, max_trials=3, verbose=0).search(x, y, epochs=1)


def test_space_files_coerce_yaml_numbers_and_name_unknown_keys(tmp_path):
    pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text(
        "lr: {type: float, low: 1e-4, high: 3e-2, sampling: log}\n"
        "hidden: {type: int, low: 16, high: 64}\n")
    space = tune.Space.load(str(tmp_path / "s.yaml"))
    lr = space.params["lr"]
    assert (lr.low, lr.high, lr.log) == (1e-4, 3e-2, True)
    (tmp_path / "bad.yaml").write_text("lr: {type: float, low: 1e-4, hgih: 3e-2}\n")
    with pytest.raises(ValueError, match="'lr': unknown key 'hgih' for type float"):
        tune.Space.load(str(tmp_path / "bad.yaml"))
    (tmp_path / "bad2.yaml").write_text("lr: {type: float, low: tiny, high: 3e-2}\n")
    with pytest.raises(ValueError, match="'lr': low must be a number, got 'tiny'"):
        tune.Space.load(str(tmp_path / "bad2.yaml"))


# -- user code in worker processes ----------------------------------------------------------------
SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from fusednn import tune
from fusednn.data import load_digits
from user_builders import build_mlp

x, y = load_digits()
{indent}tuner = tune.Tuner(build_mlp, objective="val_accuracy", method="random", max_trials=2,
{indent}                   n_jobs=2, pruner="none", verbose=0)
{indent}result = tuner.search(x, y, epochs=1)
{indent}print("COUNTS", result.counts())
"""


def test_an_unguarded_script_raises_instead_of_hanging(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT.format(here=HERE, indent=""))
    start = time.time()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and time.time() - start < 60
    assert 'if __name__ == "__main__":' in done.stderr
    assert "unguarded.py from the top; line 11 runs outside" in done.stderr


def test_a_guarded_script_runs_user_builders_in_workers(tmp_path):
    body = SCRIPT.format(here=HERE, indent="    ").replace(
        "x, y = load_digits()", "x, y = load_digits()\nif __name__ == '__main__':")
    script = tmp_path / "guarded.py"
    script.write_text(body)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "COUNTS {'COMPLETE': 2}" in done.stdout


def test_cli_runs_a_builder_file_in_two_jobs_and_on_dask(tmp_path):
    for backend in ("processes", "dask"):
        if backend == "dask":
            pytest.importorskip("distributed")
        out = tmp_path / backend
        cmd = [sys.executable, "-m", "fusednn", "tune", "--model", f"{BUILDERS}:build_mlp",
               "--objective", "val_accuracy", "--method", "random", "--trials", "2",
               "--epochs", "1", "--n-jobs", "2", "--backend", backend, "--pruner", "none",
               "--out", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["trials"] == {"COMPLETE": 2}
        assert 0.0 < summary["retrained_test_accuracy"] <= 1.0
        assert set(summary["best_params"]) == {"units", "lr"}


def test_cli_refuses_a_bad_model_reference(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fusednn", "tune", "--model", "not-a-builder",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "expected mlp, cnn, file.py:function" in done.stderr


def test_tuning_progress_shows_each_trial(digits, capsys):
    x, y = digits[:2]
    tune.Tuner(small_mlp, objective="val_accuracy", max_trials=1, verbose=1).search(
        x, y, epochs=2)
    out = capsys.readouterr().out
    assert "trial 0" in out and "epoch" in out and "trial   0  COMPLETE val_accuracy=" in out


def test_a_bad_definition_in_the_builder_fails_before_any_trial(digits, tmp_path):
    x, y = digits[:2]

    def build(hp):
        model = small_mlp(hp)
        hp.Float("decay", 0.0, 1e-2, sampling="log")
        return model

    storage = f"journal:{tmp_path}/s.log"
    with pytest.raises(ValueError, match="'decay': log sampling needs positive bounds"):
        tune.Tuner(build, storage=storage, verbose=0).search(x, y, epochs=1)
    from fusednn.tune.study import make_storage

    assert optuna.get_all_study_summaries(make_storage(storage)) == []


def test_imbalanced_classes_tune_class_weight_on_balanced_accuracy():
    from fusednn.models.metrics import F1Score

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] > 1.1).astype(np.int64)  # about 14% positives

    def build(hp):
        hp.Choice("class_weight", [None, "balanced"])
        model = fusednn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(2)],
                                   input_shape=(4,))
        model.compile(optimizer="adam", lr=0.01, metrics=["balanced_accuracy", F1Score()])
        return model

    tuner = tune.GridSearch(build, objective="val_balanced_accuracy", verbose=0)
    result = tuner.search(x, y, epochs=3)
    assert result.task.direction == "maximize" and result.counts() == {"COMPLETE": 2}
    with pytest.raises(ValueError, match="'val_f1_score' is not one number"):
        tune.Tuner(build, objective=tune.Objective("val_f1_score", "max"), max_trials=1,
                   verbose=0).search(x, y, epochs=1)


def test_a_builder_of_recurrent_layers_tunes(digits):
    x, y = digits[:2]
    rows = x.reshape(len(x), 8, 8)  # each digit as 8 steps of 8 pixels

    def build(hp):
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[hp.Choice("cell", ["lstm", "gru"])]
        model = fusednn.Sequential([cell(hp.Int("units", 8, 16, step=8)), nn.Dense(10)],
                                   input_shape=(8, 8))
        model.compile(optimizer="adam", lr=0.01, metrics=["accuracy"])
        return model

    result = tune.GridSearch(build, objective="val_accuracy", verbose=0).search(
        rows, y, epochs=2)
    assert result.counts() == {"COMPLETE": 4} and result.best_value > 0.3
