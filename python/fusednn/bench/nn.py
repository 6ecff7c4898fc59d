"""Layers against torch: Dense and Conv2D forward + backward with a fused bias + ReLU, and
softmax cross-entropy, on the CPU (and the GPU when there is one).

Each case runs fusednn and torch interleaved in one process, after warm-up, and reports
medians, the ratio, the achieved GFLOP/s and that rate as a share of a plain SGEMM measured in
the same run (OpenBLAS through fusednn on the CPU, cuBLAS on the GPU): the roofline of a
GEMM-bound layer. Softmax cross-entropy is bandwidth-bound: its row reports GB/s instead.
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from ..nn.functional.pooling import _pool_geometry
from .harness import copy_bandwidth, interleaved_medians, markdown_table, progress, report

DENSE_CASES = [
    # (name, batch, widths)
    ("MLP 784-1024-1024-10", 512, (784, 1024, 1024, 10)),
    ("Dense 1024x1024", 512, (1024, 1024)),
]
CONV_CASES = [
    # (name, N, C, H, W, out_channels, k, padding, input needs a gradient)
    ("Conv MNIST 64x32x28x28 k3->64", 64, 32, 28, 28, 64, 3, 1, True),
    ("Conv CIFAR 128x64x32x32 k3->128", 128, 64, 32, 32, 128, 3, 1, True),
    # the tutorial CNN's three convs (valid padding; the first sees the images, no gradient)
    ("Conv tutorial-1 128x1x28x28 k3->32", 128, 1, 28, 28, 32, 3, 0, False),
    ("Conv tutorial-2 128x32x13x13 k3->64", 128, 32, 13, 13, 64, 3, 0, True),
    ("Conv tutorial-3 128x64x5x5 k3->64", 128, 64, 5, 5, 64, 3, 0, True),
]
XENT_CASES = [("softmax-CE 512x10", 512, 10), ("softmax-CE 4096x1000", 4096, 1000)]
POOL_CASES = [  # (name, kind, input shape): the tutorial CNN's two pools, 2x2 stride 2
    ("MaxPool 2x2 128x32x26x26", "max", (128, 32, 26, 26)),
    ("MaxPool 2x2 128x64x11x11", "max", (128, 64, 11, 11)),
    ("AvgPool 2x2 128x32x26x26", "avg", (128, 32, 26, 26)),
]
QUICK_DENSE = [("Dense 256x256", 128, (256, 256))]
QUICK_CONV = [("Conv 8x8x16x16 k3->16", 8, 8, 16, 16, 16, 3, 1, True)]
QUICK_XENT = [("softmax-CE 512x10", 512, 10)]
QUICK_POOL = [("MaxPool 2x2 8x8x16x16", "max", (8, 8, 16, 16))]


def _timer(torch, device, repeats):
    if device == "cuda":
        from .gpu import cuda_event_medians

        return lambda fns: cuda_event_medians(torch, fns, repeats)
    return lambda fns: interleaved_medians(fns, repeats, warmup=2)


def _arrays(device):
    if device == "cpu":
        return np
    import cupy

    return cupy


def dense_case(torch, fnn, device, batch, widths, timer):
    """Forward + backward of a ReLU MLP (no ReLU after the last layer)."""
    xp = _arrays(device)
    rng = np.random.default_rng(0)
    ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
          for i, o in zip(widths[:-1], widths[1:])]
    bs = [rng.standard_normal(o).astype(np.float32) * 0.1 for o in widths[1:]]
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    g = rng.standard_normal((batch, widths[-1])).astype(np.float32)
    F = fnn.nn.functional
    ours_w = [fnn.Tensor(xp.asarray(w), requires_grad=True) for w in ws]
    ours_b = [fnn.Tensor(xp.asarray(b), requires_grad=True) for b in bs]
    ours_x, ours_g = fnn.Tensor(xp.asarray(x)), xp.asarray(g)
    t_w = [torch.tensor(w, device=device, requires_grad=True) for w in ws]
    t_b = [torch.tensor(b, device=device, requires_grad=True) for b in bs]
    t_x, t_g = torch.tensor(x, device=device), torch.tensor(g, device=device)
    last = len(ws) - 1

    def ours():
        h = ours_x
        for k, (w, b) in enumerate(zip(ours_w, ours_b)):
            h = F.linear(h, w, b, activation=None if k == last else "relu")
        h.backward(ours_g)

    def theirs():
        h = t_x
        for k, (w, b) in enumerate(zip(t_w, t_b)):
            h = torch.nn.functional.linear(h, w, b)
            h = h if k == last else torch.relu(h)
        h.backward(t_g)

    t_torch, t_ours = timer([theirs, ours])
    flops = 0.0
    for k, w in enumerate(ws):
        o, i = w.shape
        flops += 2.0 * batch * i * o * (2 if k == 0 else 3)  # forward, dW, dX (not for the input)
    return t_torch, t_ours, flops


def conv_case(torch, fnn, device, n, c, h, w, out_c, k, padding, input_grad, timer):
    """Forward + backward of Conv2D + bias + ReLU; with input_grad the input needs a gradient
    too (an inner layer), else only the weights do (a first layer)."""
    xp = _arrays(device)
    rng = np.random.default_rng(0)
    out_h, out_w = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((out_c, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    b = rng.standard_normal(out_c).astype(np.float32) * 0.1
    g = rng.standard_normal((n, out_c, out_h, out_w)).astype(np.float32)
    F = fnn.nn.functional
    ox = fnn.Tensor(xp.asarray(x), requires_grad=input_grad)
    ow, ob = (fnn.Tensor(xp.asarray(a), requires_grad=True) for a in (wt, b))
    og = xp.asarray(g)
    tx = torch.tensor(x, device=device, requires_grad=input_grad)
    tw, tb = (torch.tensor(a, device=device, requires_grad=True) for a in (wt, b))
    tg = torch.tensor(g, device=device)

    def ours():
        F.conv2d(ox, ow, ob, padding=padding, activation="relu").backward(og)

    def theirs():
        torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=padding)).backward(tg)

    t_torch, t_ours = timer([theirs, ours])
    gemms = 3 if input_grad else 2  # forward, dW (and dX)
    return t_torch, t_ours, gemms * 2.0 * n * out_c * out_h * out_w * c * k * k


def pool_case(torch, fnn, device, kind, shape, timer):
    """Forward + backward of 2x2 stride-2 pooling through autograd against torch's, and the
    rate of the two kernel passes alone on arrays allocated once (what the roofline compares
    with the copy bandwidth: a fresh output array costs its page faults, in both libraries).
    The bytes are the passes' minimum traffic: read x, write y (and max's int32 argmax), then
    read dy (and argmax), write dx."""
    xp = _arrays(device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    n, c, h, w = shape
    g = rng.standard_normal((n, c, h // 2, w // 2)).astype(np.float32)
    ox, og = fnn.Tensor(xp.asarray(x), requires_grad=True), xp.asarray(g)
    tx, tg = torch.tensor(x, device=device, requires_grad=True), torch.tensor(g, device=device)
    F = fnn.nn.functional
    ours_fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs_fn = torch.nn.functional.max_pool2d if kind == "max" else \
        torch.nn.functional.avg_pool2d

    def ours():
        ours_fn(ox, 2).backward(og)

    def theirs():
        theirs_fn(tx, 2).backward(tg)

    module = _backend.module_for(device == "cuda")
    geometry = _pool_geometry(shape, 2, None, 0, 1, "bench")
    y, dx, dy = xp.empty(g.shape, np.float32), xp.empty_like(ox.data), xp.asarray(g)
    argmax = xp.empty(g.shape, np.int32)

    def passes():
        if kind == "max":
            module.max_pool2d_forward(ox.data, y, argmax, geometry)
            module.max_pool2d_backward(dy, argmax, dx, geometry)
        else:
            module.avg_pool2d_forward(ox.data, y, geometry, True)
            module.avg_pool2d_backward(dy, dx, geometry, True)

    t_torch, t_ours, t_passes = timer([theirs, ours, passes])
    index = 2 * g.size * 4 if kind == "max" else 0
    return t_torch, t_ours, 2.0 * (x.nbytes + g.nbytes) + index, t_passes


def xent_case(torch, fnn, device, rows, classes, timer):
    xp = _arrays(device)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((rows, classes)).astype(np.float32)
    y = rng.integers(0, classes, rows)
    ox = fnn.Tensor(xp.asarray(logits), requires_grad=True)
    oy = xp.asarray(y)
    tx = torch.tensor(logits, device=device, requires_grad=True)
    ty = torch.tensor(y, device=device)

    def ours():
        fnn.nn.functional.cross_entropy(ox, oy).backward()

    def theirs():
        torch.nn.functional.cross_entropy(tx, ty).backward()

    t_torch, t_ours = timer([theirs, ours])
    return t_torch, t_ours, 3.0 * 4 * rows * classes  # read logits, write and scale dlogits


def sgemm_rate(torch, fnn, device, timer, size=2048):
    """FLOP/s of one plain SGEMM (size^3) through the BLAS fusednn uses, and torch's matmul."""
    xp = _arrays(device)
    rng = np.random.default_rng(1)
    a = xp.asarray(rng.standard_normal((size, size)).astype(np.float32))
    b = xp.asarray(rng.standard_normal((size, size)).astype(np.float32))
    ta, tb = torch.as_tensor(a, device=device), torch.as_tensor(b, device=device)
    A, B = fnn.Tensor(a), fnn.Tensor(b)
    t_torch, t_ours = timer([lambda: ta @ tb.T, lambda: fnn.nn.functional.linear(A, B)])
    flops = 2.0 * size ** 3
    return flops / t_ours, flops / t_torch


