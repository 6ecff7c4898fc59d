"""Keras's losses, as functions ``fn(y_true, y_pred)`` (per-sample values, numpy) and classes
(``BinaryCrossentropy(from_logits=False)`` & co.) that ``compile`` takes. Probability losses
take probabilities unless ``from_logits=True``; after a final softmax/sigmoid they read its
logits through fusednn's fused kernels, so the numbers are Keras's and stable."""
from __future__ import annotations

import inspect

import numpy as np

from ..autograd import Tensor, no_grad
from ..nn import losses as _losses
from ..nn.losses import same_rank
from .registry import Registry


def _per_sample(fn, y_true, y_pred, **kwargs):
    with no_grad():
        out = fn(Tensor(np.asarray(y_pred, np.float32)), np.asarray(y_true), **kwargs)
    return out.numpy()


def _float(y):
    return np.asarray(y, np.float32)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    return _per_sample(_losses.binary_crossentropy, _float(y_true), y_pred,
                       from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    return _per_sample(_losses.categorical_crossentropy, _float(y_true), y_pred,
                       from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Per row; rows whose target is ``ignore_class`` get 0 (Keras's)."""
    if isinstance(axis, bool) or axis not in (-1, np.ndim(y_pred) - 1):
        raise ValueError(f"sparse_categorical_crossentropy: only the last axis (axis=-1) is "
                         f"supported, got axis={axis!r}")
    return _per_sample(_losses.sparse_categorical_crossentropy, y_true, y_pred,
                       from_logits=from_logits, ignore_class=_ignore_class(ignore_class))


def _ignore_class(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"ignore_class must be an integer class index or None, got {value!r}")
    return int(value)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    return _per_sample(_losses.binary_focal_crossentropy, _float(y_true), y_pred,
                       apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                       from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    return _per_sample(_losses.categorical_focal_crossentropy, _float(y_true), y_pred,
                       alpha=alpha, gamma=gamma, from_logits=from_logits,
                       label_smoothing=label_smoothing, axis=axis)


def mean_squared_error(y_true, y_pred):
    return _per_sample(_losses.mean_squared_error, _float(y_true), y_pred)


def mean_absolute_error(y_true, y_pred):
    return _per_sample(_losses.mean_absolute_error, _float(y_true), y_pred)


def huber(y_true, y_pred, delta=1.0):
    return _per_sample(_losses.huber, _float(y_true), y_pred, delta=delta)


def kl_divergence(y_true, y_pred):
    return _per_sample(_losses.kl_divergence, _float(y_true), y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    return _per_sample(_losses.mean_absolute_percentage_error, _float(y_true), y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    return _per_sample(_losses.mean_squared_logarithmic_error, _float(y_true), y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    return _per_sample(_losses.cosine_similarity, _float(y_true), y_pred, axis=axis)


def log_cosh(y_true, y_pred):
    return _per_sample(_losses.log_cosh, _float(y_true), y_pred)


def poisson(y_true, y_pred):
    return _per_sample(_losses.poisson, _float(y_true), y_pred)


def hinge(y_true, y_pred):
    return _per_sample(_losses.hinge, _float(y_true), y_pred)


def squared_hinge(y_true, y_pred):
    return _per_sample(_losses.squared_hinge, _float(y_true), y_pred)


def categorical_hinge(y_true, y_pred):
    return _per_sample(_losses.categorical_hinge, _float(y_true), y_pred)


mse, mae, kld = mean_squared_error, mean_absolute_error, kl_divergence
mape, msle, logcosh = mean_absolute_percentage_error, mean_squared_logarithmic_error, log_cosh


# Keras 3's reductions: "mean" is "sum_over_batch_size"; "mean_with_sample_weight" divides by
# the summed sample weights instead of the number of values; None and "none" keep the values.
REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none")
# the reductions fit trains with: the batch mean of the weighted values
MEAN_REDUCTIONS = ("sum_over_batch_size", "mean")


def _weighted(values, weights):
    try:
        return values * weights
    except ValueError:
        raise ValueError(f"sample_weight of shape {weights.shape} does not broadcast to the "
                         f"loss of shape {values.shape}") from None


class Loss:
    """A loss object: ``loss(y_true, y_pred, sample_weight=None)`` reduces the per-sample
    values as Keras 3 does (``reduction``: "sum_over_batch_size" (default) or "mean": the sum
    of the weighted values over their number; "mean_with_sample_weight": over the summed
    weights; "sum"; "none" or None: the weighted values). ``compile(loss=obj)`` trains with it
    (with one of the mean reductions)."""

    name = ""
    function = None

    def __init__(self, from_logits: bool = False, reduction: str = "sum_over_batch_size",
                 name: str = None):
        reduction = "none" if reduction is None else reduction  # Keras 3 takes None too
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(map(repr, REDUCTIONS))} or "
                             f"None, got {reduction!r}")
        self.from_logits, self.reduction = from_logits, reduction
        if name:  # a display name; the class's ``name`` says which loss it is
            self.name = name

    options: dict = {}

    def get_config(self) -> dict:
        """The constructor's arguments (Keras's protocol): ``type(loss).from_config(config)``
        rebuilds it."""
        config = {}
        for p in inspect.signature(type(self).__init__).parameters.values():
            if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.name in self.options:
                config[p.name] = self.options[p.name]
            elif p.name == "name":
                config[p.name] = self.name
            else:
                config[p.name] = getattr(self, p.name, p.default)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def fusednn_loss(self):
        if self.reduction not in MEAN_REDUCTIONS:
            raise NotImplementedError(
                f"compile: a {type(self).__name__} with reduction={self.reduction!r} is not "
                f"supported for training (fit trains on the batch mean, reduction "
                f"'sum_over_batch_size'); call the loss directly for other reductions")
        return (type(self).name, self.from_logits, self.options)

    def call(self, y_true, y_pred):
        """Keras's: the per-sample losses (a subclass defines it, on Tensors)."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    @property
    def _own_call(self) -> bool:
        return type(self).call is not Loss.call

    def __call__(self, y_true, y_pred, sample_weight=None):
        fn = type(self).function
        if fn is None and self._own_call:  # the user's loss class
            with no_grad():
                per = KerasCall(self.call).values(Tensor(np.asarray(y_pred, np.float32)),
                                                  y_true)
            per = np.asarray(per.numpy(), np.float32)
            return self._reduce(per, sample_weight, None)
        kwargs = {"from_logits": self.from_logits} if type(self).name.endswith(
            "crossentropy") else {}
        kwargs.update(self.options)
        per = np.asarray(fn(y_true, y_pred, **kwargs), np.float32)
        return self._reduce(per, sample_weight, self._mask(y_true, per))

    def _mask(self, y_true, per):
        """The values that count (a boolean array shaped like ``per``), or None for all."""
        return None

    def _reduce(self, per, sample_weight, mask):
        """Keras's reduce_weighted_values: a mask (Keras's, from ``_mask``) becomes weights that
        leave the masked values out of the sum and of the count, merged with sample_weight."""
        reduction = self.reduction
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        if mask is not None:
            kept = mask.astype(np.float32)
            if reduction in MEAN_REDUCTIONS:  # the mean over the kept values
                count = float(kept.sum())
                kept *= kept.size / count if count else 0.0
            if weights is not None:
                kept, weights = same_rank(kept, weights)
                weights = _weighted(kept, weights)
            else:
                weights = kept
        if weights is not None:
            per, weights = same_rank(per, weights)
            per = _weighted(per, weights)
        if reduction == "none" or per.shape in ((), (0,)):
            return per
        total = float(per.sum(dtype=np.float64))
        if reduction == "sum":
            return total
        divisor = (float(weights.sum(dtype=np.float64))
                   if reduction == "mean_with_sample_weight" and weights is not None
                   else float(per.size))
        return total / divisor if divisor else 0.0  # Keras's divide_no_nan


class _SmoothedCrossentropy(Loss):
    """Keras's arguments, in Keras's order: ``(from_logits=False, label_smoothing=0.0,
    axis=-1, reduction="sum_over_batch_size", name=None)``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = None):
        super().__init__(from_logits, reduction, name)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"only the last axis (axis=-1) is supported, got axis={axis!r}")
        self.label_smoothing = float(label_smoothing)
        # what training passes on: nothing when there is no smoothing (the fused fast path)
        self.options = {"label_smoothing": self.label_smoothing} if self.label_smoothing else {}


class BinaryCrossentropy(_SmoothedCrossentropy):
    name, function = "binary_crossentropy", staticmethod(binary_crossentropy)


class CategoricalCrossentropy(_SmoothedCrossentropy):
    name, function = "categorical_crossentropy", staticmethod(categorical_crossentropy)


class BinaryFocalCrossentropy(Loss):
    """Keras's arguments, in Keras's order: ``(apply_class_balancing=False, alpha=0.25,
    gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction, name)``."""
    name, function = "binary_focal_crossentropy", staticmethod(binary_focal_crossentropy)

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = "sum_over_batch_size", name: str = None):
        super().__init__(from_logits, reduction, name)
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"only the last axis (axis=-1) is supported, got axis={axis!r}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.options = {"apply_class_balancing": bool(apply_class_balancing),
                        "alpha": float(alpha), "gamma": float(gamma),
                        "label_smoothing": float(label_smoothing)}


