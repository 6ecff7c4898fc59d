"""keras.optimizers.schedules: Keras's formulas at hand-computed points, read by a Keras
optimizer before each step at the step's number, saved with the model and resumed, and
refusing a second owner of the rate."""
import math

import numpy as np
import pytest

from fusednn import keras

S = keras.optimizers.schedules


@pytest.mark.parametrize("schedule,step,expected", [
    (S.ExponentialDecay(0.1, 10, 0.5), 5, 0.1 * 0.5 ** 0.5),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), 15, 0.05),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 10, 1.0),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 11, 0.5),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 20, 0.5),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 21, 0.1),
    (S.PolynomialDecay(0.1, 10, 0.01, power=2.0), 5, 0.09 * 0.25 + 0.01),
    (S.PolynomialDecay(0.1, 10, 0.01, power=2.0), 20, 0.01),  # held past decay_steps
    (S.PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 15, 0.09 * 0.25 ** 2 + 0.01),
    (S.PolynomialDecay(0.1, 10, 0.01, cycle=True), 0, 0.1),
    (S.InverseTimeDecay(0.1, 1.0, 0.5), 2, 0.05),
    (S.InverseTimeDecay(0.1, 4, 0.5, staircase=True), 7, 0.1 / 1.5),
    (S.CosineDecay(0.1, 10), 5, 0.05),
    (S.CosineDecay(0.1, 10, alpha=0.1), 5, 0.1 * (0.9 * 0.5 + 0.1)),
    (S.CosineDecay(0.1, 10, alpha=0.1), 50, 0.01),  # held at alpha
    (S.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=5), 2, 0.04),
    (S.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=5), 5, 0.1),
    (S.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=5), 10, 0.05),
    (S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5), 10, 0.05),  # period 2 starts
    (S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5), 20, 0.025),  # halfway through it
    (S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5), 30, 0.025),  # period 3 starts
    (S.CosineDecayRestarts(0.1, 10, t_mul=1.0), 15, 0.05),
])
def test_schedules_give_kerass_values(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_schedules_round_trip_through_their_configs():
    for schedule in (S.ExponentialDecay(0.1, 10, 0.5, staircase=True),
                     S.PiecewiseConstantDecay([3, 7], [0.3, 0.2, 0.1]),
                     S.CosineDecay(0.0, 10, alpha=0.2, warmup_target=0.1, warmup_steps=5),
                     S.CosineDecayRestarts(0.1, 10, 1.5, 0.8, 0.1)):
        again = S.deserialize(S.serialize(schedule))
        assert type(again) is type(schedule)
        assert [again(s) for s in range(40)] == [schedule(s) for s in range(40)]
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="one element fewer than values"):
        S.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        S.deserialize({"class_name": "Nope", "config": {}})


def data():
    x = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
    return x, (x.sum(1) > 0).astype(np.int64)


def model_with(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(5,)),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model


def test_each_step_runs_at_the_schedules_rate_for_its_number():
    """Step t (0 for the first) runs at schedule(t): SGD without momentum moves each weight
    by exactly rate * gradient, so the rates can be read back from the moves."""
    x, y = data()
    schedule = S.PiecewiseConstantDecay([1, 2], [0.5, 0.25, 0.125])
    model = model_with(keras.optimizers.SGD(schedule))
    weight = model.layers[1].weight
    moves = []
    for step in range(4):
        before = weight.numpy().copy()
        model.fit(x[:16], y[:16], epochs=1, batch_size=16, shuffle=False, verbose=0)
        grad = weight.grad.numpy()
        moves.append(float(np.abs(before - weight.numpy()).sum() / np.abs(grad).sum()))
    # Keras's boundaries are inclusive: steps 0 and 1 run at values[0]
    np.testing.assert_allclose(moves, [0.5, 0.5, 0.25, 0.125], rtol=1e-5)
    assert model.optimizer.iterations == 4


def test_a_saved_schedule_resumes_at_its_step(tmp_path):
    x, y = data()
    model = model_with(keras.optimizers.Adam(S.ExponentialDecay(0.1, 3, 0.5)))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 8
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** (7 / 3))
    model.save(tmp_path / "scheduled.keras")
    loaded = keras.models.load_model(tmp_path / "scheduled.keras")
    assert loaded.optimizer.iterations == 8
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate == pytest.approx(
        0.1 * 0.5 ** (11 / 3))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_scheduled_rate_has_one_owner():
    x, y = data()
    model = model_with(keras.optimizers.RMSprop(S.CosineDecay(0.01, 100)))
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    with pytest.raises(RuntimeError, match="driven by the CosineDecay schedule"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[halve])
    with pytest.raises(TypeError, match="learning_rate must be a number or a"):
        keras.optimizers.Adam(lambda: 0.1)