def devices_to_run(torch, requested):
    """The devices a benchmark with GPU rows runs on: the CPU, and the GPU too when there is
    one; the GPU alone for ``--device cuda``."""
    if requested == "cuda":
        return ["cuda"]
    return ["cpu", "cuda"] if _backend.gpu_available() and torch.cuda.is_available() else ["cpu"]


def sgemm_note(device, blas, torch_blas):
    """The table note on the SGEMM rates a device's rooflines are measured against."""
    return (f"{device}: SGEMM {blas / 1e9:.1f} GFLOP/s through fusednn's BLAS "
            f"({'OpenBLAS' if device == 'cpu' else 'cuBLAS'}), torch matmul "
            f"{torch_blas / 1e9:.1f} GFLOP/s")


def rows_on(torch, fnn, device, quick, repeats):
    if device == "cuda":
        # fusednn computes in plain FP32 on the GPU; torch would use TF32 in cuDNN by default
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    timer = _timer(torch, device, repeats)
    with fnn.no_grad():
        blas, torch_blas = sgemm_rate(torch, fnn, device, timer, 1024 if quick else 2048)
    progress(f"  {device}: SGEMM {blas / 1e9:.1f} GFLOP/s (fusednn's BLAS), torch matmul "
             f"{torch_blas / 1e9:.1f} GFLOP/s")
    rows = []
    for name, batch, widths in (QUICK_DENSE if quick else DENSE_CASES):
        rows.append((device, name) + dense_case(torch, fnn, device, batch, widths, timer) + ("flop",))
        progress(f"  {device} {name}: torch {rows[-1][2] * 1e3:.2f} ms, fusednn {rows[-1][3] * 1e3:.2f} ms")
    for case in (QUICK_CONV if quick else CONV_CASES):
        rows.append((device, case[0]) + conv_case(torch, fnn, device, *case[1:], timer) + ("flop",))
        progress(f"  {device} {case[0]}: torch {rows[-1][2] * 1e3:.2f} ms, fusednn {rows[-1][3] * 1e3:.2f} ms")
    for name, r, c in (QUICK_XENT if quick else XENT_CASES):
        rows.append((device, name) + xent_case(torch, fnn, device, r, c, timer) + ("byte",))
        progress(f"  {device} {name}: torch {rows[-1][2] * 1e3:.3f} ms, fusednn {rows[-1][3] * 1e3:.3f} ms")
    for name, kind, shape in (QUICK_POOL if quick else POOL_CASES):
        t_torch, t_ours, moved, t_passes = pool_case(torch, fnn, device, kind, shape, timer)
        rows.append((device, name, t_torch, t_ours, moved, ("passes", t_passes)))
        progress(f"  {device} {name}: torch {rows[-1][2] * 1e3:.3f} ms, fusednn {rows[-1][3] * 1e3:.3f} ms")
    return rows, blas, torch_blas


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the nn benchmark compares with PyTorch: pip install torch")
        return 2
    import fusednn

    repeats = args.repeats or (3 if args.quick else 9)
    devices = devices_to_run(torch, args.device)
    progress(f"nn layers; fusednn CPU path {_backend.kernel_path()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} threads)")
    body, notes = [], []
    for device in devices:
        rows, blas, torch_blas = rows_on(torch, fusednn, device, args.quick, repeats)
        notes.append(sgemm_note(device, blas, torch_blas) + ", same run")
        copy = copy_bandwidth()["bytes_per_s"] if device == "cpu" else None
        if copy:
            notes.append(f"cpu: copy bandwidth {copy / 1e9:.1f} GB/s (a float32 copy, read + "
                         "write)")
        for dev, name, t_torch, t_ours, work, kind in rows:
            # pooling rows rate their kernel passes alone (pool_case)
            rate = work / (kind[1] if isinstance(kind, tuple) else t_ours)
            if kind == "flop":
                perf, roof = f"{rate / 1e9:.1f} GFLOP/s", f"{100 * rate / blas:.0f}% of SGEMM"
            elif isinstance(kind, tuple) and copy:
                perf, roof = f"{rate / 1e9:.1f} GB/s", f"passes at {100 * rate / copy:.0f}% of copy"
            else:
                perf, roof = f"{rate / 1e9:.1f} GB/s", "memory-bound"
            body.append([dev, name, f"{t_torch * 1e3:.3f}", f"{t_ours * 1e3:.3f}",
                         f"{t_torch / t_ours:.2f}x", perf, roof])
    text = markdown_table(["device", "case (fwd+bwd)", "torch ms", "fusednn ms", "speedup",
                           "fusednn rate", "roofline"], body)
    text += ("\n\nmedians of %d interleaved runs; " % repeats)
    text += ("TF32 off on the GPU on both sides; " if "cuda" in devices else "")
    text += "; ".join(notes) + "."
    report(text, args.out)
    return 0