class CategoricalFocalCrossentropy(Loss):
    """Keras's arguments, in Keras's order: ``(alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1, reduction, name)``."""
    name, function = "categorical_focal_crossentropy", staticmethod(
        categorical_focal_crossentropy)

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = None):
        super().__init__(from_logits, reduction, name)
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"only the last axis (axis=-1) is supported, got axis={axis!r}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.options = {"alpha": float(alpha), "gamma": float(gamma),
                        "label_smoothing": float(label_smoothing)}


class SparseCategoricalCrossentropy(Loss):
    """Keras's arguments, in Keras's order: ``(from_logits=False, ignore_class=None,
    reduction="sum_over_batch_size", axis=-1, name=None)``. Rows whose target is
    ``ignore_class`` (e.g. a padding label) add nothing and are not counted in the mean, in
    ``compile`` as in a direct call; metrics still see them (as Keras's)."""
    name, function = "sparse_categorical_crossentropy", staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits: bool = False, ignore_class=None,
                 reduction: str = "sum_over_batch_size", axis: int = -1, name: str = None):
        super().__init__(from_logits, reduction, name)
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"only the last axis (axis=-1) is supported, got axis={axis!r}")
        self.ignore_class = _ignore_class(ignore_class)
        self.options = {} if self.ignore_class is None else {"ignore_class": self.ignore_class}

    def _mask(self, y_true, per):
        if self.ignore_class is None:
            return None
        return ~_losses.ignored_rows(np.asarray(y_true), per.shape, self.ignore_class)


