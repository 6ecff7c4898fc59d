"""Operations that record themselves for reverse-mode differentiation.

A :class:`Function` subclass defines ``forward(ctx, *args)`` and ``backward(ctx, grad)`` as
static methods, on arrays: ``forward`` receives the numpy (CPU) or CuPy (GPU) array of every
:class:`~fusednn.Tensor` argument (other arguments as they are) and returns one array;
``backward`` receives the gradient of the output and returns one gradient (or ``None``) per
positional argument of ``forward``. ``Function.apply(*args)`` runs it on Tensors and, when
some input requires a gradient and recording is on, records a graph node.

``backward`` on a scalar walks the recorded nodes in reverse topological order, accumulates
gradients into the leaves' ``.grad``, and frees the graph (unless ``retain_graph=True``).
"""
from __future__ import annotations

import numpy as np

from .grad_mode import is_grad_enabled, no_grad


def as_array(x):
    """numpy gives a scalar, not a 0-d array, for a full reduction or an op on 0-d arrays;
    a Tensor and a gradient always hold an array (a Tensor's device is read off its type)."""
    return np.asarray(x) if isinstance(x, np.generic) else x


class Context:
    """What a forward leaves for its backward: ``save_for_backward(*arrays)`` /
    ``saved_tensors``, ``needs_input_grad`` (one bool per positional argument), and any
    attribute the forward sets."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Node:
    """One recorded application of a Function: its context and the inputs that need a
    gradient (``None`` for the others)."""

    __slots__ = ("function", "ctx", "inputs")

    def __init__(self, function, ctx, inputs):
        self.function, self.ctx, self.inputs = function, ctx, inputs

    @property
    def name(self) -> str:
        return self.function.__name__


class Function:
    """Base class of differentiable operations (see the module documentation)."""

    # fusednn.Tensor, bound by autograd/tensor.py where Tensor is defined (Tensor's methods
    # apply Functions, and apply makes Tensors: the binding keeps the import one-way).
    _tensor_type = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = Function._tensor_type
        # One pass over the arguments: the arrays forward sees, which inputs need a gradient,
        # and where they live (an array's type says it: this runs for every op of every step).
        arrays, needs, on_host = [], [], None
        for a in args:
            if isinstance(a, Tensor):
                data = a._data
                arrays.append(data)
                needs.append(a.requires_grad)
                host = isinstance(data, np.ndarray)
                if on_host is None:
                    on_host = host
                elif host != on_host:
                    check_same_device(cls.__name__, args)  # raises, naming the two
            else:
                arrays.append(a)
                needs.append(False)
        if on_host is None:
            raise TypeError(f"{cls.__name__}.apply needs at least one fusednn.Tensor argument")
        if kwargs and any(isinstance(v, Tensor) for v in kwargs.values()):
            key = next(k for k, v in kwargs.items() if isinstance(v, Tensor))
            raise TypeError(f"{cls.__name__}.apply: Tensor arguments must be positional "
                            f"(got {key}=Tensor)")
        needs = tuple(needs)
        record = True in needs and is_grad_enabled()
        ctx = Context(needs)
        with no_grad():
            out = cls.forward(ctx, *arrays, **kwargs)
        if isinstance(out, Tensor):
            out = out.data
        if not isinstance(out, np.ndarray) and not hasattr(out, "__cuda_array_interface__"):
            out = np.asarray(out)  # numpy reductions return scalars
        result = Tensor._from_array(out, None, requires_grad=record)
        if record:
            result._node = Node(cls, ctx, tuple(a if n else None for a, n in zip(args, needs)))
        return result


def check_same_device(where, args):
    """The one device of the Tensor arguments, or an error naming the two that differ."""
    Tensor = Function._tensor_type
    device, first = None, None
    for k, a in enumerate(args):
        if isinstance(a, Tensor):
            if device is None:
                device, first = a.device, k
            elif a.device != device:
                raise ValueError(f"{where}: argument {first} is on {device} but argument {k} is "
                                 f"on {a.device} (shapes {args[first].shape} and {a.shape}); "
                                 "move one with .to()")
    return device


def _topological(root: Node):
    """Nodes reachable from root, each before every node it depends on (the reverse of a
    depth-first post-order: a node is finished only after everything it consumes)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            child = inp._node if inp is not None else None
            if child is not None and id(child) not in visited:
                stack.append((child, False))
    order.reverse()
    return order


def run_backward(root, grad, retain_graph: bool) -> None:
    """Backpropagate ``grad`` (an array shaped like ``root``) from the Tensor ``root``."""
    pending = {id(root._node): grad}
    # A leaf takes ownership of the array a backward returns, unless that array may be seen
    # elsewhere: the gradient the backward received (or a view of it), an array returned
    # twice or already handed on, or anything at all when the graph is kept for another
    # backward.
    handed = set()
    with no_grad():  # the backward functions and the accumulation record nothing
        for node in _topological(root._node):
            g = pending.pop(id(node), None)
            if g is None:
                continue
            g = as_array(g)  # a sum of 0-d gradients is a numpy scalar
            ctx = node.ctx
            if ctx is None:
                raise RuntimeError(f"backward through {node.name} a second time: its graph was "
                                   "freed by the first backward; pass retain_graph=True to the "
                                   "first call to keep it")
            result = node.function.backward(ctx, g)
            if not isinstance(result, tuple):
                result = (result,)
            inputs = node.inputs
            if len(result) != len(inputs):
                raise RuntimeError(f"{node.name}.backward returned {len(result)} gradient(s) "
                                   f"for {len(inputs)} input(s)")
            returned = [id(r) for r in result if r is not None]
            for k, (inp, gi) in enumerate(zip(inputs, result)):
                if inp is None or gi is None:
                    continue
                gi = as_array(gi)
                if tuple(gi.shape) != inp._data.shape:
                    raise RuntimeError(f"{node.name}.backward returned a gradient of shape "
                                       f"{tuple(gi.shape)} for input {k} of shape {inp.shape}")
                if inp._node is not None:
                    key = id(inp._node)
                    pending[key] = gi if key not in pending else pending[key] + gi
                    handed.add(id(gi))
                else:
                    shared = (retain_graph or gi is g or getattr(gi, "base", None) is not None
                              or id(gi) in handed or returned.count(id(gi)) > 1)
                    inp._accumulate_grad(gi, owned=not shared)
                    handed.add(id(gi))
            if not retain_graph:
                node.ctx = None
                node.inputs = ()
