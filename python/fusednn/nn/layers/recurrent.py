"""SimpleRNN, LSTM, GRU and Bidirectional with Keras's arguments and semantics over the fused
sequence kernels, holding their weights in torch's layout and gate order (``weight_ih_l0``
(G*units, features), ``weight_hh_l0`` (G*units, units), ``bias_ih_l0``, ``bias_hh_l0``; LSTM
gates i, f, g, o; GRU r, z, n), so a torch module's ``state_dict`` loads directly.

Inputs are (batch, steps, features). ``mask`` (batch, steps) — from ``Embedding(mask_zero=
True)`` inside a Sequential, or given — marks the steps each sequence takes: a masked step
neither updates the state nor changes the output (Keras: the output repeats the last state), in
any pattern (pre- or post-padding). ``go_backwards`` reads the steps last to first and, with
``return_sequences``, returns them in that order, as Keras does. ``dropout`` drops input
features with one mask per sequence, and ``recurrent_dropout`` drops state units in the
recurrent product with one mask per sequence (Keras's rules; the masks come from the Philox
dropout stream). ``stateful`` is not supported (an error says so); ``unroll`` is accepted and
ignored (the kernels never build a graph per step)."""
from __future__ import annotations

import numpy as np

from ... import _backend, _checks
from ...autograd import Tensor
from .. import functional as F
from .. import init, regularizers
from ..functional.recurrent import _direction, _step_mask, cat
from ..module import Module, Parameter

RnnCell = _backend.RnnCell


