"""Recurrent layers over whole sequences, with the arguments of torch's ``_VF.lstm`` / ``gru`` /
``rnn_tanh`` / ``rnn_relu`` (what ``torch.nn.LSTM`` and friends call): ``params`` in torch's
flat order (per layer, per direction: ``w_ih`` (G*H, I), ``w_hh`` (G*H, H), then ``b_ih``,
``b_hh`` when ``has_biases``), ``hx`` states of shape (layers * directions, B, H), ``batch_first``
and ``bidirectional``; plus ``lengths`` (B,) for padded batches, with torch's packed-sequence
results: outputs zero at padded steps, the final state each row's own last step (the reverse
direction starts at each row's last step).

float32 runs the fused kernels (``RnnFunction``); float64 runs the same cell equations
composed from Tensor operations, the reference the gradient checks use."""
from __future__ import annotations

import numpy as np

from ... import _backend
from ...autograd import Function, Tensor
from ...autograd.fused import RnnFunction
from ...autograd.tensor_ops import xp_of
from .activation import relu, sigmoid, tanh
from .dropout import dropout as _dropout

RnnCell = _backend.RnnCell


class Concat(Function):
    """Tensors joined along ``axis``; the gradient is split back."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis, ctx.sizes = axis, [a.shape[axis] for a in arrays]
        return xp_of(arrays[0]).concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        bounds = np.cumsum(ctx.sizes)[:-1]
        return (None, *xp_of(g).split(g, bounds, axis=ctx.axis))


def cat(tensors, axis: int = 0) -> Tensor:
    tensors = list(tensors)
    if len(tensors) == 1:
        return tensors[0]
    return Concat.apply(axis, *tensors)


def _host(values):
    """A numpy array of a list, a numpy array or a device array."""
    if hasattr(values, "__cuda_array_interface__"):
        return _backend.to_host(values)
    return np.asarray(values)


def _step_mask(lengths, mask, batch, steps):
    """The (steps, batch) uint8 mask of the steps each row takes, from ``lengths`` (B,) or a
    batch-first boolean ``mask`` (B, T) (Keras's: any pattern, e.g. pre-padding); or None."""
    if mask is not None:
        if lengths is not None:
            raise ValueError("give lengths or mask, not both")
        m = _host(mask.data if isinstance(mask, Tensor) else mask)
        if m.shape != (batch, steps):
            raise ValueError(f"mask must be (batch, steps) = ({batch}, {steps}), got {m.shape}")
        return np.ascontiguousarray(m.T != 0, dtype=np.uint8)
    lengths = _check_lengths(lengths, batch, steps)
    if lengths is None:
        return None
    return (np.arange(steps)[:, None] < lengths[None, :]).astype(np.uint8)


def _check_lengths(lengths, batch, steps):
    if lengths is None:
        return None
    data = _host(lengths.data if isinstance(lengths, Tensor) else lengths)
    if data.dtype.kind not in "iu" or data.shape != (batch,):
        raise ValueError(f"lengths must be {batch} integers (one per sequence), got "
                         f"{data.dtype} of shape {data.shape}")
    if data.size and (data.min() < 1 or data.max() > steps):
        bad = int(data.min()) if data.min() < 1 else int(data.max())
        raise ValueError(f"lengths: {bad} is outside [1, {steps}] (sequences of {steps} steps)")
    return np.ascontiguousarray(data, np.int64)


def _composed(cell, x, w_ih, w_hh, b_ih, b_hh, h, c, mask, reverse, rec_mask=None):
    """The cell equations from Tensor operations (any float dtype): (y, h_n, c_n)."""
    steps = x.shape[0]
    hidden = w_hh.shape[1]
    w_ih_t, w_hh_t = w_ih.permute(1, 0), w_hh.permute(1, 0)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    outputs = [None] * steps
    for t in order:
        a = x[t] @ w_ih_t
        if b_ih is not None:
            a = a + b_ih
        h_rec = h if rec_mask is None else h * Tensor(rec_mask)
        # The reset-before GRU's state meets only the r and z rows here; its n rows meet u.
        state_cols = 2 * hidden if cell == RnnCell.gru_reset_before else w_hh_t.shape[1]
        r = h_rec @ w_hh_t[:, :state_cols]
        if b_hh is not None:
            r = r + b_hh[:state_cols]
        part = lambda v, k: v[:, k * hidden:(k + 1) * hidden]  # noqa: E731
        c_new = None
        if cell == RnnCell.lstm:
            i, f = sigmoid(part(a, 0) + part(r, 0)), sigmoid(part(a, 1) + part(r, 1))
            g, o = tanh(part(a, 2) + part(r, 2)), sigmoid(part(a, 3) + part(r, 3))
            c_new = f * c + i * g
            h_new = o * tanh(c_new)
        elif cell == RnnCell.gru:
            rg, z = sigmoid(part(a, 0) + part(r, 0)), sigmoid(part(a, 1) + part(r, 1))
            n = tanh(part(a, 2) + rg * part(r, 2))
            h_new = (1.0 - z) * n + z * h
        elif cell == RnnCell.gru_reset_before:
            rg, z = sigmoid(part(a, 0) + part(r, 0)), sigmoid(part(a, 1) + part(r, 1))
            u = (rg * h_rec) @ w_hh_t[:, state_cols:]
            if b_hh is not None:
                u = u + b_hh[state_cols:]
            n = tanh(part(a, 2) + u)
            h_new = (1.0 - z) * n + z * h
        else:
            h_new = (relu if cell == RnnCell.rnn_relu else tanh)(a + r)
        if mask is not None:  # a masked step carries the row's state
            m = Tensor(mask[t].astype(x.dtype)[:, None])
            h_new = m * h_new + (1.0 - m) * h
            if c_new is not None:
                c_new = m * c_new + (1.0 - m) * c
        h, c = h_new, c_new
        outputs[t] = h.reshape(1, *h.shape)
    return cat(outputs, 0), h, c


def _direction(cell, x, weights, h0, c0, mask, reverse, rec_mask=None):
    """One layer, one direction, time-major: (y (T, B, H), h_n, c_n or None). ``rec_mask``
    (B, H) array: recurrent dropout (the recurrent product reads h_prev * rec_mask)."""
    w_ih, w_hh = weights[0], weights[1]
    b_ih, b_hh = (weights[2], weights[3]) if len(weights) == 4 else (None, None)
    lstm = cell == RnnCell.lstm
    if x.dtype == np.float32:
        packed = RnnFunction.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, cell, mask, reverse,
                                   None if rec_mask is None else rec_mask.astype(x.dtype))
        steps = x.shape[0]
        y = packed[:steps] if lstm else packed
        last = 0 if reverse else steps - 1
        return y, y[last], (packed[steps] if lstm else None)
    batch, hidden = x.shape[1], w_hh.shape[1]
    zeros = lambda: Tensor(np.zeros((batch, hidden), x.dtype))  # noqa: E731
    return _composed(cell, x, w_ih, w_hh, b_ih, b_hh, h0 if h0 is not None else zeros(),
                     (c0 if c0 is not None else zeros()) if lstm else None, mask, reverse,
                     None if rec_mask is None else rec_mask.astype(x.dtype))


