"""Recurrent layers against torch: fused LSTM and GRU forward + backward (fusednn's sequence
kernels against ``torch.nn.LSTM`` / ``GRU``, the same weights) on the CPU, at training sizes
(batch 64, 50 steps, 64 input features, hidden 128 and 256) and at batch 1 (latency).

Each case runs both interleaved in one process, after warm-up, and reports medians, the
ratio, the achieved GFLOP/s and that rate as a share of a plain SGEMM measured in the same run
(OpenBLAS through fusednn). The FLOPs counted are the GEMMs' (forward: the input projection
and the recurrent product; backward: twice that), which is what bounds a recurrent layer at
these sizes; at batch 1 the per-step overheads do instead. On the CPU, torch's LSTM runs
oneDNN's fused RNN primitive (its GRU does not); the LSTM rows also time torch with oneDNN
off. With a GPU (``--device cuda``, or whenever one is there), the same cases run against
cuDNN through torch, timed with CUDA events.
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from .harness import markdown_table, progress, report
from .nn import _timer, devices_to_run, sgemm_note, sgemm_rate

CASES = [  # (cell, batch, steps, input, hidden)
    ("lstm", 64, 50, 64, 128), ("lstm", 64, 50, 64, 256), ("lstm", 1, 50, 64, 128),
    ("gru", 64, 50, 64, 128), ("gru", 64, 50, 64, 256), ("gru", 1, 50, 64, 128),
]
QUICK = [("lstm", 8, 10, 16, 32), ("gru", 8, 10, 16, 32)]
GATES = {"lstm": 4, "gru": 3}


def _onednn(torch, enabled: bool):
    """torch's CPU LSTM is oneDNN's fused RNN primitive unless oneDNN is switched off, when it
    composes the cell from ATen ops (its GRU always does)."""
    return torch.backends.mkldnn.flags(enabled=enabled)


def rnn_case(torch, fnn, device, cell, batch, steps, features, hidden, timer):
    """Forward + backward of one recurrent layer over a (steps, batch, features) sequence, the
    input needing a gradient (an inner layer). Returns torch's time, ours, the FLOPs, and on
    the CPU for an LSTM torch's time with oneDNN off (else None)."""
    xp = np
    if device == "cuda":
        import cupy as xp
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(features, hidden)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps, batch, features)).astype(np.float32)
    g = rng.standard_normal((steps, batch, hidden)).astype(np.float32)
    params = [fnn.Tensor(xp.asarray(p.detach().numpy()), requires_grad=True)
              for p in module._flat_weights]
    module = module.to(device)
    ox, og = fnn.Tensor(xp.asarray(x), requires_grad=True), xp.asarray(g)
    tx = torch.tensor(x, requires_grad=True, device=device)
    tg = torch.tensor(g, device=device)
    fn = getattr(fnn.nn.functional, cell)

    def ours():
        fn(ox, None, params)[0].backward(og)

    def theirs():
        module(tx)[0].backward(tg)

    def theirs_composed():
        with _onednn(torch, False):
            module(tx)[0].backward(tg)

    fns = [theirs, ours] + ([theirs_composed] if device == "cpu" and cell == "lstm" else [])
    times = timer(fns)
    gh = GATES[cell] * hidden
    flops = 3 * 2.0 * steps * batch * gh * (features + hidden)
    return times[0], times[1], flops, (times[2] if len(times) > 2 else None)


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the rnn benchmark compares with PyTorch: pip install torch")
        return 2
    import fusednn

    repeats = args.repeats or (3 if args.quick else 9)
    devices = devices_to_run(torch, args.device)
    progress(f"recurrent layers; fusednn CPU path {_backend.kernel_path()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} threads)")
    body, notes = [], []
    for device in devices:
        timer = _timer(torch, device, repeats)
        with fusednn.no_grad():
            blas, torch_blas = sgemm_rate(torch, fusednn, device, timer,
                                          512 if args.quick else 1024)
        notes.append(sgemm_note(device, blas, torch_blas))
        for cell, batch, steps, features, hidden in (QUICK if args.quick else CASES):
            name = f"{cell.upper()} B{batch} T{steps} I{features} H{hidden}"
            t_torch, t_ours, flops, t_composed = rnn_case(
                torch, fusednn, device, cell, batch, steps, features, hidden, timer)
            progress(f"  {device} {name}: torch {t_torch * 1e3:.2f} ms, fusednn "
                     f"{t_ours * 1e3:.2f} ms")
            composed = "-" if t_composed is None else \
                f"{t_composed * 1e3:.3f} ({t_composed / t_ours:.2f}x)"
            body.append([device, name, f"{t_torch * 1e3:.3f}", f"{t_ours * 1e3:.3f}",
                         f"{t_torch / t_ours:.2f}x", f"{flops / t_ours / 1e9:.1f} GFLOP/s",
                         f"{100 * flops / t_ours / blas:.0f}% of SGEMM",
                         f"{100 * flops / t_torch / blas:.0f}%", composed])
    text = markdown_table(["device", "case (fwd+bwd)", "torch ms", "fusednn ms", "speedup",
                           "fusednn rate", "fusednn roofline", "torch roofline",
                           "torch without oneDNN ms (speedup)"], body)
    text += (f"\n\nmedians of {repeats} interleaved runs; " + "; ".join(notes) + ", same "
             "run. torch's CPU LSTM is oneDNN's fused RNN primitive; the last column times "
             "it with oneDNN off (ATen's composed cell, what its GRU always runs).")
    report(text, args.out)
    return 0
