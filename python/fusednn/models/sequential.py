"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict / summary,
running on the fused kernels on the CPU or the GPU."""
from __future__ import annotations

import inspect

import numpy as np

from .. import optim as _optim
from ..autograd import Tensor, no_grad
from ..nn.layers import Conv2D, MaxPool2D
from ..nn.losses import NamedLoss
from ..nn.module import Module
from . import saving, training
from .history import History, format_log
from .callbacks import CallbackList
from .metrics import check_metrics
from .summary import summary_text


def unique_name(name: str, taken) -> str:
    """``name``, or ``name_1``, ``name_2``... the first not in ``taken`` (Keras's way)."""
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _fuses_with_pool(layer, following, x) -> bool:
    """Whether ``layer`` then ``following`` run as one conv + pool: a Conv2D whose activation
    its kernel fuses, then a 2x2 stride-2 MaxPool2D, both in the same data format, on a 4-D
    input; neither a subclass that redefines how it runs (its own forward would be skipped)."""
    def runs_as(obj, base):
        return isinstance(obj, base) and all(
            getattr(type(obj), name) is getattr(base, name) for name in ("forward", "forward_nchw"))

    return (runs_as(layer, Conv2D) and layer._after is None and runs_as(following, MaxPool2D)
            and following.is_2x2() and x.ndim == 4 and layer.data_format == following.data_format
            and layer.activity_regularizer is None)  # which reads the conv's own output


def _passed_on(x, mask):
    """The step mask after a layer without ``compute_mask``: kept while the output still has
    those steps (N, T, F), as Keras's Dense, Dropout and activations keep it; else ended."""
    if mask is None or x.ndim != 3 or tuple(x.shape[:2]) != tuple(mask.shape):
        return None
    return mask


class Sequential(Module):
    """Layers applied in order. ``input_shape`` (without the batch axis) builds the model at
    once; otherwise it builds at the first call or ``fit``."""

    logs_learning_rate = True  # each epoch's logs and History carry "lr"
    # Binary accuracy of a model whose outputs are logits (a loss taking logits) thresholds
    # them at 0 (probability 0.5). Keras thresholds every output at 0.5 as it is.
    accuracy_reads_outputs_as_probabilities = False
    # "accuracy" resolves from the loss (Keras 2's rule). Keras 3 reads it from the shapes of
    # the targets and outputs alone, whatever the loss.
    accuracy_from_shapes = False
    # evaluate and the validation loss: the loss alone (Keras adds the weight penalties)
    evaluation_adds_penalties = False

    def __init__(self, layers=None, input_shape=None, name: str = None):
        super().__init__(name or "sequential")
        self.layers = []
        # one sample's shapes (no batch axis), known once built
        self.sample_input_shape = self.sample_output_shape = None
        self.optimizer = self.objective = self.lr_schedule = None
        self.metrics, self.stop_training, self._compile_config = [], False, None
        self.weighted_metrics = []
        for layer in layers or []:
            self.add(layer)
        if input_shape is not None:
            self.build((None,) + tuple(input_shape))

    def add(self, layer: Module) -> None:
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer (fusednn.nn.Module), got "
                            f"{type(layer).__name__}")
        layer.name = unique_name(layer.name, {l.name for l in self.layers})
        self.layers.append(layer)
        self._modules[str(len(self.layers) - 1)] = layer
        self._layers_changed()

    def pop(self) -> Module:
        """Remove and return the last layer (Keras's ``Sequential.pop``)."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers.pop()
        del self._modules[str(len(self.layers))]
        if not self.layers:
            self.built, self.sample_output_shape = False, None
        self._layers_changed()
        return layer

    def _layers_changed(self):
        """After add or pop: rebuild a built model's shapes, and let an optimizer compile made
        over the old parameters be made again over the new ones at the next fit (one given
        built by the user stays theirs)."""
        if self.built:
            self.built = False
            self.build((None,) + self.sample_input_shape)
        cfg = self._compile_config
        if self.optimizer is not None and cfg is not None \
                and not isinstance(cfg["optimizer"], _optim.Optimizer):
            self.optimizer = self.lr_schedule = None

    # -- building and calling ------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create every layer's weights by running one zero sample through them (eval mode, no
        graph); records the output shape (without the batch axis)."""
        self.sample_input_shape = tuple(input_shape[1:])
        mode = self.training
        self.eval()
        try:
            with no_grad():
                out = self.forward(Tensor(np.zeros((1,) + self.sample_input_shape, np.float32)))
        finally:
            self.train(mode)
        # None where a subclassed model's call gives several outputs (fit refuses it)
        self.sample_output_shape = tuple(out.shape[1:]) if isinstance(out, Tensor) else None
        self.built = True

    @property
    def input_shape(self):
        """One sample's input shape (no batch axis), or None before the model is built."""
        return self.sample_input_shape

    @property
    def output_shape(self):
        """One sample's output shape (no batch axis), or None before the model is built."""
        return self.sample_output_shape

    def forward(self, x):
        return self._run(x, self.layers)[0]

    def forward_masked(self, x, logits: bool = False):
        """(output, step mask): the output (with ``logits``, before the final activation, see
        ``final_activation``) and Keras's mask of its steps — (N, T) booleans for a sequence
        output (N, T, F) of a model with ``Embedding(mask_zero=True)`` whose mask reaches the
        end, else None. fit and evaluate leave the masked steps out of the loss and metrics."""
        if not logits:
            return self._run(x, self.layers)
        x, mask = self._run(x, self.layers[:-1])
        out = self.layers[-1].forward_logits(x)
        return out, _passed_on(out, mask)

    @staticmethod
    def _run(x, layers):
        """The layers in order. A run of channels-last spatial layers (those with
        ``forward_nchw``) changes layout once: (N, H, W, C) to NCHW before the first, back
        after the last, the NCHW kernels in between; layout-free layers (dropout, elementwise
        activations) stay inside the run. A Conv2D followed by a 2x2 stride-2 MaxPool2D of the
        same layout runs as one fused conv + pool (``conv2d_max_pool2d``: the same numbers,
        one pass fewer over the conv's output each way). A step mask made by
        ``Embedding(mask_zero=True)`` goes to the recurrent layers after it (as Keras's),
        through layers that keep the steps; returns (output, the mask that reaches it)."""
        nchw = False  # x is the NCHW form of a channels-last tensor
        mask = None  # Keras's step mask (batch, steps), from Embedding(mask_zero=True)
        i = 0
        while i < len(layers):
            layer = layers[i]
            i += 1
            if hasattr(layer, "compute_mask"):  # makes, consumes or passes on a step mask
                made = layer.compute_mask(x, mask)
                x = layer(x, mask=mask) if getattr(layer, "takes_mask", False) else layer(x)
                mask = made
                continue
            pooled = i < len(layers) and _fuses_with_pool(layer, layers[i], x)
            inside = (getattr(layer, "data_format", None) == "channels_last"
                      and hasattr(layer, "forward_nchw") and x.ndim == 4)
            if inside:
                if not nchw:
                    x, nchw = x.permute(0, 3, 1, 2), True
                if not layer.built:  # built from the shape in its own (channels-last) layout
                    n, c, h, w = x.shape
                    layer.build((n, h, w, c))
                    layer.built = True
                if pooled:
                    x, i = layer.forward_nchw_max_pooled(x), i + 1
                else:
                    x = layer.forward_nchw(x)
            elif nchw and getattr(layer, "layout_free", False):
                x = layer(x)
            else:
                if nchw:
                    x, nchw = x.permute(0, 2, 3, 1), False
                if pooled:
                    if not layer.built:
                        layer.build(tuple(x.shape))
                        layer.built = True
                    x, i = layer.forward_nchw_max_pooled(x), i + 1
                else:
                    x = layer(x)
                mask = _passed_on(x, mask)
        return (x.permute(0, 2, 3, 1) if nchw else x), mask

    def final_activation(self):
        """'softmax' or 'sigmoid' when the model's last operation is that activation (a
        layer's ``activation`` or an activation layer), else None."""
        last = self.layers[-1] if self.layers else None
        return getattr(last, "output_activation", lambda: None)()

    def forward_logits(self, x):
        """The model's output before its final activation (see ``final_activation``)."""
        return self.forward_masked(x, logits=True)[0]

    def __call__(self, x, training=None):
        """The model on ``x`` (an array or a Tensor); ``training`` as a layer call takes it.
        On a symbolic input (fusednn.keras's functional API) the model is a layer of the
        graph."""
        if hasattr(x, "apply_layer"):
            return super().__call__(x, training=training)
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x, dtype=np.float32) if not hasattr(
                x, "__cuda_array_interface__") else x)
        if not self.built:
            self.build(x.shape)
        elif tuple(x.shape[1:]) != self.sample_input_shape:
            raise ValueError(f"{self.name}: expects samples of shape "
                             f"{self.sample_input_shape}, got input of shape {x.shape}")
        return super().__call__(x, training=training)

    def batch_output(self, x, training=None):
        """The model on one batch as predict carries it: one Tensor (a fusednn.keras model
        with several outputs packs them side by side)."""
        return self(x, training=training)

    @property
    def device(self) -> str:
        params = self.parameters()
        return params[0].device if params else "cpu"

    def summary(self, print_fn=print) -> str:
        """Each layer's class, output shape and parameter count, and the totals."""
        text = summary_text(self)
        if print_fn:
            print_fn(text)
        return text

    # -- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="cross_entropy", metrics=None, grad_clip=None,
                lr=None, lr_schedule=None, weighted_metrics=None, **optimizer_kwargs):
        """``optimizer``: a name ("adam", "sgd", ...; with ``lr`` and other keyword
        arguments), an optimizer class, or an optimizer already built over this model's
        parameters. ``loss``: "cross_entropy" (class indices; "categorical_crossentropy"
        takes one-hot rows), "mse", "bce" (logits), or a callable. ``metrics``: "accuracy",
        "mse", "mae". ``grad_clip``: clip by global norm, fused into the optimizer step.
        ``lr_schedule``: a callable ``optimizer -> scheduler`` from fusednn.optim.lr_scheduler
        (stepped per epoch, or per batch for warmup-cosine and one-cycle).
        ``weighted_metrics``: metrics weighed by the sample (or class) weights, as Keras's;
        ``metrics`` are not, and a weighted one named like one of them is logged as
        "weighted_<name>"."""
        self.objective = loss if isinstance(loss, NamedLoss) else NamedLoss(loss)
        self.metrics = check_metrics(metrics, self.objective, self.accuracy_from_shapes)
        self.weighted_metrics = check_metrics(weighted_metrics, self.objective,
                                              self.accuracy_from_shapes)
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0, got {grad_clip}")
        if lr is not None:
            optimizer_kwargs["lr"] = lr
        optimizer_kwargs = optimizer_arguments(optimizer, optimizer_kwargs)
        self._compile_config = dict(optimizer=optimizer, grad_clip=grad_clip,
                                    optimizer_kwargs=optimizer_kwargs, lr_schedule=lr_schedule)
        self.optimizer = self.lr_schedule = None
        if isinstance(optimizer, _optim.Optimizer):
            self.optimizer = optimizer
            if grad_clip is not None:
                optimizer.max_grad_norm = float(grad_clip)
        elif self.built:
            self._make_optimizer()

    def _make_optimizer(self):
        if self._compile_config is None:
            raise RuntimeError("call compile() before fit() or evaluate()")
        for _, module in self.named_modules():  # frozen layers (trainable=False) built lazily
            if module is not self and getattr(module, "trainable", True) is False:
                for p in module.parameters():
                    p.requires_grad = False
        cfg = self._compile_config
        if self.optimizer is None:
            opt, kwargs = cfg["optimizer"], dict(cfg["optimizer_kwargs"])
            if cfg["grad_clip"] is not None:
                kwargs["max_grad_norm"] = float(cfg["grad_clip"])
            params = self.parameters()
            if isinstance(opt, str):
                self.optimizer = _optim.get(opt, params, **kwargs)
            elif isinstance(opt, type) and issubclass(opt, _optim.Optimizer):
                self.optimizer = opt(params, **kwargs)
            elif hasattr(opt, "build_optimizer"):  # a fusednn.keras optimizer, bound here
                self.optimizer = opt.build_optimizer(params, **kwargs)
            else:
                raise TypeError(f"optimizer must be a name, an optimizer class or an optimizer, "
                                f"got {opt!r}")
        if cfg["lr_schedule"] is not None and self.lr_schedule is None:
            self.lr_schedule = cfg["lr_schedule"](self.optimizer)

    # -- training -----------------------------------------------------------------------------
    def fit(self, x, y=None, epochs: int = 1, batch_size: int = 32,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
            class_weight=None, sample_weight=None, callbacks=None, verbose: int = 1,
            validation_shuffle: bool = True, validation_stratify=None, initial_epoch: int = 0,
            steps_per_epoch: int = None, validation_freq=1,
            validation_batch_size: int = None) -> History:
        """Train for ``epochs`` epochs; returns a :class:`History`.

        ``validation_split`` holds out that fraction of (x, y) before training. Unlike Keras,
        the held-out part is drawn at random (``validation_shuffle=True``) and, for a
        classification loss, stratified by class (``validation_stratify``, default: on for
        classification); turn either off to take the last fraction in order, as Keras does.
        ``class_weight`` ({class: weight} or "balanced") and ``sample_weight`` (per sample)
        weigh the loss. ``x`` may instead be a generator / iterable / DataLoader yielding
        ``(x, y)`` or ``(x, y, sample_weight)`` batches (``y`` None), ``steps_per_epoch`` of
        them per epoch when given; ``validation_data`` likewise. ``validation_freq``: validate
        every n-th epoch, or at the listed (1-based) epochs; ``validation_batch_size`` (default
        max(batch_size, 256)).
        ``verbose``: 0 silent, 1 a progress bar per epoch, 2 one line per epoch."""
        return training.fit(self, x, y, epochs, batch_size, validation_split, validation_data,
                            shuffle, class_weight, sample_weight, callbacks, verbose,
                            validation_shuffle, validation_stratify, initial_epoch,
                            steps_per_epoch, validation_freq, validation_batch_size)

    def evaluate(self, x, y=None, batch_size: int = 256, verbose: int = 0, return_dict: bool = True,
                 sample_weight=None, callbacks=None):
        """``{"loss": ..., metric: ...}`` over (x, y), in eval mode, without a graph; with
        ``return_dict=False`` what Keras returns: the loss alone, or ``[loss, *metrics]``.
        ``sample_weight`` (one per sample, or a stream's third element) weighs the loss as in
        training: sum(w * loss) / samples; the metrics are unweighted, as Keras's.
        ``callbacks`` hear the on_test_* hooks."""
        if self.objective is None:
            raise RuntimeError("call compile() before evaluate()")
        callbacks = CallbackList(callbacks, self)
        if y is None and not training.is_arrays(x):  # (x, y[, w]) batches
            if sample_weight is not None:
                raise ValueError("evaluate: sample_weight needs arrays; a batch stream carries "
                                 "its own weights as (x, y, sample_weight)")
            out = training.evaluate_batches(self, training.stream(self, x, None, None,
                                                                  "evaluate"), callbacks)
        else:
            x, y = training.prepare(self, x, y, "evaluate")
            weights = training.sample_weights(self, x, y, sample_weight, None)
            out = training.evaluate_arrays(self, x, y, batch_size, weights, callbacks)
        if verbose:
            print(" - ".join(f"{k}: {format_log(v)}" for k, v in out.items()))
        if return_dict:
            return out
        values = list(out.values())
        return values[0] if len(values) == 1 else values

    def count_params(self) -> int:
        """The number of parameters (buffers such as batch-norm statistics excluded)."""
        return int(sum(p.numel() for p in self.parameters()))

    def save_weights(self, path: str) -> str:
        """The weights alone, as an npz (written atomically); ``load_weights`` reads it."""
        return saving.save_weights(self, path)

    def load_weights(self, path: str) -> None:
        """Weights from ``save_weights`` or a whole-model file ``save`` wrote."""
        saving.load_weights(self, path)

    def predict(self, x, batch_size: int = 256, callbacks=None) -> np.ndarray:
        """The model's outputs for x (a numpy array on the host), in eval mode; ``callbacks``
        hear the on_predict_* hooks."""
        return training.predict(self, x, batch_size, CallbackList(callbacks, self))

    # -- saving -------------------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Architecture, weights, optimizer state and schedule position, in one file written
        atomically (a crash mid-save leaves any previous file intact). Load with
        ``fusednn.load(path)``."""
        return saving.save_model(self, path)

    def extra_repr(self):
        return f"{len(self.layers)} layers"


# Keras's argument names, as compile also takes them.
_KERAS_NAMES = {"learning_rate": "lr", "epsilon": "eps", "rho": "alpha"}


def optimizer_arguments(optimizer, kwargs: dict) -> dict:
    """compile's optimizer keyword arguments in fusednn's names (Keras's ``learning_rate``,
    ``beta_1``/``beta_2``, ``epsilon`` and ``rho`` translated), checked against the optimizer
    now rather than at the first fit."""
    out, given = {}, {}
    for key, value in kwargs.items():
        name = _KERAS_NAMES.get(key, key)
        if name in out:
            raise TypeError(f"compile: {key!r} repeats an argument given as {name!r}")
        out[name], given[name] = value, key
    if "beta_1" in out or "beta_2" in out:
        b1, b2 = out.pop("beta_1", 0.9), out.pop("beta_2", 0.999)
        if "betas" in out:
            raise TypeError("compile: give betas or beta_1/beta_2, not both")
        out["betas"], given["betas"] = (b1, b2), "beta_1/beta_2"
    cls = None
    if isinstance(optimizer, str):
        cls = _optim.OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {optimizer!r} (known: "
                             f"{', '.join(_optim.OPTIMIZERS)})")
    elif isinstance(optimizer, type) and issubclass(optimizer, _optim.Optimizer):
        cls = optimizer
    elif out and (isinstance(optimizer, _optim.Optimizer) or hasattr(optimizer, "build_optimizer")):
        raise TypeError(f"compile: optimizer arguments {sorted(out)} go to the optimizer's own "
                        "constructor when an optimizer object is given")
    if cls is not None:
        accepted = inspect.signature(cls).parameters
        unknown = [given[name] for name in out if name not in accepted]
        if unknown:
            raise TypeError(f"compile: {cls.__name__} does not take {unknown}; it takes "
                            f"{[p for p in accepted if p != 'params']}")
    return out
