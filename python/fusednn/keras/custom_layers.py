"""``keras.layers.Layer``: the base class of the user's own layers, as Keras's —
``__init__`` calls ``super().__init__()``, ``build(input_shape)`` makes the weights with
``add_weight``, ``call(inputs)`` computes on fusednn Tensors (``inputs @ self.w + self.b``;
autograd differentiates it)."""
from __future__ import annotations

import inspect

import numpy as np

from .. import nn
from ..nn import initializers, regularizers
from ..autograd import Tensor
from ..nn.module import Parameter
from . import constraints
from .layer_base import KerasLayer, leaf_layers, track_container


class Layer(nn.Module, KerasLayer):
    """Keras's Layer. ``add_weight(shape, initializer, trainable, regularizer, name)`` returns
    a Parameter (Keras's initializers, called with the shape as given); a non-trainable one
    takes no gradient and stays out of the optimizer. ``get_weights`` lists the trainable
    weights, then the non-trainable ones, each in the order they were made (Keras's
    ``weights``). ``call(inputs, training=None)`` may take ``training``."""

    def __init__(self, trainable: bool = True, name: str = None, dtype=None, **kwargs):
        input_shape, input_dim = kwargs.pop("input_shape", None), kwargs.pop("input_dim", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        super().__init__(name)
        object.__setattr__(self, "_made", [])  # (weight, trainable) in the order made
        object.__setattr__(self, "_penalized", [])  # (weight, regularizer)
        object.__setattr__(self, "_constrained", [])  # (weight, constraint, None)
        self._take_input_shape(input_shape, input_dim)
        if not trainable:
            self.trainable = False

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, **kwargs):
        shape = () if shape is None else tuple(int(s) for s in shape)
        array = initializers.draw(initializers.get(initializer), shape, None, True)
        weight = Parameter(array, requires_grad=bool(trainable) and self.trainable)
        key = name if name and name not in self._parameters else f"_weight_{len(self._made)}"
        self._parameters[key] = weight  # registered even if the caller keeps it elsewhere
        self._made.append((weight, bool(trainable)))
        if regularizer is not None:
            self._penalized.append((weight, regularizers.get(regularizer)))
        if constraint is not None:  # applied after every update of fit, as Keras
            self._constrained.append((weight, constraints.get(constraint), None))
        return weight

    constrains_weights = True  # add_weight(constraint=...) may come in build, mid-fit

    def _constrained_weights(self):
        return self.__dict__.get("_constrained", [])

    def __setattr__(self, key, value):
        params = self.__dict__.get("_parameters")
        if params is not None and isinstance(value, Parameter):
            # self.w = self.add_weight(...): one entry, named w
            for k in [k for k, p in params.items() if p is value and k != key]:
                del params[k]
        super().__setattr__(key, value)
        if params is not None:
            track_container(self, key, value)  # sub-layers kept in a list train too

    def _weights_and_trainable(self):
        """A non-trainable weight stays frozen when the layer is unfrozen."""
        return self.__dict__.get("_made", [])

    def build(self, input_shape):
        """Make the weights for inputs of ``input_shape`` (override it)."""

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs)")

    def forward(self, *inputs, **kwargs):
        # a call that takes ``training`` gets the mode it runs in (fit: True; predict, or
        # layer(x) outside fit: False), as Keras passes it
        takes = type(self).__dict__.get("_call_takes_training")
        if takes is None:
            takes = "training" in inspect.signature(self.call).parameters
            setattr(type(self), "_call_takes_training", takes)
        if takes and "training" not in kwargs:
            kwargs["training"] = self.training
        self._clear_batch_losses()  # each call adds its own losses (Keras's)
        return self.call(*inputs, **kwargs)

    @property
    def trainable(self) -> bool:
        return KerasLayer.trainable.fget(self)

    @trainable.setter
    def trainable(self, value):
        """Keras's rule: freezing a layer freezes the layers it holds."""
        KerasLayer.trainable.fset(self, value)
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self) -> list:
        """The layers this one holds (attributes, lists, dicts), in the order assigned."""
        return leaf_layers(self.__dict__.get("_modules", {}).values())

    def _split_weights(self):
        """Keras's ``weights``: this layer's own (trainable, then not), then each held
        layer's; split into those that train and those that do not."""
        trained = [w.numpy().copy() for w, t in self._made if t]
        fixed = [w.numpy().copy() for w, t in self._made if not t]
        for layer in self._sublayers():
            if hasattr(layer, "_split_weights"):
                sub_trained, sub_fixed = layer._split_weights()
            elif hasattr(layer, "trainable_weights"):  # a model the layer holds
                sub_trained, sub_fixed = layer.trainable_weights, layer.non_trainable_weights
            else:
                continue
            trained, fixed = trained + list(sub_trained), fixed + list(sub_fixed)
        return (trained, fixed) if self.trainable else ([], trained + fixed)

    def get_weights(self):
        own = [w.numpy().copy() for w, t in self._made if t] + \
              [w.numpy().copy() for w, t in self._made if not t]
        return own + [w for layer in self._sublayers() if hasattr(layer, "get_weights")
                      for w in layer.get_weights()]

    def set_weights(self, weights):
        """``get_weights``' arrays: this layer's own, then each held layer's; every count and
        shape is checked before anything is written."""
        weights = list(weights)
        ordered = [w for w, t in self._made if t] + [w for w, t in self._made if not t]
        held = [(layer, len(layer.get_weights())) for layer in self._sublayers()
                if hasattr(layer, "get_weights")]
        expected = len(ordered) + sum(n for _, n in held)
        if len(weights) != expected:
            raise ValueError(f"{self.name}: expected {expected} weight arrays, got "
                             f"{len(weights)}")
        current = [w.shape for w in ordered] + [np.shape(a) for layer, _ in held
                                                 for a in layer.get_weights()]
        for have, given in zip(current, weights):
            if tuple(np.shape(given)) != tuple(have):
                raise ValueError(f"{self.name}: weight of shape {np.shape(given)} does not "
                                 f"match {tuple(have)}")
        for have, given in zip(ordered, weights):
            have.data[...] = np.asarray(given, have.data.dtype)
        k = len(ordered)
        for layer, n in held:
            if n:
                layer.set_weights(weights[k:k + n])
            k += n

    def _penalties(self):
        for weight, regularizer in self._penalized:
            yield regularizer(weight)

    adds_batch_losses = True

    def add_loss(self, loss):
        """Keras's ``add_loss``: inside ``call``, a loss (a scalar Tensor or number, or a list
        of them) that ``fit`` adds to the compiled loss for this batch (and ``evaluate`` to
        the reported one); each is summed to a scalar."""
        for value in (loss if isinstance(loss, (list, tuple)) else [loss]):
            if not isinstance(value, Tensor):
                value = Tensor(np.asarray(value, np.float32))
            self.__dict__.setdefault("_added", []).append(value.sum() if value.ndim else value)

    def _batch_losses(self):
        return tuple(self.__dict__.get("_added", ()))

    def _clear_batch_losses(self):
        object.__setattr__(self, "_added", [])


    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}