def _run(cell, where, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
         batch_first, lengths, mask=None, zero_masked=True):
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim != 3:
        raise ValueError(f"{where}: input must be 3-D ((batch, steps, features) with "
                         f"batch_first, else (steps, batch, features)), got shape {input.shape}")
    if input.dtype not in (np.float32, np.float64):
        raise TypeError(f"{where}: input must be float32 or float64, got {input.dtype}")
    directions = 2 if bidirectional else 1
    per = 4 if has_biases else 2
    params = list(params)
    if len(params) != num_layers * directions * per:
        raise ValueError(f"{where}: expected {num_layers * directions * per} parameter tensors "
                         f"({num_layers} layer(s) x {directions} direction(s) x {per}), got "
                         f"{len(params)}")
    x = input.permute(1, 0, 2) if batch_first else input
    steps, batch = x.shape[0], x.shape[1]
    if steps < 1 or batch < 1:
        raise ValueError(f"{where}: empty input of shape {input.shape}")
    step_mask = _step_mask(lengths, mask, batch, steps)
    lstm = cell == RnnCell.lstm
    h0 = c0 = None
    if hx is not None:
        h0, c0 = (hx if lstm else (hx, None))
    gates = _backend.cpu_module().rnn_gates(cell)
    hidden = params[1].shape[1]
    for name, state in (("h0", h0), ("c0", c0)):
        if state is not None and tuple(state.shape) != (num_layers * directions, batch, hidden):
            raise ValueError(f"{where}: {name} must be ({num_layers * directions}, {batch}, "
                             f"{hidden}), got {tuple(state.shape)}")
    h_out, c_out = [], []
    for layer in range(num_layers):
        feature = x.shape[2]
        outs = []
        for d in range(directions):
            k = layer * directions + d
            weights = params[k * per:(k + 1) * per]
            w_ih, w_hh = weights[0], weights[1]
            if tuple(w_ih.shape) != (gates * hidden, feature) or \
                    tuple(w_hh.shape) != (gates * hidden, hidden):
                raise ValueError(f"{where}: layer {layer} direction {d}: w_ih {tuple(w_ih.shape)} "
                                 f"and w_hh {tuple(w_hh.shape)} must be ({gates * hidden}, "
                                 f"{feature}) and ({gates * hidden}, {hidden})")
            y, h_n, c_n = _direction(cell, x, weights, None if h0 is None else h0[k],
                                     None if c0 is None else c0[k], step_mask, d == 1)
            outs.append(y)
            h_out.append(h_n.reshape(1, batch, hidden))
            if lstm:
                c_out.append(c_n.reshape(1, batch, hidden))
        x = cat(outs, 2)
        if dropout and train and layer + 1 < num_layers:
            x = _dropout(x, dropout, True)
    if step_mask is not None and zero_masked:  # torch's packed results: nothing at padding
        x = x * Tensor(step_mask[:, :, None].astype(x.dtype), device=x.device)
    output = x.permute(1, 0, 2) if batch_first else x
    return output, cat(h_out, 0), (cat(c_out, 0) if lstm else None)