class _Recurrent(Module):
    cell_name = None
    gates = 1
    takes_mask = True  # a Sequential hands it the step mask of an Embedding(mask_zero=True)

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 name: str = None):
        super().__init__(name)
        where = type(self).__name__
        units = _checks.positive_int(f"{where}: units", units)
        if stateful:
            raise NotImplementedError(f"{where}: stateful=True is not supported")
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{where}: {what} must be in [0, 1), got {rate}")
        self.cell = self._cell(activation, recurrent_activation)
        self.units, self.activation, self.recurrent_activation = units, activation, \
            recurrent_activation
        self.use_bias, self.dropout = bool(use_bias), float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._regularizer_config = (kernel_regularizer, recurrent_regularizer, bias_regularizer)

    def _cell(self, activation, recurrent_activation):
        where = type(self).__name__
        if activation != "tanh":
            raise NotImplementedError(f"{where}: activation must be 'tanh' (the fused cell's), "
                                      f"got {activation!r}")
        if recurrent_activation != "sigmoid":
            raise NotImplementedError(f"{where}: recurrent_activation must be 'sigmoid', got "
                                      f"{recurrent_activation!r}")
        return getattr(RnnCell, self.cell_name)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs (batch, steps, features), got "
                             f"shape {input_shape}")
        features, g = int(input_shape[2]), self.gates * self.units
        self.weight_ih_l0, self.weight_hh_l0, bias = (Parameter(w) for w in self._draw(features))
        self.bias_ih_l0 = Parameter(self._input_bias(bias.data)) if self.use_bias else None
        # torch's second bias where the layer keeps one; else the one bias is bias_ih_l0.
        self.bias_hh_l0 = Parameter(np.zeros(g, np.float32)) \
            if self.use_bias and self._recurrent_bias() else None
        self.input_features = features
        self.built = True  # built by hand (Keras's layer.build), a call must not build again

    def _draw(self, features):
        """The kernel (G*units, features), recurrent kernel (G*units, units) and bias (G*units,),
        in torch's layout. Keras draws the recurrent kernel as one (units, G*units) matrix (an
        orthogonal one has orthonormal rows there), so it is drawn so and transposed."""
        kernel, recurrent, bias = (init.get(i) for i in self.initializers)
        g = self.gates * self.units
        return (kernel((g, features)), np.ascontiguousarray(recurrent((self.units, g)).T),
                bias((g,)))

    def _input_bias(self, b):
        return b

    def _recurrent_bias(self) -> bool:
        """Whether the layer holds bias_hh_l0 besides bias_ih_l0: torch's layout does."""
        return True

    def _weights(self):
        w = [self.weight_ih_l0, self.weight_hh_l0]
        return w + [self.bias_ih_l0, self.bias_hh_l0] if self.use_bias else w

    def forward(self, x, mask=None, initial_state=None):
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x, np.float32))
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs (batch, steps, features), got "
                             f"shape {x.shape}")
        batch, steps, features = x.shape
        if features != self.input_features:
            raise ValueError(f"{self.name}: built for {self.input_features} features per step, "
                             f"got input of shape {x.shape}")
        if steps < 1 or batch < 1:
            raise ValueError(f"{self.name}: empty input of shape {x.shape}")
        step_mask = _step_mask(None, mask, batch, steps)
        if self.dropout and self.training:  # one mask per sequence, over its features
            keep = F.dropout(Tensor(np.ones((batch, 1, features), x.dtype), device=x.device),
                             self.dropout, True)
            x = x * keep
        rec_mask = None
        if self.recurrent_dropout and self.training:  # one mask on the state, every step
            ones = Tensor(np.ones((batch, self.units), x.dtype), device=x.device)
            rec_mask = F.dropout(ones, self.recurrent_dropout, True).data
        h0, c0 = self._initial(initial_state, batch)
        y, h_n, c_n = _direction(self.cell, x.permute(1, 0, 2), self._weights(), h0, c0,
                                 step_mask, self.go_backwards, rec_mask)
        if self.return_sequences:
            out = y.permute(1, 0, 2)
            if self.go_backwards:
                out = out[:, ::-1]
        else:
            out = h_n
        if not self.return_state:
            return out
        return [out, h_n] + ([c_n] if self.cell == RnnCell.lstm else [])

    def _initial(self, initial_state, batch):
        if initial_state is None:
            return None, None
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        wanted = 2 if self.cell == RnnCell.lstm else 1
        if len(states) != wanted:
            raise ValueError(f"{self.name}: initial_state needs {wanted} state(s), got "
                             f"{len(states)}")
        states = [s if isinstance(s, Tensor) else Tensor(np.asarray(s, np.float32))
                  for s in states]
        for s in states:
            if tuple(s.shape) != (batch, self.units):
                raise ValueError(f"{self.name}: an initial state must be ({batch}, "
                                 f"{self.units}), got {tuple(s.shape)}")
        return states[0], (states[1] if wanted == 2 else None)

    def compute_mask(self, x, mask=None):
        """The mask passed on: the input's with ``return_sequences``, else none."""
        return mask if self.return_sequences else None

    def _penalties(self):
        if not self.built:
            return
        for reg, p in ((self.kernel_regularizer, self.weight_ih_l0),
                       (self.recurrent_regularizer, self.weight_hh_l0),
                       (self.bias_regularizer, self.bias_ih_l0)):
            if reg is not None and p is not None:
                yield reg(p)

    def get_config(self):
        k, r, b = self.initializers
        kr, rr, br = self._regularizer_config
        return dict(units=self.units, activation=self.activation,
                    recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                    kernel_initializer=k, recurrent_initializer=r, bias_initializer=b,
                    kernel_regularizer=kr, recurrent_regularizer=rr, bias_regularizer=br,
                    dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                    return_sequences=self.return_sequences,
                    return_state=self.return_state, go_backwards=self.go_backwards,
                    unroll=self.unroll, name=self.name)

    def extra_repr(self):
        return (f"{self.units}, return_sequences={self.return_sequences}"
                + (", go_backwards" if self.go_backwards else ""))


class SimpleRNN(_Recurrent):
    """h = activation(x W_ih^T + b_ih + h_prev W_hh^T + b_hh), activation "tanh" or "relu"."""

    cell_name, gates = "rnn_tanh", 1

    def _cell(self, activation, recurrent_activation):
        if activation not in ("tanh", "relu"):
            raise NotImplementedError(f"SimpleRNN: activation must be 'tanh' or 'relu', got "
                                      f"{activation!r}")
        return RnnCell.rnn_relu if activation == "relu" else RnnCell.rnn_tanh


