"""GPU timing for the benchmark suites: CUDA events around each call, after warm-up,
interleaved round-robin, medians (host clocks would time the launch, not the kernel)."""
from __future__ import annotations

import statistics


def cuda_event_medians(torch, fns, repeats: int, warmup: int = 3):
    """Median seconds of each callable on the current CUDA stream."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    torch.cuda.synchronize()
    events = [[] for _ in fns]
    order = list(range(len(fns)))
    for r in range(repeats):
        for i in (order if r % 2 == 0 else order[::-1]):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fns[i]()
            end.record()
            events[i].append((start, end))
    torch.cuda.synchronize()
    return [statistics.median(s.elapsed_time(e) for s, e in pairs) / 1e3 for pairs in events]
