"""The layer base class: named parameters and sub-layers, train/eval mode, lazy building
from the first input's shape (Keras style), and the regularization penalties of its layers."""
from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from ..autograd import Tensor


class Parameter(Tensor):
    """A Tensor that is a layer's trainable weight (requires_grad by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)


def _as_layer_input(value, indices: bool, where: str):
    """An argument of a Keras layer's call as its forward takes it: arrays (numpy, nested
    lists, CPU torch tensors) of floats, booleans or integers become float32 Tensors, except
    the integers a layer that ``takes_indices`` (an Embedding) gets as they are."""
    if value is None or isinstance(value, Tensor) or hasattr(value, "__cuda_array_interface__"):
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (Tensor, np.ndarray)) for v in value):
        return [_as_layer_input(v, indices, where) for v in value]  # a list of inputs
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        array = None  # ragged nesting and the like
    if array is None or array.dtype.kind not in "fiub":
        raise TypeError(f"{where}: expected a tensor or an array of numbers, got "
                        f"{type(value).__name__}")
    if array.dtype.kind in "iu" and indices:
        return array
    return Tensor(array.astype(np.float32, copy=False))


class Module:
    """Base class of layers and models.

    Subclasses create parameters in ``build(input_shape)`` (called once, before the first
    forward, with the input's shape) or in ``__init__``, and compute in ``forward``.
    Assigning a :class:`Parameter` or a :class:`Module` to an attribute registers it.
    """

    def __init__(self, name: str = None):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        # torch's modules start in training mode; Keras's layers and models in inference
        # (``model(x)`` predicts; fit trains them and puts them back)
        self.training = not getattr(self, "keras_inference_by_default", False)
        self.built = False
        self.name = name or self.default_name()

    @classmethod
    def default_name(cls) -> str:
        """A layer's name when none is given (a model makes repeats unique with _1, _2...):
        the class name in lower case; in snake case, as Keras's, for fusednn.keras's layers
        and models (BatchNormalization -> batch_normalization, SimpleRNN -> simple_rnn)."""
        if not getattr(cls, "keras_names", False):
            return cls.__name__.lower()
        name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", cls.__name__))
        return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()

    def __setattr__(self, key, value):
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError("call Module.__init__() before assigning attributes")
        for table in (self._parameters, self._modules):
            table.pop(key, None)
        if isinstance(value, Parameter):
            self._parameters[key] = value
        elif isinstance(value, Module):
            self._modules[key] = value
        object.__setattr__(self, key, value)

    def register_buffer(self, key, array):
        """A non-trainable array saved with the layer (e.g. running statistics)."""
        self._buffers[key] = True
        object.__setattr__(self, key, array)

    # -- building and calling ----------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create parameters for inputs of ``input_shape`` (batch axis included)."""

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs, training=None, **kwargs):
        """``forward(*inputs)``, building the layer on its first input. ``training``
        (Keras's call argument): run this call in training (True) or inference (False) mode,
        whatever the layer's mode; None keeps the mode."""
        if inputs and hasattr(inputs[0], "apply_layer"):  # a symbolic input (Keras's API)
            if training is not None:
                kwargs["training"] = training
            return inputs[0].apply_layer(self, *inputs[1:], **kwargs)
        if inputs and isinstance(inputs[0], (list, tuple)) and inputs[0] and \
                hasattr(inputs[0][0], "merge_layer"):  # a merge layer on symbolic inputs
            if training is not None:
                kwargs["training"] = training
            return inputs[0][0].merge_layer(self, list(inputs[0]), *inputs[1:], **kwargs)
        # Keras's layers (``keras_array_inputs``) take arrays where they take tensors;
        # fusednn's own take Tensors, as torch's modules do
        if getattr(self, "keras_array_inputs", False):
            indices = getattr(self, "takes_indices", False)
            inputs = tuple(_as_layer_input(a, indices, self.name) for a in inputs)
        if not self.built:
            first = inputs[0] if inputs else None
            if isinstance(first, (list, tuple)):  # a list of inputs: their shapes, as Keras's
                self.build([tuple(t.shape) for t in first])
            else:
                self.build(tuple(first.shape) if first is not None else None)
            self.built = True
        if training is None:
            return self.forward(*inputs, **kwargs)
        modes = [(m, m.training) for _, m in self.named_modules()]
        self.train(bool(training))
        try:
            return self.forward(*inputs, **kwargs)
        finally:
            for m, mode in modes:
                m.training = mode

    # -- parameters --------------------------------------------------------------------------
    def named_parameters(self, prefix: str = ""):
        """Each parameter once (under its first name), as torch's: a layer or weight reachable
        twice is trained, penalized and saved once."""
        seen = set()
        for module_prefix, m in self.named_modules(prefix):
            for key, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield module_prefix + key, p

    def parameters(self):
        """Every trainable parameter, in a stable order (empty before the layer is built)."""
        return [p for _, p in self.named_parameters()]

    def named_modules(self, prefix: str = "", _seen=None):
        """This module and every sub-module, each once (under its first name), as torch's."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for key, m in self._modules.items():
            yield from m.named_modules(prefix + key + ".", seen)

    def children(self):
        return list(self._modules.values())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict:
        """Parameters and buffers by dotted name, as numpy/CuPy arrays (copies)."""
        out = {}
        for prefix, m in self.named_modules():
            for key, p in m._parameters.items():
                out[prefix + key] = p.data.copy()
            for key in m._buffers:
                out[prefix + key] = getattr(m, key).copy()
        return out

    def load_state_dict(self, state: dict) -> None:
        own = self.state_dict()
        missing, unexpected = set(own) - set(state), set(state) - set(own)
        if missing or unexpected:
            raise KeyError(f"state_dict mismatch: missing {sorted(missing)}, unexpected "
                           f"{sorted(unexpected)}")
        for prefix, m in self.named_modules():
            for key, p in m._parameters.items():
                value = state[prefix + key]
                if tuple(value.shape) != p.shape:
                    raise ValueError(f"{prefix + key}: shape {tuple(value.shape)} in the "
                                     f"state_dict, {p.shape} in the model")
                p.data[...] = value
            for key in m._buffers:
                getattr(m, key)[...] = state[prefix + key]

    # -- modes ------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        """Move parameters and buffers to ``device`` (in place; returns self)."""
        for _, m in self.named_modules():
            for key, p in m._parameters.items():
                if p.device != device:
                    p._data = p.detach().to(device).data
            for key in m._buffers:
                t = Tensor(getattr(m, key)).to(device)
                object.__setattr__(m, key, t.data)
        return self

    # -- regularization ---------------------------------------------------------------------
    def regularization_loss(self):
        """The sum of every layer's regularizer penalties (a Tensor), or 0.0 when none."""
        total = 0.0
        for _, m in self.named_modules():
            for penalty in m._penalties():
                total = penalty if isinstance(total, float) else total + penalty
        return total

    def _penalties(self):
        return ()

    # Whether the layer may add losses during its forward (Keras's ``add_loss``): the training
    # loop then reads ``_batch_losses()`` after each forward.
    adds_batch_losses = False

    def _batch_losses(self):
        """The losses the last forward added (scalar Tensors)."""
        return ()

    def _clear_batch_losses(self) -> None:
        """Forget them: a forward that does not call this layer adds none of its losses."""

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (for saving a model)."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_config(), so a "
                                  "model holding it cannot be saved")

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for key, m in self._modules.items():
            lines.append(f"  ({key}): " + repr(m).replace("\n", "\n  "))
        return lines[0] + (")" if len(lines) == 1 else "\n" + "\n".join(lines[1:]) + "\n)")
