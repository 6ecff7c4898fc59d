"""fusednn.Tensor: a numpy (CPU) or CuPy (GPU) array with reverse-mode autograd."""
from __future__ import annotations

import numpy as np

from .. import _backend
from . import tensor_ops
from .device import array_module, device_of, normalize
from .function import Function, as_array, check_same_device, run_backward  # noqa: F401
from .fused.activation import ActivationFunction



def _as_array(data, device, dtype):
    """The array a new Tensor holds. Arrays and numpy scalars keep their dtype (arrays are not
    copied), as in torch; Python numbers and lists become float32 (floats) or int64
    (integers)."""
    if isinstance(data, Tensor):
        data = data.data
    is_array = isinstance(data, (np.ndarray, np.generic)) or \
        hasattr(data, "__cuda_array_interface__")
    if device == "cpu":
        if hasattr(data, "__cuda_array_interface__") and not hasattr(data, "detach"):
            raise ValueError("a GPU array given for a CPU tensor; fusednn never copies between "
                             "devices implicitly: make a 'cuda' tensor and call .to('cpu')")
        if hasattr(data, "detach"):  # a torch tensor
            data, is_array = data.detach().cpu().numpy(), True
        arr = np.asarray(data, dtype=dtype)
    else:
        arr = array_module("cuda").asarray(data, dtype=dtype)
    if dtype is None and not is_array and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


