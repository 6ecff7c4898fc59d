"""Recurrent layers against torch: fused LSTM and GRU forward + backward (fusednn's sequence
kernels against ``torch.nn.LSTM`` / ``GRU``, the same weights) on the CPU, at training sizes
(batch 64, 50 steps, 64 input features, hidden 128 and 256) and at batch 1 (latency).

Each case runs both interleaved in one process, after warm-up, and reports medians, the
ratio, the achieved GFLOP/s and that rate as a share of a plain SGEMM measured in the same run
(OpenBLAS through fusednn). The FLOPs counted are the GEMMs' (forward: the input projection
and the recurrent product; backward: twice that), which is what bounds a recurrent layer at
these sizes; at batch 1 the per-step overheads do instead.
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from .harness import interleaved_medians, markdown_table, progress, report
from .nn import sgemm_rate

CASES = [  # (cell, batch, steps, input, hidden)
    ("lstm", 64, 50, 64, 128), ("lstm", 64, 50, 64, 256), ("lstm", 1, 50, 64, 128),
    ("gru", 64, 50, 64, 128), ("gru", 64, 50, 64, 256), ("gru", 1, 50, 64, 128),
]
QUICK = [("lstm", 8, 10, 16, 32), ("gru", 8, 10, 16, 32)]
GATES = {"lstm": 4, "gru": 3}


def rnn_case(torch, fnn, cell, batch, steps, features, hidden, timer):
    """Forward + backward of one recurrent layer over a (steps, batch, features) sequence, the
    input needing a gradient (an inner layer)."""
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(features, hidden)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps, batch, features)).astype(np.float32)
    g = rng.standard_normal((steps, batch, hidden)).astype(np.float32)
    params = [fnn.Tensor(p.detach().numpy().copy(), requires_grad=True)
              for p in module._flat_weights]
    ox, og = fnn.Tensor(x, requires_grad=True), g
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)
    fn = getattr(fnn.nn.functional, cell)

    def ours():
        fn(ox, None, params)[0].backward(og)

    def theirs():
        module(tx)[0].backward(tg)

    t_torch, t_ours = timer([theirs, ours])
    gh = GATES[cell] * hidden
    flops = 3 * 2.0 * steps * batch * gh * (features + hidden)
    return t_torch, t_ours, flops


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the rnn benchmark compares with PyTorch: pip install torch")
        return 2
    import fusednn

    if args.device == "cuda":
        progress("the recurrent kernels run on the CPU only so far; no GPU rows")
        return 2
    repeats = args.repeats or (3 if args.quick else 9)
    timer = lambda fns: interleaved_medians(fns, repeats, warmup=2)  # noqa: E731
    progress(f"recurrent layers; fusednn CPU path {_backend.kernel_path()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} threads)")
    with fusednn.no_grad():
        blas, torch_blas = sgemm_rate(torch, fusednn, "cpu", timer, 512 if args.quick else 1024)
    body = []
    for cell, batch, steps, features, hidden in (QUICK if args.quick else CASES):
        name = f"{cell.upper()} B{batch} T{steps} I{features} H{hidden}"
        t_torch, t_ours, flops = rnn_case(torch, fusednn, cell, batch, steps, features, hidden,
                                          timer)
        progress(f"  {name}: torch {t_torch * 1e3:.2f} ms, fusednn {t_ours * 1e3:.2f} ms")
        body.append(["cpu", name, f"{t_torch * 1e3:.3f}", f"{t_ours * 1e3:.3f}",
                     f"{t_torch / t_ours:.2f}x", f"{flops / t_ours / 1e9:.1f} GFLOP/s",
                     f"{100 * flops / t_ours / blas:.0f}% of SGEMM",
                     f"{100 * flops / t_torch / blas:.0f}%"])
    text = markdown_table(["device", "case (fwd+bwd)", "torch ms", "fusednn ms", "speedup",
                           "fusednn rate", "fusednn roofline", "torch roofline"], body)
    text += (f"\n\nmedians of {repeats} interleaved runs; SGEMM {blas / 1e9:.1f} GFLOP/s "
             f"through fusednn's BLAS (OpenBLAS), torch matmul {torch_blas / 1e9:.1f} GFLOP/s, "
             "same run.")
    report(text, args.out)
    return 0
