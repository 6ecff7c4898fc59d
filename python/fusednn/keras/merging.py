"""Keras's merge layers — ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate``, ``Dot`` — and their functional forms (``add([a, b])``...):
each takes a list of tensors (in a functional model, of the symbolic outputs of other layers)
and gives one. Element-wise merges take shapes equal or 1 along each axis (broadcast, as
Keras's)."""
from __future__ import annotations

import functools
import operator

from ..autograd import Tensor
from ..autograd.tensor_ops import Extremum
from ..nn import Module
from ..nn.functional.recurrent import cat
from .layer_base import KerasLayer, refuse


class _Merge(Module, KerasLayer):
    keras_array_inputs = False  # a list of inputs, each taken as Keras takes it
    min_inputs, max_inputs = 1, None

    def __init__(self, name: str = None, **kwargs):
        refuse(kwargs, type(self).__name__)
        super().__init__(name)
        self.built = True

    def forward(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self.name}: a merge layer takes a list of inputs, got "
                             f"{type(inputs).__name__}")
        inputs = [x if isinstance(x, Tensor) else _as_tensor(x) for x in inputs]
        if len(inputs) < self.min_inputs or (self.max_inputs and len(inputs) > self.max_inputs):
            wanted = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                      else f"at least {self.min_inputs}")
            raise ValueError(f"{self.name}: takes {wanted} inputs, got {len(inputs)}")
        self._check_shapes([tuple(x.shape) for x in inputs])
        return self._merge(inputs)

    def _check_shapes(self, shapes):
        """Keras's element-wise rule: the same rank, each axis equal or 1."""
        for shape in shapes[1:]:
            if len(shape) != len(shapes[0]) or any(
                    a != b and 1 not in (a, b) for a, b in zip(shape, shapes[0])):
                raise ValueError(f"{self.name}: inputs of shapes {shapes} cannot be merged "
                                 "element-wise")

    combine = None  # an element-wise merge's operation, folded over the inputs in order

    def _merge(self, xs):
        return functools.reduce(self.combine, xs)

    def get_config(self):
        return {"name": self.name}


def _as_tensor(x):
    from .ops import convert_to_tensor

    return convert_to_tensor(x)


class Add(_Merge):
    combine = staticmethod(operator.add)


class Subtract(_Merge):
    min_inputs = max_inputs = 2
    combine = staticmethod(operator.sub)


class Multiply(_Merge):
    combine = staticmethod(operator.mul)


class Average(_Merge):
    combine = staticmethod(operator.add)

    def _merge(self, xs):
        return super()._merge(xs) / len(xs)


class Maximum(_Merge):
    combine = staticmethod(lambda a, b: Extremum.apply(a, b, True))


class Minimum(_Merge):
    combine = staticmethod(lambda a, b: Extremum.apply(a, b, False))


class Concatenate(_Merge):
    """Along ``axis`` (the last by default); the other axes must match."""

    def __init__(self, axis: int = -1, name: str = None, **kwargs):
        super().__init__(name, **kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for inputs of rank "
                             f"{rank}")
        axis = self.axis % rank
        for shape in shapes:
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0]))
                                         if i != axis):
                raise ValueError(f"{self.name}: inputs of shapes {shapes} differ outside the "
                                 f"concatenation axis {self.axis}")

    def _merge(self, xs):
        return xs[0] if len(xs) == 1 else cat(xs, self.axis % xs[0].ndim)

    def get_config(self):
        return {"axis": self.axis, "name": self.name}


class Dot(_Merge):
    """Keras's Dot: the dot product of two tensors along ``axes`` (an int for both, or one
    each), the batch axis kept: (batch, n) . (batch, n) -> (batch, 1); (batch, m, n) .
    (batch, k, n) with axes 2 -> (batch, m, k). ``normalize``: each input L2-normalized along
    its axis first (Keras's x * min(1/sqrt(sum x^2), 1/epsilon)): the cosine similarity."""

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize: bool = False, name: str = None, **kwargs):
        super().__init__(name, **kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot: axes must be an int or a pair, got {axes!r}")
            axes = (int(axes[0]), int(axes[1]))
        else:
            axes = int(axes)
        self.axes, self.normalize = axes, bool(normalize)

    def _pair(self, shapes):
        axes = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        return tuple(a % len(shape) for a, shape in zip(axes, shapes))

    def _check_shapes(self, shapes):
        if any(len(shape) < 2 for shape in shapes):
            raise ValueError(f"{self.name}: takes inputs with a batch axis and at least one "
                             f"more, got shapes {shapes}")
        a0, a1 = self._pair(shapes)
        if 0 in (a0, a1):
            raise ValueError(f"{self.name}: cannot take the dot product over the batch axis")
        if shapes[0][a0] != shapes[1][a1]:
            raise ValueError(f"{self.name}: axis {a0} of {shapes[0]} and axis {a1} of "
                             f"{shapes[1]} differ in size")
        if shapes[0][0] != shapes[1][0]:
            raise ValueError(f"{self.name}: the inputs have batch sizes {shapes[0][0]} and "
                             f"{shapes[1][0]}")

    def _merge(self, xs):
        x, y = xs
        a0, a1 = self._pair([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x, y = _l2_normalized(x, a0), _l2_normalized(y, a1)
        batch = x.shape[0]
        x_rest = [d for i, d in enumerate(x.shape) if i not in (0, a0)]
        y_rest = [d for i, d in enumerate(y.shape) if i not in (0, a1)]
        x = x.permute(0, *[i for i in range(1, x.ndim) if i != a0], a0)
        y = y.permute(0, a1, *[i for i in range(1, y.ndim) if i != a1])
        out = x.reshape(batch, -1 if x_rest else 1, x.shape[-1]) @ \
            y.reshape(batch, y.shape[1], -1 if y_rest else 1)
        shape = [batch] + x_rest + y_rest
        return out.reshape(*(shape if len(shape) > 1 else [batch, 1]))

    def get_config(self):
        return {"axes": list(self.axes) if isinstance(self.axes, tuple) else self.axes,
                "normalize": self.normalize, "name": self.name}


def _l2_normalized(x, axis):
    from .config import epsilon

    inverse = Extremum.apply(1.0 / (x * x).sum(axis=axis, keepdims=True).sqrt(),
                             1.0 / epsilon(), False)
    return x * inverse


def _functional_form(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``, Keras's functional form."
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate = map(
    _functional_form, (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate))


def dot(inputs, axes=-1, normalize: bool = False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


MERGE_LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)
