"""A recurrent layer over a whole sequence, one direction: the fused sequence kernels of
``fusednn._cpu`` / ``fusednn._cuda`` (input GEMM over all steps; per step a recurrent GEMM and
one fused cell pass; the backward's weight gradients as GEMMs over all steps). float32.

The output packs what the layer returns into one array: the states of every step, (T, B, H),
followed for an LSTM by its last cell state as one more (B, H) slice. The last hidden state is
the state of the last step processed (a masked step, ``mask`` (T, B) uint8 zero, carries its
row's state), so it is a slice of the output and needs no slot of its own. ``rec_mask`` (B, H),
when given, is a recurrent-dropout mask: every step's recurrent product reads h_prev * rec_mask
(Keras's rule: one mask for the whole sequence)."""
from __future__ import annotations

from ... import _backend
from ..function import Function

RnnCell = _backend.RnnCell


def is_lstm(cell) -> bool:
    return cell == RnnCell.lstm


class RnnFunction(Function):
    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, cell, mask, reverse, rec_mask=None):
        where = f"{cell.name} layer"
        x, w_ih, w_hh = (_backend.contiguous(a, where, n) for a, n in
                         ((x, "input"), (w_ih, "weight_ih"), (w_hh, "weight_hh")))
        b_ih, b_hh, h0, c0, rec_mask = (
            None if a is None else _backend.contiguous(a, where, n) for a, n in
            ((b_ih, "bias_ih"), (b_hh, "bias_hh"), (h0, "h0"), (c0, "c0"),
             (rec_mask, "recurrent dropout mask")))
        steps, batch, _ = x.shape
        hidden, gates = w_hh.shape[1], w_hh.shape[0]
        packed = _backend.empty(x, (steps + is_lstm(cell), batch, hidden))
        y = packed[:steps]
        c_n = packed[steps] if is_lstm(cell) else None
        saved_gates = _backend.empty(x, (steps, batch, gates))
        aux = _backend.empty(x, (steps, batch, hidden))
        if mask is not None and _backend.on_gpu(x):
            mask = _backend.xp_of(x).asarray(mask)
        _backend.call(x, "rnn_forward", cell, x, w_ih, w_hh, b_ih, b_hh, h0, c0, mask,
                      bool(reverse), y, None, c_n, saved_gates, aux, rec_mask,
                      **_backend.workspace(x, "rnn_workspace_bytes", cell, steps, batch, hidden,
                                           False, rec_mask is not None, h0 is not None, False))
        ctx.save_for_backward(x, w_ih, w_hh, h0, c0, y, saved_gates, aux)
        ctx.cell, ctx.mask, ctx.reverse, ctx.rec_mask = cell, mask, bool(reverse), rec_mask
        ctx.has_bias = b_ih is not None, b_hh is not None
        return packed

    @staticmethod
    def backward(ctx, g):
        x, w_ih, w_hh, h0, c0, y, saved_gates, aux = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = _backend.contiguous(g, f"{ctx.cell.name} layer", "grad")
        steps = x.shape[0]
        dy = g[:steps]
        dc_n = g[steps] if is_lstm(ctx.cell) else None

        def out(flag, shape):
            return _backend.empty(g, shape) if flag else None

        dx = out(need[0], x.shape)
        dw_ih, dw_hh = out(need[1], w_ih.shape), out(need[2], w_hh.shape)
        db_ih = out(need[3] and ctx.has_bias[0], (w_hh.shape[0],))
        db_hh = out(need[4] and ctx.has_bias[1], (w_hh.shape[0],))
        dh0 = out(need[5] and h0 is not None, y.shape[1:])
        dc0 = out(need[6] and c0 is not None, y.shape[1:])
        # Gate gradients live for the kernel call only: reused arrays on the CPU, not fresh
        # pages every step. kGru's recurrent part of n differs from its input part (r
        # multiplies it): its own dR.
        dgates = _backend.scratch(g, saved_gates.shape, "rnn dgates")
        dgates_rec = (_backend.scratch(g, saved_gates.shape, "rnn dgates_rec")
                      if ctx.cell == RnnCell.gru else None)
        _backend.call(x, "rnn_backward", ctx.cell, x, w_ih, w_hh, h0, c0, ctx.mask,
                      ctx.reverse, y, saved_gates, aux, dy, None, dc_n, dx, dw_ih, dw_hh, db_ih,
                      db_hh, dh0, dc0, dgates, dgates_rec, ctx.rec_mask,
                      **_backend.workspace(x, "rnn_workspace_bytes", ctx.cell, steps, y.shape[1],
                                           y.shape[2], True, ctx.rec_mask is not None,
                                           h0 is not None, dw_hh is not None))
        return dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0, None, None, None, None