class LSTM(_Recurrent):
    """``unit_forget_bias=True`` (Keras's default) starts the forget gate's bias at 1."""

    cell_name, gates = "lstm", 4

    def __init__(self, units: int, *args, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, *args, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _input_bias(self, b):
        if self.unit_forget_bias:
            b = b.copy()
            b[self.units:2 * self.units] = 1.0
        return b

    def get_config(self):
        return dict(super().get_config(), unit_forget_bias=self.unit_forget_bias)


class GRU(_Recurrent):
    """``reset_after=True`` (Keras's default) is torch's GRU: n = tanh(a_n + r (h W_hn^T +
    b_hn)). ``reset_after=False`` applies the reset gate before the recurrent product, n =
    tanh(a_n + (r h) W_hn^T) (Cho et al. 2014, Keras's other form); torch has no such layer,
    so this one holds a single bias, ``bias_ih_l0``, as Keras does."""

    cell_name, gates = "gru", 3

    def __init__(self, units: int, *args, reset_after: bool = True, **kwargs):
        super().__init__(units, *args, **kwargs)
        self.reset_after = bool(reset_after)
        if not self.reset_after:
            self.cell = RnnCell.gru_reset_before

    def _recurrent_bias(self) -> bool:
        return self.reset_after

    def get_config(self):
        return dict(super().get_config(), reset_after=self.reset_after)


class Bidirectional(Module):
    """Runs ``layer`` forwards and a copy of it backwards over the sequence and merges the two:
    ``merge_mode`` "concat" (default), "sum", "mul", "ave", or None (a list of both). The
    backward copy's sequence output is turned back to time order before merging, as Keras's."""

    _MERGES = ("concat", "sum", "mul", "ave", None)
    takes_mask = True

    def __init__(self, layer, merge_mode="concat", backward_layer=None, name: str = None):
        if isinstance(layer, dict):  # from a saved config
            layer = self._layer_class(layer["class"])(**layer["config"])
        super().__init__(name or f"bidirectional_{layer.name}")
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional: wraps a SimpleRNN, LSTM or GRU, got "
                            f"{type(layer).__name__}")
        if merge_mode not in self._MERGES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {self._MERGES}, got "
                             f"{merge_mode!r}")
        if backward_layer is None:
            config = layer.get_config()
            config.update(go_backwards=not layer.go_backwards, name=f"backward_{layer.name}")
            backward_layer = type(layer)(**config)
        self.forward_layer, self.backward_layer, self.merge_mode = layer, backward_layer, \
            merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    @staticmethod
    def _layer_class(saved_name):
        from .. import layers as _layers

        return getattr(_layers, saved_name.split(".")[-1])

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            layer.build(input_shape)
            layer.built = True

    def forward(self, x, mask=None, initial_state=None):
        if initial_state is not None:
            raise NotImplementedError("Bidirectional: initial_state is not supported")
        f = self.forward_layer(x, mask=mask)
        b = self.backward_layer(x, mask=mask)
        f_out, f_states = (f[0], f[1:]) if self.return_state else (f, [])
        b_out, b_states = (b[0], b[1:]) if self.return_state else (b, [])
        if self.return_sequences:
            b_out = b_out[:, ::-1]
        if self.merge_mode == "concat":
            out = cat([f_out, b_out], f_out.ndim - 1)
        elif self.merge_mode == "sum":
            out = f_out + b_out
        elif self.merge_mode == "mul":
            out = f_out * b_out
        elif self.merge_mode == "ave":
            out = (f_out + b_out) * 0.5
        else:
            out = [f_out, b_out]
        if not self.return_state:
            return out
        return (out if isinstance(out, list) else [out]) + list(f_states) + list(b_states)

    def compute_mask(self, x, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        return dict(layer={"class": type(self.forward_layer).__dict__.get(
                               "_saved_name", type(self.forward_layer).__name__),
                           "config": self.forward_layer.get_config()},
                    merge_mode=self.merge_mode, name=self.name)
