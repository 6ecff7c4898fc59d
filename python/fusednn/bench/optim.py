"""Fused optimizers against torch.optim on the CPU.

Every optimizer runs against torch's fastest path for it (``fused=True`` where torch has a
fused CPU kernel, else ``foreach=True``), at 1M/10M/50M parameters split into 1, 10 and 200
tensors, interleaved, medians; float64 and bfloat16 parameters (rows "... f64", "... bf16")
against torch on the same type. fusednn runs with ``nonfinite="ignore"`` so both sides do the
same work; the "adam (checked)" row shows the default non-finite check, and "adam+clip"
compares fused global-norm clipping with ``clip_grad_norm_`` followed by fused Adam. For more
than one tensor the arena layout (one flat buffer) is timed too.

With ``--device cuda`` the same optimizers run on the GPU against torch's fused CUDA kernels
(foreach where torch has none), at 1M to 100M parameters in 1 to 2000 tensors (GPU_CASES), timed
with CUDA events; the roofline there is a device-to-device copy of the same bytes.

Bandwidth counts the bytes each update must move (reads + writes of every stream). The
roofline is an in-place streaming pass over the same number of bytes (``x.mul_(c)``: read and
write, like an optimizer's in-place update, with no write-allocate traffic), timed in the same
interleaved loop as the case itself, so both see the machine in the same state. A src->dst
copy, which also pays a write-allocate read of its destination, is reported for reference.
"""
from __future__ import annotations

import json

from .. import _backend, optim
from .harness import Row, copy_bandwidth, interleaved_medians, markdown_table, progress

# name: (fusednn class, torch class, options, bytes per element that fusednn moves: streams
# read + written, parameter type). float64 parameters keep float64 state; bfloat16 ones keep
# float32 state in fusednn and bfloat16 state in torch's fused kernel (torch moves fewer bytes).
SPECS = {
    "sgd": ("SGD", "SGD", dict(lr=1e-3, momentum=0.9), 20, "float32"),
    "adagrad": ("Adagrad", "Adagrad", dict(lr=1e-2), 20, "float32"),
    "rmsprop": ("RMSprop", "RMSprop", dict(lr=1e-3), 20, "float32"),
    "adam": ("Adam", "Adam", dict(lr=1e-3), 28, "float32"),
    "adamw": ("AdamW", "AdamW", dict(lr=1e-3), 28, "float32"),
    "adam (checked)": ("Adam", "Adam", dict(lr=1e-3), 32, "float32"),
    "adam+clip": ("Adam", "Adam", dict(lr=1e-3), 32, "float32"),
    "sgd f64": ("SGD", "SGD", dict(lr=1e-3, momentum=0.9), 40, "float64"),
    "adam f64": ("Adam", "Adam", dict(lr=1e-3), 56, "float64"),
    "sgd bf16": ("SGD", "SGD", dict(lr=1e-3, momentum=0.9), 14, "bfloat16"),
    "adam bf16": ("Adam", "Adam", dict(lr=1e-3), 22, "bfloat16"),
}
FULL_SIZES = [1_000_000, 10_000_000, 50_000_000]
# (parameters, tensors) on the GPU: small tensors (launch-bound), and large ones (HBM-bound)
GPU_CASES = [(1_000_000, 200), (10_000_000, 1), (10_000_000, 200), (100_000_000, 1),
             (100_000_000, 2000)]
QUICK_SIZES = [1_000_000]
TENSOR_COUNTS = [1, 10, 200]
QUICK_TENSOR_COUNTS = [1, 200]
CLIP = 1.0
# 1M parameters in 200 tensors, list layout: the per-step overhead goals (2x elsewhere)
LIST_LAYOUT_GOALS = {"adam": 3.0}


def torch_path(torch, cls_name, options, device="cpu", dtype="float32"):
    """'fused' when torch has a fused kernel for this optimizer on the device, else 'foreach'."""
    p = torch.nn.Parameter(torch.zeros(4, device=device, dtype=getattr(torch, dtype)))
    p.grad = torch.ones(4, device=device, dtype=p.dtype)
    try:
        getattr(torch.optim, cls_name)([p], fused=True, **options).step()
        return "fused"
    except (RuntimeError, TypeError, ValueError):
        return "foreach"


def make_params(torch, total, count, seed, device="cpu", dtype="float32"):
    gen = torch.Generator(device=device).manual_seed(seed)
    sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
    kind = getattr(torch, dtype)
    params = [torch.nn.Parameter(torch.randn(n, generator=gen, device=device).to(kind))
              for n in sizes]
    for p in params:
        p.grad = (torch.randn(p.shape, generator=gen, device=device) * 1e-2).to(kind)
    return params


