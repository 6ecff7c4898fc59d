"""Keras's initializer objects (``keras.initializers``): called with a weight's shape in
Keras's layout — Dense (in, out), Conv1D (k, in, out), Conv2D (kh, kw, in, out), the
recurrent kernels (in, gates * units) and (units, gates * units) — and fans read from it as
Keras reads them (the last two axes, times the receptive field). The layers of fusednn.keras
call them in that layout and store the result in their own.

Keras's rules: the normal variance-scaling initializers (Glorot, He, LeCun) draw a normal
truncated at two standard deviations, widened by 1 / 0.8796 so the spread stays sqrt(scale /
n); an initializer gives the same values at every call (its seed, or one drawn from
fusednn's initializer stream when it is made, so ``keras.utils.set_random_seed`` fixes it).
"""
from __future__ import annotations

import math
import re

import numpy as np

from .. import _seeding

# the standard deviation of a unit normal truncated at +-2, by which Keras widens its draws
TRUNCATED_STDDEV = 0.87962566103423978


def truncated_normal(rng, shape, mean=0.0, stddev=1.0) -> np.ndarray:
    """N(mean, stddev^2) in float64, every draw beyond two standard deviations drawn again."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


def keras_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight in Keras's layout, as Keras's compute_fans."""
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes])),
                int(np.prod([shape[a] for a in output_axes])))
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"an initializer takes a shape (a tuple of ints), got {shape!r}") \
            from None
    if any(s < 0 for s in shape):
        raise ValueError(f"an initializer takes a shape of sizes >= 0, got {shape}")
    return shape


def draw(initializer, shape, axes=None, keras=False) -> np.ndarray:
    """A float32 weight of ``shape`` (fusednn's layout) from ``initializer``: called with the
    shape in the order ``axes`` gives (Keras's layout, with ``keras``: and dtype="float32", as
    Keras calls initializers) and transposed back."""
    asked = shape if axes is None else tuple(shape[a] for a in axes)
    out = initializer(asked, dtype="float32") if keras else initializer(asked)
    out = np.asarray(out, np.float32)
    if out.shape != tuple(asked):
        raise ValueError(f"the initializer {initializer!r} gave shape {out.shape} for a weight of "
                         f"shape {tuple(asked)}")
    return out if axes is None else np.ascontiguousarray(out.transpose(np.argsort(axes)))


def _dtype(dtype):
    if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"initializers give float32 (or float64) weights, got dtype={dtype!r}")
    return np.float32 if dtype is None else np.dtype(dtype)


class Initializer:
    """Keras's protocol: ``init(shape, dtype=None)`` gives the array, ``get_config()`` the
    arguments, ``from_config`` rebuilds it."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__}: an Initializer subclass defines "
                                  "__call__(shape, dtype=None)")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), _dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), _dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        if np.ndim(value) != 0:
            raise ValueError(f"Constant takes one number, got {value!r}")
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(_shape(shape), self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """gain * the identity matrix (a 2-D shape; rectangular ones get ones on the diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity can only be used for 2D matrices, got shape {shape}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """A seeded draw: ``seed`` an int, or None for one drawn from fusednn's initializer
    stream now; every call gives the same values (Keras 3's rule)."""

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self._init_seed = seed
        self.seed = int(seed) if seed is not None else \
            int(_seeding.init_rng().integers(0, 2 ** 31 - 1))

    def _rng(self):
        return np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self._init_seed}


class RandomNormal(RandomInitializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = float(mean), float(stddev)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        draw = self._rng().standard_normal(_shape(shape))
        return (self.mean + self.stddev * draw).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev^2), draws beyond two standard deviations drawn again."""

    def __call__(self, shape, dtype=None):
        return truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev).astype(
            _dtype(dtype))


class RandomUniform(RandomInitializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = float(minval), float(maxval)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        draw = self._rng().uniform(self.minval, self.maxval, _shape(shape))
        return draw.astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(RandomInitializer):
    """Spread sqrt(scale / n), n the fan_in, fan_out or their mean: a truncated normal (widened
    so its spread is that), an untruncated one, or uniform on [-sqrt(3 scale / n), +...]."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if not scale > 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of fan_in, "
                             "fan_out, fan_avg")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}. Please use one "
                             "of uniform, truncated_normal, untruncated_normal")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        fan_in, fan_out = keras_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            out = truncated_normal(rng, shape, 0.0, math.sqrt(scale) / TRUNCATED_STDDEV)
        elif self.distribution == "untruncated_normal":
            out = math.sqrt(scale) * rng.standard_normal(shape)
        else:
            limit = math.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, shape)
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes,
                **super().get_config()}


def _scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self._init_seed}

    @classmethod
    def from_config(cls, config):
        return cls(seed=config.get("seed"))

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "from_config": from_config, "__doc__": doc})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform",
                         "U(-sqrt(6 / (fan_in + fan_out)), +...).")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                        "Truncated normal of spread sqrt(2 / (fan_in + fan_out)).")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform", "U(-sqrt(6 / fan_in), +...).")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal",
                    "Truncated normal of spread sqrt(2 / fan_in).")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform", "U(-sqrt(3 / fan_in), +...).")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                       "Truncated normal of spread sqrt(1 / fan_in).")


class Orthogonal(RandomInitializer):
    """gain * Q of a Gaussian matrix's QR (signs fixed by R's diagonal), over the shape
    flattened to (everything but the last axis, the last axis): orthonormal columns when
    there are at least as many rows, else orthonormal rows."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = float(gain)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal,
    Orthogonal)}
# Keras's snake_case names, and its short aliases
NAMES = {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(): cls for name, cls in CLASSES.items()}
NAMES.update(zero=Zeros, one=Ones, uniform=RandomUniform, normal=RandomNormal,
             identity=Identity, orthogonal=Orthogonal)


def get(identifier):
    """An initializer from a Keras name ("he_normal", "HeNormal"), a config dict
    ({"class_name": ..., "config": ...}), an Initializer, or any callable(shape, dtype=None)."""
    if isinstance(identifier, Initializer) or (callable(identifier)
                                               and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown initializer class {identifier.get('class_name')!r} "
                             f"(known: {', '.join(CLASSES)})")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        cls = CLASSES.get(identifier) or NAMES.get(identifier)
        if cls is not None:
            return cls()
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r} (known: "
                     f"{', '.join(sorted(NAMES))})")


def serialize(initializer) -> dict:
    """``{"class_name": ..., "config": ...}``, as Keras's serialize gives it."""
    if type(initializer) not in CLASSES.values():
        raise TypeError(f"cannot serialize {initializer!r}: only the built-in initializers")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict):
    return get(config)