class MeanSquaredError(Loss):
    name, function = "mean_squared_error", staticmethod(mean_squared_error)

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = None):
        super().__init__(False, reduction, name)


class MeanAbsoluteError(MeanSquaredError):
    name, function = "mean_absolute_error", staticmethod(mean_absolute_error)


class Huber(MeanSquaredError):
    name, function = "huber", staticmethod(huber)

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size",
                 name: str = None):
        super().__init__(reduction, name)
        self.options = {"delta": float(delta)}


class KLDivergence(MeanSquaredError):
    name, function = "kl_divergence", staticmethod(kl_divergence)


class MeanAbsolutePercentageError(MeanSquaredError):
    name, function = "mean_absolute_percentage_error", staticmethod(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(MeanSquaredError):
    name, function = "mean_squared_logarithmic_error", staticmethod(mean_squared_logarithmic_error)


class CosineSimilarity(MeanSquaredError):
    name, function = "cosine_similarity", staticmethod(cosine_similarity)

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size", name: str = None):
        super().__init__(reduction, name)
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"only the last axis (axis=-1) is supported, got axis={axis!r}")


class LogCosh(MeanSquaredError):
    name, function = "log_cosh", staticmethod(log_cosh)


class Poisson(MeanSquaredError):
    name, function = "poisson", staticmethod(poisson)


