"""Training epochs against a hand-written torch eager loop with the same layers, optimizer
(Adam), batch size and data: a digits MLP epoch and an MNIST-shaped CNN epoch.

fusednn runs ``Sequential.fit(epochs=1)`` (the user's path: shuffling, batching, autograd,
fused kernels, fused Adam); torch runs the textbook loop (``for xb, yb in batches:
zero_grad / forward / cross_entropy / backward / step``). The two alternate, after warm-up;
medians and their ratio are reported, with samples per second.
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from .harness import interleaved_medians, markdown_table, progress, report


def _torch_mlp(torch, widths):
    layers = []
    for i, o in zip(widths[:-2], widths[1:-1]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU(), torch.nn.Dropout(0.1)]
    layers.append(torch.nn.Linear(widths[-2], widths[-1]))
    return torch.nn.Sequential(*layers)


def _torch_mnist_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))


def _torch_epoch(torch, model, opt, x, y, batch_size, gen):
    model.train()
    order = torch.randperm(len(x), generator=gen)
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def case(torch, fusednn, name, ours, theirs, x, y, batch_size, repeats):
    ours.compile("adam", "cross_entropy", lr=1e-3)
    t_x, t_y = torch.from_numpy(x), torch.from_numpy(y)
    t_opt = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    t_ours, t_torch = interleaved_medians([
        lambda: ours.fit(x, y, epochs=1, batch_size=batch_size, verbose=0),
        lambda: _torch_epoch(torch, theirs, t_opt, t_x, t_y, batch_size, gen)], repeats, warmup=1)
    progress(f"  {name}: torch {t_torch * 1e3:.1f} ms, fusednn {t_ours * 1e3:.1f} ms per epoch")
    return [name, f"{len(x):,}", str(batch_size), f"{t_torch * 1e3:.1f}", f"{t_ours * 1e3:.1f}",
            f"{t_torch / t_ours:.2f}x", f"{len(x) / t_ours:,.0f}"]


def main(args) -> int:
    try:
        import torch
    except ImportError:
        progress("the train benchmark compares with PyTorch: pip install torch")
        return 2
    import fusednn
    from ..models import zoo

    if args.device == "cuda":
        progress("the train benchmark runs on the CPU here; GPU epochs: fusednn train --device cuda")
    repeats = args.repeats or (3 if args.quick else 7)
    fusednn.seed(0)
    torch.manual_seed(0)
    progress(f"training epochs; fusednn CPU path {_backend.kernel_path()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} threads)")
    rows = []
    try:
        x, y = fusednn.data.load_digits()
        x_tr, _, y_tr, _ = fusednn.data.train_test_split(x, y, 0.2, seed=0)
        rows.append(case(torch, fusednn, "digits MLP 64-256-128-10", zoo.mlp((64,), 10),
                         _torch_mlp(torch, (64, 256, 128, 10)), x_tr, y_tr, 64, repeats))
    except ImportError as e:
        progress(f"  digits MLP skipped: {e}")
    n = 512 if args.quick else 4096
    rng = np.random.default_rng(0)
    xi = rng.random((n, 1, 28, 28), dtype=np.float32)
    yi = rng.integers(0, 10, n)
    rows.append(case(torch, fusednn, "MNIST-shaped CNN (tutorial)", zoo.mnist_cnn(),
                     _torch_mnist_cnn(torch), xi, yi, 128, repeats))
    text = markdown_table(["case (one epoch, Adam)", "samples", "batch", "torch ms",
                           "fusednn ms", "speedup", "fusednn samples/s"], rows)
    text += (f"\n\nmedians of {repeats} interleaved epochs; fusednn: Sequential.fit(epochs=1); "
             "torch: a hand-written eager loop with the same layers, optimizer and batch size.")
    report(text, args.out)
    return 0
