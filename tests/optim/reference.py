"""Float64 numpy reference of every optimizer, written from torch.optim's documented math.

State is a dict per tensor; ``step`` is the 1-based step being taken. ``scale`` is the global
clip coefficient (1 when not clipping).
"""
import numpy as np


def clip_scale(grads, max_grad_norm):
    if max_grad_norm is None:
        return 1.0
    norm = np.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads))
    return min(1.0, max_grad_norm / (norm + 1e-6))


def _grad(p, g, scale, maximize=False, weight_decay=0.0, l1=0.0):
    d = g * scale
    if maximize:
        d = -d
    if weight_decay:
        d = d + weight_decay * p
    if l1:
        d = d + l1 * np.sign(p)
    return d


def sgd(p, g, st, step, scale, lr, momentum=0.0, dampening=0.0, nesterov=False,
        weight_decay=0.0, maximize=False, l1=0.0):
    d = _grad(p, g, scale, maximize, weight_decay, l1)
    if momentum:
        buf = st.get("momentum_buffer")
        buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
        st["momentum_buffer"] = buf
        d = d + momentum * buf if nesterov else buf
    return p - lr * d


def adagrad(p, g, st, step, scale, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
            initial_accumulator_value=0.0, eps=1e-10, maximize=False, l1=0.0):
    d = _grad(p, g, scale, maximize, weight_decay, l1)
    s = st.get("sum", np.full_like(p, initial_accumulator_value)) + d * d
    st["sum"] = s
    clr = lr / (1 + (step - 1) * lr_decay)
    return p - clr * d / (np.sqrt(s) + eps)


def rmsprop(p, g, st, step, scale, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
            momentum=0.0, centered=False, maximize=False, l1=0.0):
    d = _grad(p, g, scale, maximize, weight_decay, l1)
    sq = alpha * st.get("square_avg", np.zeros_like(p)) + (1 - alpha) * d * d
    st["square_avg"] = sq
    if centered:
        ga = alpha * st.get("grad_avg", np.zeros_like(p)) + (1 - alpha) * d
        st["grad_avg"] = ga
        avg = np.sqrt(np.maximum(sq - ga * ga, 0.0)) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * st.get("momentum_buffer", np.zeros_like(p)) + d / avg
        st["momentum_buffer"] = buf
        return p - lr * buf
    return p - lr * d / avg


def adam(p, g, st, step, scale, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
         amsgrad=False, maximize=False, decoupled_weight_decay=False, l1=0.0):
    b1, b2 = betas
    d = _grad(p, g, scale, maximize, 0.0 if decoupled_weight_decay else weight_decay, l1)
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    m = b1 * st.get("exp_avg", np.zeros_like(p)) + (1 - b1) * d
    v = b2 * st.get("exp_avg_sq", np.zeros_like(p)) + (1 - b2) * d * d
    st["exp_avg"], st["exp_avg_sq"] = m, v
    if amsgrad:
        v = np.maximum(st.get("max_exp_avg_sq", np.zeros_like(p)), v)
        st["max_exp_avg_sq"] = v
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps
    return p - lr / (1 - b1 ** step) * m / denom


def adamw(p, g, st, step, scale, weight_decay=1e-2, **kw):
    return adam(p, g, st, step, scale, weight_decay=weight_decay, decoupled_weight_decay=True,
                **kw)


STEPS = {"sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam, "adamw": adamw}
