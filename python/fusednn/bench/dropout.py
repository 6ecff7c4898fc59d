"""Dropout against torch.nn.functional.dropout, forward and backward.

CPU: fusednn's fused mask-and-scale (AVX2 Philox) against torch's CPU dropout, interleaved,
medians, with a src->dst copy of the same size timed in the same loop as the roofline (a
dropout reads x and writes y: exactly a copy's traffic). GPU (when fusednn._cuda and a GPU
are present; alone with ``--device cuda``): the same on the device, timed with CUDA events.
"""
from __future__ import annotations

from .. import _backend, ops
from .harness import Row, interleaved_medians, markdown_table, progress, report
from .nn import devices_to_run

FULL_SIZES = [1_000_000, 16_000_000, 64_000_000]
QUICK_SIZES = [1_000_000]
P = 0.5


def rows_on(torch, device, sizes, repeats):
    """One row per size: torch's dropout, ours, and a copy of the same size, interleaved."""
    if device == "cuda":
        from .gpu import cuda_event_medians

        timer = lambda fns: cuda_event_medians(torch, fns, repeats)
    else:
        timer = lambda fns: interleaved_medians(fns, repeats, warmup=2)
    rows = []
    for n in sizes:
        x = torch.randn(n, device=device)
        y = torch.empty_like(x)
        gen = ops.PhiloxGenerator(seed=0)
        t_torch, t_ours, t_copy = timer([
            lambda: torch.nn.functional.dropout(x, P, training=True),
            lambda: ops.dropout(x, P, out=y, **gen.next()),
            lambda: y.copy_(x)])
        row = Row("dropout", {"device": device, "elements": n}, "torch F.dropout", t_torch,
                  t_ours, 8.0 * n, {"copy_s": t_copy})
        rows.append(row)
        progress(f"  {device} {n:>10d}: torch {t_torch * 1e3:8.3f} ms  fusednn "
                 f"{t_ours * 1e3:8.3f} ms  {row.speedup:6.1f}x")
    return rows


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the dropout benchmark compares with PyTorch: pip install torch")
        return 2
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    repeats = args.repeats or (5 if args.quick else 15)
    progress(f"dropout p={P}; fusednn CPU path {_backend.kernel_path()}")
    devices = devices_to_run(torch, getattr(args, "device", "cpu"))
    if devices == ["cuda"] and not (_backend.gpu_available() and torch.cuda.is_available()):
        progress("--device cuda needs a GPU, a CUDA build of torch and fusednn._cuda")
        return 2
    if "cuda" not in devices:
        progress("  no GPU (or no fusednn._cuda): GPU rows skipped")
    rows = [row for device in devices for row in rows_on(torch, device, sizes, repeats)]
    body = [[r.case["device"], f"{r.case['elements']:,}", f"{r.baseline_s * 1e3:.3f}",
             f"{r.fusednn_s * 1e3:.3f}", f"{r.speedup:.1f}x",
             f"{r.bytes_moved / r.fusednn_s / 1e9:.1f}",
             f"{100 * r.extra['copy_s'] / r.fusednn_s:.0f}%"] for r in rows]
    text = markdown_table(["device", "elements", "torch ms", "fusednn ms", "speedup", "GB/s",
                           "% copy BW"], body)
    text += (f"\n\np = {P}; medians of {repeats} interleaved runs; % copy BW: a src->dst copy "
             "of the same size (the same traffic as a dropout) timed in the same loop.")
    report(text, args.out)
    return 0
