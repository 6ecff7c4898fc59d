"""Run the same computation in fusednn and in torch (autograd in float32, and a float64
reference for the forward) and compare outputs and every input gradient."""
import numpy as np
import torch

import fusednn

RTOL = 1e-4


def rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def assert_close(ours, ref, what, rtol=RTOL, atol=None):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != {ref.shape}"
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    tol = atol if atol is not None else rtol * scale
    err = np.abs(ours - ref)
    worst = float(err.max()) if err.size else 0.0
    assert np.all(err <= tol + rtol * np.abs(ref)), f"{what}: max error {worst:.3g} > {tol:.3g}"


def compare(ours_fn, torch_fn, arrays, grads=True, seed=0, rtol=RTOL, f64=True):
    """ours_fn(*fusednn Tensors) and torch_fn(*torch tensors) on the same float32 arrays:
    forward against torch in float64, gradients of sum(out * r) against torch autograd in
    float32 and float64."""
    rng = np.random.default_rng(seed)
    xs = [fusednn.Tensor(a, requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    out = ours_fn(*xs)
    ts = [torch.tensor(a, requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    ref32 = torch_fn(*ts)
    if f64:
        t64 = [torch.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a) for a in arrays]
        ref64 = torch_fn(*t64)
        assert_close(out.numpy(), ref64.detach().numpy(), "forward vs float64", rtol)
    assert_close(out.numpy(), ref32.detach().numpy(), "forward vs torch float32", rtol)
    if not grads:
        return out
    r = rand(rng, *out.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref32 * torch.tensor(r)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.requires_grad:
            assert x.grad is not None, f"input {i} got no gradient"
            assert_close(x.grad.numpy(), t.grad.numpy(), f"grad of input {i}", rtol)
    return out


def finite_difference_check(fn, arrays, eps=1e-6, rtol=1e-6, seed=0):
    """Gradients of sum(fn(*xs) * r) in float64 against central differences."""
    rng = np.random.default_rng(seed)
    arrays = [a.astype(np.float64) for a in arrays]
    xs = [fusednn.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    r = rng.standard_normal(out.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    for i, a in enumerate(arrays):
        num = np.zeros_like(a)
        flat, gflat = a.reshape(-1), num.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            plus = float((fn(*[fusednn.Tensor(b) for b in arrays]).numpy() * r).sum())
            flat[k] = old - eps
            minus = float((fn(*[fusednn.Tensor(b) for b in arrays]).numpy() * r).sum())
            flat[k] = old
            gflat[k] = (plus - minus) / (2 * eps)
        got = xs[i].grad.numpy()
        assert np.allclose(got, num, rtol=rtol, atol=rtol * max(1.0, np.abs(num).max())), (
            f"input {i}: autograd {got.ravel()[:5]} vs finite differences {num.ravel()[:5]}")
