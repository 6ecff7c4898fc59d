"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict / summary,
running on the fused kernels on the CPU or the GPU."""
from __future__ import annotations

import numpy as np

from .. import optim as _optim
from ..autograd import Tensor, no_grad
from ..nn.losses import NamedLoss
from ..nn.module import Module
from . import saving, training
from .history import History
from .metrics import check_metrics
from .summary import summary_text


class Sequential(Module):
    """Layers applied in order. ``input_shape`` (without the batch axis) builds the model at
    once; otherwise it builds at the first call or ``fit``."""

    def __init__(self, layers=None, input_shape=None, name: str = None):
        super().__init__(name or "sequential")
        self.layers = []
        self.input_shape = self.output_shape = None
        self.optimizer = self.objective = self.lr_schedule = None
        self.metrics, self.stop_training, self._compile_config = [], False, None
        for layer in layers or []:
            self.add(layer)
        if input_shape is not None:
            self.build((None,) + tuple(input_shape))

    def add(self, layer: Module) -> None:
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer (fusednn.nn.Module), got "
                            f"{type(layer).__name__}")
        taken = {l.name for l in self.layers}
        base, k = layer.name, 1
        while layer.name in taken:
            layer.name = f"{base}_{k}"
            k += 1
        self.layers.append(layer)
        self._modules[str(len(self.layers) - 1)] = layer
        if self.built:
            self.built = False
            self.build((None,) + self.input_shape)

    # -- building and calling ------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create every layer's weights by running one zero sample through them (eval mode, no
        graph); records the output shape (without the batch axis)."""
        self.input_shape = tuple(input_shape[1:])
        mode = self.training
        self.eval()
        try:
            with no_grad():
                out = self.forward(Tensor(np.zeros((1,) + self.input_shape, np.float32)))
        finally:
            self.train(mode)
        self.output_shape = tuple(out.shape[1:])
        self.built = True

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __call__(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x, dtype=np.float32) if not hasattr(
                x, "__cuda_array_interface__") else x)
        if not self.built:
            self.build(x.shape)
        elif tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{self.name}: expects samples of shape {self.input_shape}, got "
                             f"input of shape {x.shape}")
        return self.forward(x)

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
                lr=None, lr_schedule=None, **optimizer_kwargs):
        """``optimizer``: a name ("adam", "sgd", ...; with ``lr`` and other keyword
        arguments), an optimizer class, or an optimizer already built over this model's
        parameters. ``loss``: "cross_entropy" (class indices; "categorical_crossentropy"
        takes one-hot rows), "mse", "bce" (logits), or a callable. ``metrics``: "accuracy",
        "mse", "mae". ``grad_clip``: clip by global norm, fused into the optimizer step.
        ``lr_schedule``: a callable ``optimizer -> scheduler`` from fusednn.optim.lr_scheduler
        (stepped per epoch, or per batch for warmup-cosine and one-cycle)."""
        self.objective = NamedLoss(loss)
        self.metrics = check_metrics(metrics, self.objective)
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0, got {grad_clip}")
        if lr is not None:
            optimizer_kwargs["lr"] = lr
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
            else:
                raise TypeError(f"optimizer must be a name, an optimizer class or an optimizer, "
                                f"got {opt!r}")
        if cfg["lr_schedule"] is not None and self.lr_schedule is None:
            self.lr_schedule = cfg["lr_schedule"](self.optimizer)

    # -- training -----------------------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, class_weight=None, sample_weight=None,
            callbacks=None, verbose: int = 1, validation_shuffle: bool = True,
            validation_stratify=None, initial_epoch: int = 0) -> History:
        """Train for ``epochs`` epochs; returns a :class:`History`.

        ``validation_split`` holds out that fraction of (x, y) before training. Unlike Keras,
        the held-out part is drawn at random (``validation_shuffle=True``) and, for a
        classification loss, stratified by class (``validation_stratify``, default: on for
        classification); turn either off to take the last fraction in order, as Keras does.
        ``class_weight`` ({class: weight}) and ``sample_weight`` (per sample) weigh the loss.
        ``verbose``: 0 silent, 1 a progress bar per epoch, 2 one line per epoch."""
        return training.fit(self, x, y, epochs, batch_size, validation_split, validation_data,
                            shuffle, class_weight, sample_weight, callbacks, verbose,
                            validation_shuffle, validation_stratify, initial_epoch)

    def evaluate(self, x, y, batch_size: int = 256, verbose: int = 0) -> dict:
        """``{"loss": ..., metric: ...}`` over (x, y), in eval mode, without a graph."""
        if self.objective is None:
            raise RuntimeError("call compile() before evaluate()")
        out = training.evaluate_arrays(self, *training.prepare(self, x, y, "evaluate"),
                                       batch_size)
        if verbose:
            print(" ".join(f"{k}={v:.4f}" for k, v in out.items()))
        return out

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for x (a numpy array on the host), in eval mode."""
        return training.predict(self, x, batch_size)

    # -- saving -------------------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Architecture, weights, optimizer state and schedule position, in one file written
        atomically (a crash mid-save leaves any previous file intact). Load with
        ``fusednn.load(path)``."""
        return saving.save_model(self, path)

    def extra_repr(self):
        return f"{len(self.layers)} layers"