def lstm(input, hx, params, has_biases: bool = True, num_layers: int = 1,
         dropout: float = 0.0, train: bool = True, bidirectional: bool = False,
         batch_first: bool = False, lengths=None):
    """(output, h_n, c_n); ``hx`` is (h0, c0) or None."""
    return _run(RnnCell.lstm, "lstm", input, hx, params, has_biases, num_layers, dropout, train,
                bidirectional, batch_first, lengths)


def _one_state(cell, name: str, doc: str):
    """The functional form of a cell with one state: (output, h_n)."""

    def run(input, hx, params, has_biases: bool = True, num_layers: int = 1,
            dropout: float = 0.0, train: bool = True, bidirectional: bool = False,
            batch_first: bool = False, lengths=None):
        out, h, _ = _run(cell, name, input, hx, params, has_biases, num_layers, dropout, train,
                         bidirectional, batch_first, lengths)
        return out, h

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run


gru = _one_state(RnnCell.gru, "gru", "(output, h_n): torch's GRU (Keras's reset_after=True).")
rnn_tanh = _one_state(RnnCell.rnn_tanh, "rnn_tanh", "(output, h_n) of the Elman RNN with tanh.")
rnn_relu = _one_state(RnnCell.rnn_relu, "rnn_relu", "(output, h_n) of the Elman RNN with ReLU.")