class Tensor:
    """An n-dimensional array with autograd.

    ``Tensor(data, requires_grad=False, device="cpu", dtype=None)``: ``data`` is a numpy or
    CuPy array (kept without a copy when its dtype is kept), a Tensor, or nested Python
    numbers (float32). Layers and kernels compute in float32; float64 tensors work with the
    array operations (useful for gradient checks).
    """

    __slots__ = ("_data", "requires_grad", "_grad", "_node", "__weakref__")
    _is_fusednn_tensor = True
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, data, requires_grad: bool = False, device=None, dtype=None):
        if device is None:
            device = data.device if isinstance(data, Tensor) else (
                "cuda" if hasattr(data, "__cuda_array_interface__") else "cpu")
        device = normalize(device)
        self._data = _as_array(data, device, dtype)
        self._grad = None
        self._node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, array, device, requires_grad=False):
        t = cls.__new__(cls)
        t._data, t._grad, t._node, t.requires_grad = array, None, None, requires_grad
        return t

    # -- the array ---------------------------------------------------------------------------
    @property
    def data(self):
        """The underlying numpy/CuPy array (no graph). Assigning replaces it."""
        return self._data

    @data.setter
    def data(self, value):
        value = value.data if isinstance(value, Tensor) else value
        if device_of(value) != self.device:
            raise ValueError(f"Tensor.data: cannot put a {device_of(value)} array into a "
                             f"{self.device} tensor")
        self._data = value

    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self) -> str:
        return "cpu" if isinstance(self._data, np.ndarray) else "cuda"

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def data_ptr(self) -> int:
        return _backend.array_info(self._data)["address"]

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = "" if self.device == "cpu" else ", device='cuda'"
        body = np.array2string(self.numpy(force=True), precision=4, threshold=20, separator=", ")
        return f"Tensor({body}{dev}{grad})"

    def numpy(self, force: bool = False):
        """The data as a numpy array (shared with the tensor on the CPU). A GPU tensor is
        copied to the host only with ``force=True`` (or use ``.cpu().numpy()``)."""
        if self.device == "cpu":
            return self._data
        if not force:
            raise TypeError("numpy() of a GPU tensor: use .cpu().numpy() (or numpy(force=True))")
        return self._data.get()

    def item(self) -> float:
        if self._data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self._data.reshape(()).item() if self.device == "cpu" else float(self._data.get())

    def tolist(self):
        return self.numpy(force=True).tolist()

    def to(self, device) -> "Tensor":
        """This tensor on ``device`` ("cpu" or "cuda"); itself when it is already there.
        The copy is differentiable."""
        device = normalize(device)
        if device == self.device:
            return self
        return _ToDevice.apply(self, device)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._from_array(self._data, self.device)

    def clone(self) -> "Tensor":
        return tensor_ops.Mul.apply(self, 1) if self.requires_grad else Tensor._from_array(
            self._data.copy(), self.device)

    def astype(self, dtype) -> "Tensor":
        return Tensor._from_array(self._data.astype(dtype), self.device)

    # -- gradients ---------------------------------------------------------------------------
    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self._data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients (got "
                            f"{self._data.dtype})")
        if not self.is_leaf and not flag:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use detach()")
        self.requires_grad = bool(flag)
        return self

    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            value = value if isinstance(value, Tensor) else Tensor(value, device=self.device)
            if value.shape != self.shape or value.device != self.device:
                raise ValueError(f"grad of shape {value.shape} on {value.device} assigned to a "
                                 f"tensor of shape {self.shape} on {self.device}")
        self._grad = value

    def zero_grad(self) -> None:
        self._grad = None

    def _accumulate_grad(self, g, owned: bool = False):
        """Add g into .grad; ``owned``: g is referenced nowhere else and may become .grad."""
        if g.dtype != self._data.dtype:
            g, owned = g.astype(self._data.dtype), True
        if self._grad is None:
            # .grad is C-contiguous, as the fused optimizers read it (a Function's gradient may
            # be a transposed view, e.g. an einsum's)
            keep = owned and g.flags.c_contiguous
            self._grad = Tensor._from_array(g if keep else g.copy(), self.device)
        else:
            self._grad._data += g

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``. ``gradient`` is needed
        unless this tensor has one element."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no input "
                               "required a gradient, or it was computed under no_grad)")
        xp = array_module(self.device)
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element tensor, "
                                   f"got shape {self.shape}; pass gradient=")
            g = xp.ones(self.shape, dtype=self._data.dtype)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else xp.asarray(gradient)
            if tuple(g.shape) != self.shape:
                raise ValueError(f"backward(): gradient of shape {tuple(g.shape)} for a tensor "
                                 f"of shape {self.shape}")
            g = g.astype(self._data.dtype, copy=False)
        if self._node is None:
            self._accumulate_grad(g)
            return
        run_backward(self, g, retain_graph)

    # -- arithmetic --------------------------------------------------------------------------
    def _other(self, other):
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, np.number)):
            return other
        return Tensor(other, device=self.device, dtype=self.dtype)

    def __add__(self, o): return tensor_ops.Add.apply(self, self._other(o))
    def __radd__(self, o): return tensor_ops.Add.apply(self._other(o), self)
    def __sub__(self, o): return tensor_ops.Sub.apply(self, self._other(o))
    def __rsub__(self, o): return tensor_ops.Sub.apply(self._other(o), self)
    def __mul__(self, o): return tensor_ops.Mul.apply(self, self._other(o))
    def __rmul__(self, o): return tensor_ops.Mul.apply(self._other(o), self)
    def __truediv__(self, o): return tensor_ops.Div.apply(self, self._other(o))
    def __rtruediv__(self, o): return tensor_ops.Div.apply(self._other(o), self)
    def __neg__(self): return tensor_ops.Neg.apply(self)
    def __matmul__(self, o): return tensor_ops.MatMul.apply(self, self._other(o))
    def __rmatmul__(self, o): return tensor_ops.MatMul.apply(self._other(o), self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            raise TypeError("Tensor ** Tensor is not supported; the exponent must be a number")
        return tensor_ops.Pow.apply(self, exponent)

    def _compare(self, other, op):
        o = other.data if isinstance(other, Tensor) else other
        return Tensor._from_array(as_array(op(self._data, o)), self.device)

    def __lt__(self, o): return self._compare(o, lambda a, b: a < b)
    def __le__(self, o): return self._compare(o, lambda a, b: a <= b)
    def __gt__(self, o): return self._compare(o, lambda a, b: a > b)
    def __ge__(self, o): return self._compare(o, lambda a, b: a >= b)
    __hash__ = object.__hash__

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        return tensor_ops.GetItem.apply(self, index)

    # -- reductions and shapes ---------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None):
        return tensor_ops.Sum.apply(self, axis=_dim(axis, dim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None):
        return tensor_ops.Mean.apply(self, axis=_dim(axis, dim), keepdims=keepdims)

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return tensor_ops.Reshape.apply(self, shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        nd = self.ndim
        if nd == 0:
            return self.reshape(1)
        s, e = start_dim % nd, end_dim % nd
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def permute(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of {self.ndim} axes")
        return tensor_ops.Permute.apply(self, tuple(a % self.ndim for a in axes))

    def transpose(self, dim0: int = -2, dim1: int = -1):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return tensor_ops.Permute.apply(self, tuple(axes))

    @property
    def T(self):
        return tensor_ops.Permute.apply(self, tuple(reversed(range(self.ndim))))

    def argmax(self, axis=None):
        return Tensor._from_array(as_array(self._data.argmax(axis=axis)), self.device)

    # -- element-wise functions --------------------------------------------------------------
    def exp(self): return tensor_ops.Exp.apply(self)
    def log(self): return tensor_ops.Log.apply(self)
    def sqrt(self): return tensor_ops.Sqrt.apply(self)
    def abs(self): return tensor_ops.Abs.apply(self)
    def clip(self, low, high): return tensor_ops.Clip.apply(self, float(low), float(high))
    __abs__ = abs

    def softmax(self, dim: int = -1):
        return tensor_ops.SoftmaxFunction.apply(self, dim)

    def log_softmax(self, dim: int = -1):
        return tensor_ops.LogSoftmaxFunction.apply(self, dim)

    def relu(self):
        return ActivationFunction.apply(self, "relu", 0.0)

    def leaky_relu(self, negative_slope: float = 0.01):
        return ActivationFunction.apply(self, "leaky_relu", float(negative_slope))

    def sigmoid(self):
        return ActivationFunction.apply(self, "sigmoid", 0.0)

    def tanh(self):
        return ActivationFunction.apply(self, "tanh", 0.0)

    def gelu(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return ActivationFunction.apply(self, "gelu" if approximate == "none" else "gelu_tanh",
                                        0.0)


def _dim(axis, dim):
    if axis is not None and dim is not None:
        raise TypeError("pass axis or dim, not both")
    return dim if dim is not None else axis


class _ToDevice(Function):
    @staticmethod
    def forward(ctx, a, device):
        ctx.source = device_of(a)
        return _move(a, device)

    @staticmethod
    def backward(ctx, g):
        return _move(g, ctx.source), None


def _move(a, device):
    if device == "cpu":
        return a.get()
    return array_module("cuda").asarray(a)


def tensor(data, requires_grad: bool = False, device=None, dtype=None) -> Tensor:
    """A new Tensor (see :class:`Tensor`)."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype)


# Functions make Tensors; the kernel front reads a Tensor's array (its .data) wherever an
# array is expected.
Function._tensor_type = Tensor
_backend.register_tensor_type(Tensor)
