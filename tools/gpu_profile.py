"""Where fusednn's GPU time goes, case by case: the host time of a call, the time until the
device is done, and torch.profiler's table of the kernels it launched (self device time), for
the cases the GPU benchmarks find slow. Run by tools/gpu-check.sh after the benchmarks; alone:

    python tools/gpu_profile.py            # needs a GPU, a CUDA build of torch, CuPy

Each case runs fusednn's side only (the benchmarks compare with torch), after warm-up, TF32 off
as in the benchmarks.
"""
from __future__ import annotations

import sys
import time

import numpy as np


def profile_case(torch, title, fn, calls=5):
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    queued = time.perf_counter()
    torch.cuda.synchronize()
    done = time.perf_counter()
    print(f"\n### {title}\n\nhost {(queued - start) / calls * 1e3:.3f} ms per call, device done "
          f"after {(done - start) / calls * 1e3:.3f} ms per call (mean of {calls})\n")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    averages = prof.key_averages()
    for key in ("self_device_time_total", "self_cuda_time_total"):  # the name moved in torch
        try:
            print(averages.table(sort_by=key, row_limit=12, max_name_column_width=60))
            return
        except (AttributeError, KeyError, ValueError):
            continue


def main() -> int:
    try:
        import cupy  # noqa: F401
        import torch
    except ImportError as e:
        print(f"gpu_profile: needs torch and CuPy ({e})")
        return 2
    import fusednn
    from fusednn import _backend, optim
    from fusednn.bench import nn as bench_nn
    from fusednn.bench import rnn as bench_rnn

    if not (torch.cuda.is_available() and _backend.gpu_available()):
        print("gpu_profile: needs a GPU, a CUDA build of torch and fusednn._cuda")
        return 2
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    def ours_only(title):
        """A benchmark timer that profiles fusednn's callable (the second) instead."""
        def timer(fns):
            profile_case(torch, title, fns[1])
            return 1.0, 1.0
        return timer

    for name, n, c, h, w, out_c, k, pad, grad in bench_nn.CONV_CASES[:2]:
        bench_nn.conv_case(torch, fusednn, "cuda", n, c, h, w, out_c, k, pad, grad,
                           ours_only(f"{name} fwd+bwd"))
    bench_nn.xent_case(torch, fusednn, "cuda", 4096, 1000, ours_only("softmax-CE 4096x1000"))
    bench_rnn.rnn_case(torch, fusednn, "cuda", "lstm", 64, 50, 64, 128,
                       ours_only("LSTM B64 T50 I64 H128 fwd+bwd"))

    rng = np.random.default_rng(0)
    params = [torch.nn.Parameter(torch.from_numpy(rng.standard_normal(5000, np.float32)).cuda())
              for _ in range(200)]
    for p in params:
        p.grad = torch.randn_like(p)
    for label, nonfinite in (("", "ignore"), (", checked", "raise")):
        opt = optim.Adam(params, lr=1e-3, nonfinite=nonfinite)
        profile_case(torch, f"Adam step, 1M params in 200 tensors{label}", opt.step, calls=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
