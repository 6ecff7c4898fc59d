"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict / summary,
running on the fused kernels on the CPU or the GPU."""
from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from .. import _seeding
from .. import optim as _optim
from ..autograd import Tensor, no_grad
from ..data.loader import DataLoader
from ..data.preprocessing import check_xy, split_indices
from ..nn.module import Module
from .history import History
from .objectives import Objective, check_metrics, metric_sums


def _progress(total, desc, verbose):
    if verbose != 1:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=True, file=sys.stdout, dynamic_ncols=True,
                unit="batch")


class Sequential(Module):
    """Layers applied in order. ``input_shape`` (without the batch axis) builds the model at
    once; otherwise it builds at the first call or ``fit``."""

    def __init__(self, layers=None, input_shape=None, name: str = None):
        super().__init__(name or "sequential")
        self.layers = []
        self.input_shape = None
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
        graph)."""
        self.input_shape = tuple(input_shape[1:])
        mode = self.training
        self.eval()
        try:
            with no_grad():
                self.forward(Tensor(np.zeros((1,) + self.input_shape, np.float32)))
        finally:
            self.train(mode)
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
        if not self.built:
            raise ValueError("summary() needs a built model: give input_shape= or call fit() first")
        rows, x = [], Tensor(np.zeros((1,) + self.input_shape, np.float32)).to(self.device)
        self.eval()
        with no_grad():
            for layer in self.layers:
                x = layer(x)
                count = sum(p.numel() for p in layer.parameters())
                rows.append((f"{layer.name} ({type(layer).__name__})",
                             str((None,) + x.shape[1:]), f"{count:,}"))
        self.train()
        widths = [max(len(r[i]) for r in rows + [("Layer (type)", "Output shape", "Params")])
                  for i in range(3)]
        line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
        total = sum(p.numel() for p in self.parameters())
        text = "\n".join([f'Model "{self.name}"', line(("Layer (type)", "Output shape", "Params")),
                          "-" * (sum(widths) + 4)] + [line(r) for r in rows] +
                         ["-" * (sum(widths) + 4), f"Total params: {total:,}",
                          f"Input shape: {(None,) + self.input_shape}"])
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
        self.objective = Objective(loss)
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

    # -- data -----------------------------------------------------------------------------------
    def _prepare(self, x, y, where):
        x = np.asarray(x)
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        y = np.asarray(y)
        if self.objective is not None and self.objective.kind in ("regression", "binary"):
            y = y.astype(np.float32)
        if not self.built:
            self.build((None,) + x.shape[1:])
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{where}: the model takes samples of shape {self.input_shape} but x "
                             f"has samples of shape {x.shape[1:]}")
        classes = None
        if self.objective is not None and self.objective.kind == "classes" and y.ndim == 1:
            with no_grad():
                self.eval()
                classes = self(Tensor(x[:1]).to(self.device)).shape[-1]
                self.train()
        check_xy(x, y, where, classes)
        return x, y

    def _to_device(self, a, device=None):
        if a is None or (device or self.device) == "cpu":
            return a
        import cupy

        return cupy.asarray(a)

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
        if self.objective is None:
            raise RuntimeError("call compile() before fit()")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        x, y = self._prepare(x, y, "fit")
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, np.float32)
            if weights.shape != (len(x),):
                raise ValueError(f"sample_weight must have shape ({len(x)},), got {weights.shape}")
        if class_weight is not None:
            if y.ndim != 1 or y.dtype.kind not in "iu":
                raise ValueError("class_weight needs integer class labels")
            cw = np.ones(int(y.max()) + 1, np.float32)
            for c, w in class_weight.items():
                if 0 <= int(c) < len(cw):
                    cw[int(c)] = w
            weights = cw[y] if weights is None else weights * cw[y]
        if validation_data is not None and validation_split:
            raise ValueError("pass validation_data or validation_split, not both")
        if validation_split:
            stratify = self.objective.classification if validation_stratify is None else validation_stratify
            labels = y if stratify and y.ndim == 1 else None
            keep, held = split_indices(len(x), validation_split, labels, validation_shuffle,
                                       _seeding.data_rng())
            validation_data = (x[held], y[held])
            x, y = x[keep], y[keep]
            weights = None if weights is None else weights[keep]
        if validation_data is not None:
            vx, vy = self._prepare(validation_data[0], validation_data[1], "fit (validation)")
            validation_data = (vx, vy)
        self._make_optimizer()
        history, callbacks = History(), list(callbacks or [])
        for cb in callbacks:
            cb.set_model(self)
        self.history = history
        self.stop_training, self._warned_nonfinite = False, False
        arrays = (x, y) if weights is None else (x, y, weights)
        loader = DataLoader(*arrays, batch_size=batch_size, shuffle=shuffle)
        for cb in callbacks:
            cb.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            logs = self._train_epoch(loader, epoch, epochs, callbacks, verbose)
            if validation_data is not None:
                for k, v in self._evaluate(*validation_data, max(batch_size, 256)).items():
                    logs["val_" + k] = v
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            if self.lr_schedule is not None and not getattr(self.lr_schedule, "per_batch", False):
                if isinstance(self.lr_schedule, _optim.lr_scheduler.ReduceLROnPlateau):
                    self.lr_schedule.step(logs.get("val_loss", logs["loss"]))
                else:
                    self.lr_schedule.step()
            history.append(epoch, logs)
            if verbose == 2:
                print(f"epoch {epoch + 1}/{epochs}: " +
                      " ".join(f"{k}={v:.4g}" for k, v in logs.items()), flush=True)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end({})
        return history

    def _train_epoch(self, loader, epoch, epochs, callbacks, verbose):
        self.train()
        bar = _progress(len(loader), f"epoch {epoch + 1}/{epochs}", verbose)
        total_loss, seen, sums = 0.0, 0, {}
        per_batch = self.lr_schedule is not None and getattr(self.lr_schedule, "per_batch", False)
        device = self.device
        regularized = any(True for _, m in self.named_modules() for _ in m._penalties())
        for b, batch in enumerate(loader):
            for cb in callbacks:
                cb.on_batch_begin(b, {})
            xb, yb = self._to_device(batch[0], device), self._to_device(batch[1], device)
            wb = Tensor(self._to_device(batch[2], device)) if len(batch) > 2 else None
            out = self(Tensor(xb))
            loss = self.objective(out, yb, wb)
            if regularized:
                loss = loss + self.regularization_loss()
            value = loss.item()
            if math.isfinite(value):
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            elif not self._warned_nonfinite:
                # No update from this batch; TerminateOnNaN (if given) stops the run.
                warnings.warn(f"fit: non-finite loss ({value}) in epoch {epoch + 1}, batch {b}; "
                              "that batch's update is skipped", RuntimeWarning, stacklevel=3)
                self._warned_nonfinite = True
            if per_batch:
                self.lr_schedule.step()
            n = len(batch[0])
            total_loss += value * n
            seen += n
            for k, v in metric_sums(self.metrics, self.objective.kind, out.data, yb).items():
                sums[k] = sums.get(k, 0.0) + v
            batch_logs = {"loss": value}
            for cb in callbacks:
                cb.on_batch_end(b, batch_logs)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({"loss": f"{total_loss / seen:.4f}",
                                 **{k: f"{v / seen:.4f}" for k, v in sums.items()}}, refresh=False)
            if self.stop_training:
                break
        if bar is not None:
            bar.close()
        logs = {"loss": total_loss / max(seen, 1)}
        logs.update({k: v / max(seen, 1) for k, v in sums.items()})
        return logs

    def evaluate(self, x, y, batch_size: int = 256, verbose: int = 0) -> dict:
        """``{"loss": ..., metric: ...}`` over (x, y), in eval mode, without a graph."""
        if self.objective is None:
            raise RuntimeError("call compile() before evaluate()")
        out = self._evaluate(*self._prepare(x, y, "evaluate"), batch_size)
        if verbose:
            print(" ".join(f"{k}={v:.4f}" for k, v in out.items()))
        return out

    def _evaluate(self, x, y, batch_size) -> dict:
        """evaluate() on data already checked and converted (fit's validation set, each epoch)."""
        mode, device = self.training, self.device
        self.eval()
        total, sums = 0.0, {}
        try:
            with no_grad():
                for xb, yb in DataLoader(x, y, batch_size=batch_size):
                    yb = self._to_device(yb, device)
                    out = self(Tensor(self._to_device(xb, device)))
                    total += self.objective(out, yb).item() * len(xb)
                    for k, v in metric_sums(self.metrics, self.objective.kind, out.data, yb).items():
                        sums[k] = sums.get(k, 0.0) + v
        finally:
            self.train(mode)
        out = {"loss": total / len(x)}
        out.update({k: v / len(x) for k, v in sums.items()})
        return out

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for x (a numpy array on the host), in eval mode."""
        x = np.asarray(x, dtype=np.float32)
        if not self.built:
            self.build((None,) + x.shape[1:])
        mode, device = self.training, self.device
        self.eval()
        outs = []
        try:
            with no_grad():
                for (xb,) in DataLoader(x, batch_size=batch_size):
                    outs.append(self(Tensor(self._to_device(xb, device))).cpu().numpy())
        finally:
            self.train(mode)
        return np.concatenate(outs) if outs else np.zeros((0,))

    # -- saving -------------------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Architecture, weights, optimizer state and schedule position, in one file written
        atomically (a crash mid-save leaves any previous file intact). Load with
        ``fusednn.load(path)``."""
        from .saving import save_model

        return save_model(self, path)

    def extra_repr(self):
        return f"{len(self.layers)} layers"