def test_a_constant_rate_counts_iterations_too():
    x, y = data()
    model = model_with(keras.optimizers.Adagrad(0.05))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 4 and model.optimizer.learning_rate == 0.05
    assert math.isclose(model.optimizer.param_groups[0]["lr"], 0.05)


def keras_sgd_reference(model, x, y, rates, steps, callbacks=None):
    """Keras's momentum rule written out (v = 0.9 v - lr g; p += v) on the model's last
    kernel, beside the model's own steps (one batch, one epoch per step: epoch t is step t);
    returns the worst gap."""
    weight = model.layers[-1].weight
    p = weight.numpy().astype(np.float64).copy()
    v = np.zeros_like(p)
    worst = 0.0
    for t in range(steps):
        model.fit(x, y, epochs=t + 1, initial_epoch=t, batch_size=len(x), shuffle=False,
                  verbose=0, callbacks=callbacks)
        v = 0.9 * v - rates(t) * weight.grad.numpy().astype(np.float64)
        p = p + v
        worst = max(worst, float(np.abs(p - weight.numpy()).max()))
    return worst


def sgd_model(learning_rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(5,))])
    model.compile(keras.optimizers.SGD(learning_rate, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_sgd_momentum_follows_kerass_rule_while_the_rate_changes(tmp_path):
    """Keras's velocity keeps the scale of the rates it was built with; torch's buffer does
    not (their steps differ by about 7e-2 here after six decaying steps). Under a schedule, a
    LearningRateScheduler callback, and across a save and load, the steps are Keras's."""
    x, y = data()
    x, y = x[:16], y[:16]
    schedule = S.ExponentialDecay(0.1, 1, 0.7)
    assert keras_sgd_reference(sgd_model(schedule), x, y, schedule, 6) < 1e-6
    halving = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    assert keras_sgd_reference(sgd_model(0.1), x, y, lambda t: 0.1 * 0.5 ** t, 4,
                               callbacks=[halving]) < 1e-6
    model = sgd_model(schedule)
    keras_sgd_reference(model, x, y, schedule, 3)
    model.save(tmp_path / "sgd.keras")
    loaded = keras.models.load_model(tmp_path / "sgd.keras")
    for m in (model, loaded):
        m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def keras_velocity_reference(name, config, rates, grads, p0):
    """Keras 3's SGD and RMSprop steps with momentum, from their source, in float64: the
    velocity is built at each step's own rate and kept at that scale."""
    p, m, v, avg = p0.astype(np.float64), 0.0, 0.0, 0.0
    mom, eps, rho = config["momentum"], 1e-7, config.get("rho", 0.9)
    for lr, g in zip(rates, grads):
        g = g.astype(np.float64)
        if name == "sgd":
            m = mom * m - lr * g
            p = p + (mom * m - lr * g if config.get("nesterov") else m)
        else:
            v = rho * v + (1 - rho) * g * g
            denominator = v + eps
            if config.get("centered"):
                avg = rho * avg + (1 - rho) * g
                denominator = denominator - avg * avg
            m = mom * m + lr * g / np.sqrt(denominator)
            p = p - m
    return p


@pytest.mark.parametrize("name,config", [
    ("sgd", dict(momentum=0.9)),
    ("sgd", dict(momentum=0.9, nesterov=True)),
    ("sgd", dict(momentum=0.5, nesterov=True)),
    ("rmsprop", dict(momentum=0.5)),
    ("rmsprop", dict(momentum=0.9, centered=True, rho=0.8)),
])
def test_momentum_follows_kerass_velocity_under_a_schedule(name, config):
    """Nesterov's look-ahead and RMSprop's momentum keep Keras's velocity too: torch's buffer
    would be 0.05-0.3 away after a few decaying steps."""
    rng = np.random.default_rng(7)
    p0 = rng.standard_normal(300).astype(np.float32)
    grads = [rng.standard_normal(300).astype(np.float32) for _ in range(8)]
    for schedule in (S.ExponentialDecay(0.1, 1, 0.6), S.PiecewiseConstantDecay([2, 4],
                                                                                 [0.1, 0.3, 0.02])):
        cls = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[name]
        p = p0.copy()
        opt = cls(learning_rate=schedule, **config).build_optimizer([p])
        for g in grads:
            opt.step(grads=[g])
        expected = keras_velocity_reference(name, config, [schedule(t) for t in range(8)],
                                            grads, p0)
        np.testing.assert_allclose(p, expected, rtol=1e-5, atol=1e-5)


def test_cosine_restarts_that_run_out_say_so():
    """t_mul < 1 shrinks the periods so that they end (here at step 20); Keras returns NaN
    past that point, which would poison the weights, so the step raises instead."""
    schedule = S.CosineDecayRestarts(0.1, 10, t_mul=0.5)
    assert schedule(12) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 2 / 5)))
    with pytest.raises(ValueError, match="no period left at step 25: its periods end at step 20"):
        schedule(25)
