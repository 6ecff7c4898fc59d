"""A noisy quadratic bowl that every optimizer trajectory test runs on.

Each implementation computes its own gradient from its own parameters, so rounding errors
feed back as they do in training; the bowl is contractive, so they do not blow up. With
``maximize`` the bowl is turned upside down, so ascent converges too.

Every element's noise amplitude is kept between 0.5 and 1.5: an element whose noise vanished
would settle exactly at its target, RMSprop/Adam would then divide a vanishing gradient by a
vanishing RMS, and the direction of its moves would be decided by rounding (a float32 numpy
run then drifts from float64 as far as any kernel does). The bowl keeps every problem
well-conditioned, so a 1e-5 agreement is a statement about the kernels.
"""
import math

import numpy as np

SIZES = [0, 1, 7, 4097, 2**20 + 3]
STEPS = 200

# name, options: each option of each optimizer appears at least once.
CONFIGS = [
    ("sgd", dict(lr=0.05)),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.5, weight_decay=0.01, maximize=True)),
    ("adagrad", dict(lr=0.05)),
    ("adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                     eps=1e-6)),
    ("adagrad", dict(lr=0.05, maximize=True)),
    ("rmsprop", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("rmsprop", dict(lr=0.01, centered=True, alpha=0.9)),
    ("rmsprop", dict(lr=0.005, centered=True, momentum=0.8, eps=1e-6, maximize=True)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("adamw", dict(lr=0.01, weight_decay=0.1)),
    ("adamw", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


def config_id(config):
    name, options = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


class Bowl:
    def __init__(self, sizes=SIZES, seed=0, maximize=False, curvature=1.0, l1_safe=False):
        """``l1_safe``: targets at least 0.5 from zero and each start on its target's side,
        so no trajectory sits at or crosses L1's kink at 0, where sign(p) is decided by
        rounding and no float32 run can follow a float64 one."""
        self.curvature = curvature
        rng = np.random.default_rng(seed)
        self.start = [rng.standard_normal(n) for n in sizes]
        self.target = [rng.standard_normal(n) for n in sizes]
        if l1_safe:
            self.target = [np.sign(t) * (0.5 + np.abs(t)) for t in self.target]
            self.start = [t * rng.uniform(0.3, 2.0, size=t.size) for t in self.target]
        self.noise_a = [self._amplitude(rng, n) for n in sizes]
        self.noise_b = [self._amplitude(rng, n) for n in sizes]
        self.sign = -1.0 if maximize else 1.0

    @staticmethod
    def _amplitude(rng, n):
        return rng.choice([-1.0, 1.0], size=n) * rng.uniform(0.5, 1.5, size=n)

    def grads(self, params, step):
        """Gradient at ``params`` on the given step, in the params' own dtype."""
        ca, cb = 0.3 * math.cos(0.37 * step), 0.3 * math.sin(0.71 * step)
        out = []
        for p, t, a, b in zip(params, self.target, self.noise_a, self.noise_b):
            dt = p.dtype
            g = (self.sign * self.curvature) * (p - t.astype(dt)) + dt.type(ca) * a.astype(dt) \
                + dt.type(cb) * b.astype(dt)
            out.append(np.ascontiguousarray(g, dtype=dt))
        return out


def assert_close(ours, ref, what, rtol=1e-5):
    """Relative agreement, with the tensor's own magnitude as the floor near zero."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape
    if ref.size == 0:
        return
    assert np.all(np.isfinite(ours)), f"{what}: non-finite values"
    floor = rtol * float(np.max(np.abs(ref)))
    err = np.abs(ours - ref)
    bad = err > rtol * np.abs(ref) + floor
    assert not bad.any(), (f"{what}: {bad.sum()} of {ref.size} elements off; worst "
                           f"|diff| {err.max():.3g} at |ref| {np.abs(ref).max():.3g}")