def bench_case(torch, name, total, count, repeats, paths, device="cpu"):
    ours_cls, torch_cls, options, nbytes, dtype = SPECS[name]
    path = paths[name]
    theirs_p = make_params(torch, total, count, 1, device, dtype)
    ours_p = make_params(torch, total, count, 1, device, dtype)
    nonfinite = "raise" if name in ("adam (checked)", "adam+clip") else "ignore"
    max_grad_norm = CLIP if name == "adam+clip" else None
    make_ours = lambda params: getattr(optim, ours_cls)(
        params, max_grad_norm=max_grad_norm, nonfinite=nonfinite, **options)
    theirs = getattr(torch.optim, torch_cls)(theirs_p, **{path: True}, **options)
    ours = make_ours(ours_p)

    if name == "adam+clip":
        def torch_step():
            torch.nn.utils.clip_grad_norm_(theirs_p, CLIP, foreach=True)
            theirs.step()
    else:
        torch_step = theirs.step
    # The roofline: on the CPU an in-place stream, on the GPU a device-to-device copy, moving
    # as many bytes as the update must.
    elements = max(1, int(nbytes * total // 8))
    if device == "cpu":
        stream = torch.ones(elements)
        roofline = lambda: stream.mul_(0.999999)
    else:
        src, dst = torch.ones(elements, device=device), torch.empty(elements, device=device)
        roofline = lambda: dst.copy_(src)
    fns, labels = [torch_step, ours.step, roofline], ["torch", "list", "stream"]
    if count > 1 and device == "cpu" and dtype == "float32":  # arenas are float32
        arena_p = make_params(torch, total, count, 1)
        arena_opt = make_ours(optim.Arena(arena_p))
        fns.append(arena_opt.step)
        labels.append("arena")
    if device == "cpu":
        times = interleaved_medians(fns, repeats, warmup=3)
    else:
        from .gpu import cuda_event_medians

        times = cuda_event_medians(torch, fns, repeats)
    medians = dict(zip(labels, times))
    row = Row("optim", {"optimizer": name, "params": total, "tensors": count},
              f"torch {path}" + (" + clip_grad_norm_" if name == "adam+clip" else ""),
              medians["torch"], medians["list"], float(nbytes) * total)
    row.extra["stream_s"] = medians["stream"]
    if "arena" in medians:
        row.extra["arena_s"] = medians["arena"]
    return row


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else str(n)


def table(rows) -> str:
    headers = ["optimizer", "params", "tensors", "torch path", "torch ms", "fusednn ms",
               "speedup", "arena ms", "arena speedup", "GB/s", "% stream BW"]
    body = []
    for r in rows:
        best = min(r.fusednn_s, r.extra.get("arena_s", r.fusednn_s))
        arena = r.extra.get("arena_s")
        body.append([r.case["optimizer"], human(r.case["params"]), r.case["tensors"],
                     r.baseline, f"{r.baseline_s * 1e3:.3f}", f"{r.fusednn_s * 1e3:.3f}",
                     f"{r.speedup:.2f}x",
                     f"{arena * 1e3:.3f}" if arena else "-",
                     f"{r.baseline_s / arena:.2f}x" if arena else "-",
                     f"{r.bytes_moved / best / 1e9:.1f}",
                     f"{100 * r.extra['stream_s'] / best:.0f}%"])
    return markdown_table(headers, body)


def targets(rows):
    """(target, measured, met) for the goals this suite tracks, where its rows cover them."""
    find = lambda opt, n, k: next((r for r in rows if r.case == {
        "optimizer": opt, "params": n, "tensors": k}), None)
    out = []
    for opt in ("adam", "adamw", "sgd", "adagrad"):
        r = find(opt, 10_000_000, 1)
        if r:
            out.append((f"{opt} 10M params >= 1.0x torch", f"{r.speedup:.2f}x", r.speedup >= 1.0))
    for opt in ("adam", "adamw", "sgd", "adagrad"):
        r = find(opt, 1_000_000, 200)
        if r:
            arena = r.baseline_s / r.extra["arena_s"]
            goal = LIST_LAYOUT_GOALS.get(opt, 2.0)
            out.append((f"{opt} 200 small tensors (1M params) >= {goal:g}x torch, list layout",
                        f"{r.speedup:.2f}x", r.speedup >= goal))
            out.append((f"{opt} 200 small tensors (1M params) >= 2x torch, arena layout",
                        f"{arena:.2f}x", arena >= 2.0))
    r = find("rmsprop", 10_000_000, 1)
    if r:
        out.append(("rmsprop 10M >= 2x torch's fastest path", f"{r.speedup:.2f}x", r.speedup >= 2))
    r = find("adam+clip", 10_000_000, 1)
    if r:
        out.append(("clip + adam 10M >= 1.5x torch clip_grad_norm_ + fused adam",
                    f"{r.speedup:.2f}x", r.speedup >= 1.5))
    for opt in ("sgd f64", "adam f64", "sgd bf16", "adam bf16"):
        r = find(opt, 10_000_000, 1)
        if r:
            out.append((f"{opt} 10M >= 1.0x torch on the same parameter type",
                        f"{r.speedup:.2f}x", r.speedup >= 1.0))
    r = find("adam", 50_000_000, 1)
    if r:
        share = r.extra["stream_s"] / r.fusednn_s
        out.append(("adam 50M >= 70% of stream bandwidth", f"{100 * share:.0f}%", share >= 0.7))
    return out


def gpu_targets(rows):
    """(target, measured, met) for the GPU goals: the roofline there is a device-to-device copy
    of the bytes the update moves, timed in the same loop."""
    find = lambda opt, n, k: next((r for r in rows if r.case == {
        "optimizer": opt, "params": n, "tensors": k}), None)
    out = []
    for opt in ("adam", "adamw"):
        r = find(opt, 100_000_000, 1)
        if r:
            share = r.extra["stream_s"] / r.fusednn_s
            out.append((f"{opt} 100M fp32 >= 90% of D2D copy bandwidth", f"{100 * share:.0f}%",
                        share >= 0.9))
            out.append((f"{opt} 100M fp32 >= 1.2x torch fused", f"{r.speedup:.2f}x",
                        r.speedup >= 1.2))
    for opt in ("adam", "adamw", "sgd"):
        r = find(opt, 1_000_000, 200)
        if r:
            out.append((f"{opt} 200 small tensors (1M params) >= 1.5x torch fused",
                        f"{r.speedup:.2f}x", r.speedup >= 1.5))
    for opt in ("rmsprop", "adagrad"):
        for n, k in ((100_000_000, 1), (10_000_000, 200)):
            r = find(opt, n, k)
            if r:
                out.append((f"{opt} {human(n)} x{k} >= 3x torch {r.baseline.split()[-1]}",
                            f"{r.speedup:.2f}x", r.speedup >= 3.0))
    r = find("adam bf16", 100_000_000, 1)
    if r:
        out.append(("adam bf16 100M >= 1.2x torch fused", f"{r.speedup:.2f}x", r.speedup >= 1.2))
    return out


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the optim benchmark compares with PyTorch: pip install torch (CPU build)")
        return 2
    torch.manual_seed(0)
    names = list(SPECS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        progress(f"unknown optimizer(s) {unknown}; choose from {sorted(SPECS)}")
        return 2
    device = getattr(args, "device", "cpu")
    if device == "cuda":  # the GPU kernels take float32/float16/bfloat16 parameters
        names = [n for n in names if SPECS[n][4] != "float64"]
        if not (_backend.gpu_available() and torch.cuda.is_available()):
            progress("--device cuda needs a GPU, a CUDA build of torch and fusednn._cuda")
            return 2
        cases = [(n, k) for n in QUICK_SIZES for k in QUICK_TENSOR_COUNTS] if args.quick \
            else GPU_CASES
    else:
        cases = [(n, k) for n in (QUICK_SIZES if args.quick else FULL_SIZES)
                 for k in (QUICK_TENSOR_COUNTS if args.quick else TENSOR_COUNTS)]
    repeats = args.repeats or (5 if args.quick else 11)

    copy = copy_bandwidth(8 * 1024 * 1024 if args.quick else 32 * 1024 * 1024)
    paths = {n: torch_path(torch, SPECS[n][1], SPECS[n][2], device, SPECS[n][4]) for n in names}
    progress(f"fusednn CPU path {_backend.kernel_path()}, torch {torch.__version__} with "
             f"{torch.get_num_threads()} threads; src->dst copy "
             f"{copy['bytes_per_s'] / 1e9:.1f} GB/s ({copy['by']})")
    rows = []
    for total, count in cases:
        for name in names:
            reps = repeats if total < 50_000_000 or device == "cuda" else max(5, repeats // 2)
            row = bench_case(torch, name, total, count, reps, paths, device)
            rows.append(row)
            progress(f"  {name:15s} {human(total):>4s} x{count:<4d} torch "
                     f"{row.baseline_s * 1e3:8.3f} ms  fusednn {row.fusednn_s * 1e3:8.3f} ms"
                     f"  {row.speedup:5.2f}x")
    text = table(rows)
    goals = gpu_targets(rows) if device == "cuda" else targets(rows)
    if goals:
        text += "\n\n" + markdown_table(["target", "measured", "met"],
                                        [[t, m, "yes" if ok else "NO"] for t, m, ok in goals])
    text += (f"\n\nfusednn CPU path {_backend.kernel_path()}, {_backend.cpu_module().num_threads()}"
             f" threads; torch {torch.__version__}; medians of {repeats} interleaved runs. "
             f"% stream BW: achieved bytes/s over an in-place stream of the same size timed in the"
             f" same loop. For reference, a src->dst copy ran at "
             f"{copy['bytes_per_s'] / 1e9:.1f} GB/s ({copy['by']}, STREAM byte counting).")
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            if args.out.endswith(".json"):
                json.dump({"copy_bytes_per_s": copy["bytes_per_s"], "rows": [
                    {**r.case, "baseline": r.baseline, "baseline_s": r.baseline_s,
                     "fusednn_s": r.fusednn_s, **r.extra} for r in rows]}, f, indent=2)
            else:
                f.write(text + "\n")
    return 0