class Hinge(MeanSquaredError):
    name, function = "hinge", staticmethod(hinge)


class SquaredHinge(MeanSquaredError):
    name, function = "squared_hinge", staticmethod(squared_hinge)


class CategoricalHinge(MeanSquaredError):
    name, function = "categorical_hinge", staticmethod(categorical_hinge)


class KerasCall:
    """A loss given to ``compile`` as Keras code writes one: ``fn(y_true, y_pred)`` on Tensors
    (``keras.ops`` or Tensor arithmetic), giving per-sample values (or one value), reduced as
    Keras's "sum_over_batch_size": sum(values * sample_weight) / their number. y_true arrives
    as a float32 Tensor, its rank matched to y_pred's as Keras matches them."""

    weighs_samples = True  # NamedLoss passes the batch's sample weights

    def __init__(self, fn, reduction: str = "sum_over_batch_size"):
        if reduction not in MEAN_REDUCTIONS:
            raise NotImplementedError(
                f"compile: a loss with reduction={reduction!r} is not supported for training "
                "(fit trains on the batch mean, reduction 'sum_over_batch_size')")
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def values(self, out, target):
        y_true = target.data if isinstance(target, Tensor) else target
        y_true = np.asarray(y_true, np.float32)
        if y_true.ndim == out.ndim - 1 and out.shape[-1] == 1:
            y_true = y_true[..., None]
        elif y_true.ndim == out.ndim + 1 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        values = self.fn(Tensor(y_true, device=out.device), out)
        return values if isinstance(values, Tensor) else Tensor(np.asarray(values, np.float32))

    def __call__(self, out, target, weight=None):
        values = self.values(out, target)
        if weight is None:
            return values.mean()
        w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, np.float32),
                                                             device=out.device)
        values, w = same_rank(values, w)
        return _weighted(values, w).sum() / max(int(np.prod(values.shape)), 1)


def compile_loss(loss):
    """What ``compile(loss=...)`` trains with: a name or a built-in loss object as it is
    (fusednn's fused losses); a ``keras.losses`` function by its name; a ``Loss`` subclass
    that defines ``call``, or any other callable, as Keras calls it (``KerasCall``)."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return KerasCall(loss.call, loss.reduction) if type(loss).function is None and \
            loss._own_call else loss
    name = _FUNCTION_NAMES.get(loss)
    if name is not None:
        return name
    if callable(loss):
        return KerasCall(loss)
    return loss  # compile names what is wrong with it


CLASSES = {cls.__name__: cls for cls in (
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, MeanSquaredError, MeanAbsoluteError,
    Huber, KLDivergence, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCosh, Poisson, Hinge, SquaredHinge, CategoricalHinge)}
FUNCTIONS = {cls.name: cls.function for cls in CLASSES.values()}
FUNCTIONS.update(mse=mean_squared_error, mae=mean_absolute_error,
                 mape=mean_absolute_percentage_error, msle=mean_squared_logarithmic_error,
                 kld=kl_divergence, logcosh=log_cosh)


# each function by the name compile trains it under (its class's, which fusednn's losses know)
_FUNCTION_NAMES = {cls.function: cls.name for cls in CLASSES.values()}

_REGISTRY = Registry("loss", "keras.losses", CLASSES, FUNCTIONS, Loss)
serialize, deserialize, get = _REGISTRY.serialize, _REGISTRY.deserialize, _REGISTRY.get
