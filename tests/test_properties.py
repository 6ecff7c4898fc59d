"""Property tests at every entry point that crosses into C++: generated shapes, dtypes,
strides, offsets, aliasing and values. Each call either succeeds with the float64 reference's
numbers or raises TypeError/ValueError having written nothing; none crashes.

Example counts are bounded so the suite stays fast (EXAMPLES per property)."""
import io
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fusednn  # noqa: E402
from fusednn import nn, ops  # noqa: E402
from fusednn.data import read_idx  # noqa: E402
from fusednn.nn import functional as F  # noqa: E402
from fusednn.optim import functional as OF  # noqa: E402

EXAMPLES = 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BAD = (TypeError, ValueError)


# ---- arrays as users hand them over ------------------------------------------------------------
@st.composite
def arrays(draw, n=None, dtypes=(np.float32,)):
    """A float array of n elements (or any small n), sometimes a strided view, an offset view,
    a non-native byte order, read-only, or misaligned."""
    n = draw(st.integers(0, 70)) if n is None else n
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    kind = draw(st.sampled_from(["plain", "plain", "plain", "strided", "offset", "swapped",
                                 "readonly", "misaligned", "2d"]))
    values = draw(st.lists(st.floats(-4, 4, width=32), min_size=n, max_size=n))
    base = np.array(values, dtype=dtype)
    if kind == "strided" and n > 1:
        big = np.zeros(2 * n, dtype)
        big[::2] = base
        return big[::2]
    if kind == "offset":
        big = np.zeros(n + 3, dtype)
        big[3:] = base
        return big[3:]
    if kind == "swapped":
        return base.astype(dtype.newbyteorder(">"))
    if kind == "readonly":
        base.setflags(write=False)
        return base
    if kind == "misaligned":
        raw = np.zeros(n * dtype.itemsize + 1, np.uint8)
        out = np.ndarray((n,), dtype, buffer=raw, offset=1)
        out[...] = base
        return out
    if kind == "2d" and n % 2 == 0 and n:
        return base.reshape(2, n // 2)
    return base


def _valid(a, n, writable, any_shape=False):
    """Whether the kernels must take ``a`` as a float32 array of shape (n,) (of n elements in
    any shape with ``any_shape``: elementwise kernels)."""
    return (isinstance(a, np.ndarray) and a.dtype == np.float32
            and (a.size == n if any_shape else a.shape == (n,))
            and a.flags.c_contiguous and a.flags.aligned and (a.flags.writeable or not writable))


def _adam_reference(p, g, m, v, step, lr, b1, b2, eps, wd):
    p, g, m, v = (x.astype(np.float64) for x in (p, g, m, v))
    g = g + wd * p
    m = m + (1 - b1) * (g - m)
    v = b2 * v + (1 - b2) * g * g
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps
    return p - lr / (1 - b1 ** step) * m / denom, m, v


@SETTINGS
@given(data=st.data(), n=st.integers(0, 70), step=st.integers(1, 50),
       lr=st.floats(0, 0.5), b1=st.floats(0, 0.99), wd=st.floats(0, 0.1),
       alias=st.sampled_from([None, "grad", "state", "overlap"]))
def test_adam_functional_is_right_or_refuses_and_writes_nothing(data, n, step, lr, b1, wd, alias):
    p = data.draw(arrays(n))
    g = data.draw(arrays(n))
    m = data.draw(arrays(n))
    v = np.abs(data.draw(arrays(n, (np.float32, np.float64))))  # a fresh array: writable
    if alias == "grad" and _valid(p, n, False):
        g = p
    elif alias == "state" and isinstance(p, np.ndarray) and p.flags.writeable:
        m = p
    elif alias == "overlap" and n > 2:
        buf = np.ones(2 * n, np.float32)
        p, m = buf[:n], buf[n - 2: 2 * n - 2]
    before = [np.array(x, copy=True) for x in (p, g, m, v)]
    # Aliases share bytes only when there are bytes: empty arrays touch no memory.
    shared = n > 0 and (g is p or m is p or (alias == "overlap" and n > 2))
    valid = (_valid(p, n, True) and _valid(g, n, False) and _valid(m, n, True)
             and _valid(v, n, True) and not shared)
    try:
        OF.adam_([p], [g], [m], [v], step=step, lr=lr, betas=(b1, 0.999), weight_decay=wd,
                 nonfinite="ignore")
    except BAD:
        assert not valid, "a valid call was refused"
        for x, b in zip((p, g, m, v), before):
            np.testing.assert_array_equal(np.asarray(x), b)
        return
    assert valid, "an invalid call was accepted"
    ref_p, ref_m, ref_v = _adam_reference(*before, step, lr, b1, 0.999, 1e-8, wd)
    np.testing.assert_allclose(m, ref_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, ref_v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p, ref_p, rtol=1e-4, atol=1e-5)


@SETTINGS
@given(data=st.data(), n=st.integers(0, 70), lr=st.floats(0, 1), momentum=st.floats(0, 0.99),
       groups=st.integers(1, 3))
def test_sgd_class_is_right_or_refuses_and_writes_nothing(data, n, lr, momentum, groups):
    params = [data.draw(arrays(n)) for _ in range(groups)]
    grads = [data.draw(arrays(n)) for _ in range(groups)]
    before = [np.array(x, copy=True) for x in params]
    try:
        opt = fusednn.optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)
    except BAD:
        assert not all(_valid(p, n, True) for p in params)
        return
    try:
        opt.step(grads=grads)
    except BAD:
        assert not all(_valid(g, n, False) and g.shape == p.shape
                       for p, g in zip(params, grads))
        for p, b in zip(params, before):
            np.testing.assert_array_equal(p, b)
        assert len(opt.state) == 0
        return
    for p, b, g in zip(params, before, grads):
        np.testing.assert_allclose(p, b.astype(np.float64) - lr * np.asarray(g, np.float64),
                                   rtol=1e-5, atol=1e-6)


@SETTINGS
@given(data=st.data(), n=st.integers(0, 300), p=st.floats(0, 1), seed=st.integers(0, 2 ** 64 - 1),
       out=st.sampled_from([None, "self", "fresh", "shifted"]))
def test_dropout_is_right_or_refuses_and_writes_nothing(data, n, p, seed, out):
    x = data.draw(arrays(n))
    before = np.array(x, copy=True)
    target = {"self": x, "fresh": np.empty_like(x), None: None}.get(out)
    if out == "shifted":
        buf = np.arange(n + 3, dtype=np.float32)
        x, target = buf[:n], buf[3:]
        before = np.array(x, copy=True)
    try:
        y = ops.dropout(x, p, seed=seed, out=target)
    except BAD:
        if out != "shifted" or n <= 3:
            assert not _valid(x, n, out == "self", any_shape=True)
        np.testing.assert_array_equal(x, before)
        return
    assert _valid(x, n, False, any_shape=True)  # elementwise: any shape
    # Each element is dropped (0) or scaled by the one factor 1 / (1 - p_eff).
    t = round(p * 65536)
    scale = 0.0 if t >= 65536 else 1.0 / (1.0 - t / 65536)
    kept = np.isclose(y, before * scale, rtol=1e-6, atol=1e-37)
    assert np.all(kept | (y == 0)), (y, before, scale)


@SETTINGS
@given(batch=st.integers(1, 5), n_in=st.integers(1, 9), n_out=st.integers(1, 9),
       act=st.sampled_from([None, "relu", "sigmoid", "tanh", "gelu", "leaky_relu"]),
       bias=st.booleans(), seed=st.integers(0, 1000))
def test_linear_forward_and_backward_follow_float64(batch, n_in, n_out, act, bias, seed):
    rng = np.random.default_rng(seed)
    x64, w64 = rng.standard_normal((batch, n_in)), rng.standard_normal((n_out, n_in))
    b64 = rng.standard_normal(n_out) if bias else None
    args32 = [fusednn.Tensor(a.astype(np.float32), requires_grad=True)
              for a in (x64, w64, b64) if a is not None]
    args64 = [fusednn.Tensor(a, requires_grad=True) for a in (x64, w64, b64) if a is not None]
    y32 = F.linear(*args32, activation=act) if bias else F.linear(*args32, activation=act)
    y64 = F.linear(*args64, activation=act)
    np.testing.assert_allclose(y32.numpy(), y64.numpy(), rtol=1e-4, atol=1e-5)
    y32.sum().backward()
    y64.sum().backward()
    for a, b in zip(args32, args64):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)


@SETTINGS
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       k=st.integers(1, 4), stride=st.integers(1, 3), pad=st.integers(0, 2),
       dilation=st.integers(1, 3), seed=st.integers(0, 1000))
def test_max_pool_never_touches_memory_outside_the_image(n, c, h, w, k, stride, pad, dilation,
                                                         seed):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)
    t = fusednn.Tensor(x, requires_grad=True)
    try:
        y = F.max_pool2d(t, k, stride=stride, padding=pad, dilation=dilation)
    except BAD:
        return
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, stride, pad, dilation)
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
    y.sum().backward()
    finite = np.isfinite(y.numpy()).sum()
    assert x.size == t.grad.numpy().size
    assert t.grad.numpy().sum() == pytest.approx(float(finite))


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(2, 37), w=st.integers(2, 37),
       avg=st.booleans(), nans=st.booleans(), seed=st.integers(0, 1000))
def test_one_pass_2x2_pooling_on_generated_planes(n, c, h, w, avg, nans, seed):
    """The 2x2 stride-2 kernels (every tail width, odd sizes, NaNs) against torch, the whole
    input gradient written; under the sanitizers, nothing outside the arrays touched."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    if nans:
        x.reshape(-1)[rng.integers(0, x.size, 3)] = np.nan
    t = fusednn.Tensor(x, requires_grad=True)
    ours, theirs = (F.avg_pool2d, torch.nn.functional.avg_pool2d) if avg else \
        (F.max_pool2d, torch.nn.functional.max_pool2d)
    y = ours(t, 2)
    tt = torch.from_numpy(x.copy()).requires_grad_()
    ref = theirs(tt, 2)
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    if nans:
        return  # torch's argmax among a NaN window's taps is its own
    g = rng.standard_normal(ref.shape).astype(np.float32)
    y.backward(g)
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-6, atol=1e-7)


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 4), h=st.integers(3, 20),
       w=st.integers(3, 20), k=st.integers(1, 3), pad=st.integers(0, 1),
       act=st.sampled_from([None, "relu", "tanh", "gelu"]), seed=st.integers(0, 1000))
def test_fused_conv_pool_on_generated_shapes(n, c, o, h, w, k, pad, act, seed):
    """conv2d_max_pool2d against the two layers' kernels: the same output and gradients."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c, k, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    grads = []
    for fused in (True, False):
        ts = [fusednn.Tensor(a, requires_grad=True) for a in (x, wt, b)]
        try:
            y = F.conv2d_max_pool2d(*ts, padding=pad, activation=act) if fused else \
                F.max_pool2d(F.conv2d(*ts, padding=pad, activation=act), 2)
        except BAD:
            return
        y.backward(np.linspace(-1, 1, y.numpy().size, dtype=np.float32).reshape(y.shape))
        grads.append([y.numpy()] + [t.grad.numpy() for t in ts])
    for a, b_ in zip(grads[0][:3], grads[1][:3]):
        np.testing.assert_array_equal(a, b_)
    np.testing.assert_allclose(grads[0][3], grads[1][3], rtol=1e-5, atol=1e-5)


@SETTINGS
@given(blob=st.binary(max_size=64), head=st.sampled_from([b"", b"\x00\x00\x08\x01",
                                                          b"\x00\x00\x0d\x02"]))
def test_read_idx_on_arbitrary_bytes_refuses_cleanly(tmp_path_factory, blob, head):
    path = tmp_path_factory.mktemp("idx") / "f-idx"
    path.write_bytes(head + blob)
    try:
        out = read_idx(path)
    except ValueError:
        return
    assert out.size * out.itemsize == len(head + blob) - 4 - 4 * (head + blob)[3]


def _model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.fdnn"
    fusednn.seed(0)
    model = fusednn.Sequential([nn.Dense(3)], input_shape=(2,))
    model.compile("sgd", "mse")
    model.save(str(path))
    return path.read_bytes()


@SETTINGS
@given(data=st.data())
def test_mutated_model_files_load_or_raise_model_file_error(tmp_path_factory, data):
    raw = bytearray(_model_file(tmp_path_factory))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    path = tmp_path_factory.mktemp("bad") / "m.fdnn"
    path.write_bytes(bytes(raw[:cut]))
    try:
        fusednn.load(str(path))
    except fusednn.ModelFileError:
        pass


@SETTINGS
@given(meta=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                         lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                            max_size=3),
                         max_leaves=12))
def test_arbitrary_json_in_a_model_file_raises_model_file_error(tmp_path_factory, meta):
    import json

    path = tmp_path_factory.mktemp("json") / "m.fdnn"
    npz = io.BytesIO()
    np.savez(npz)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.json", json.dumps(meta))
        z.writestr("arrays.npz", npz.getvalue())
    with pytest.raises(fusednn.ModelFileError):
        fusednn.load(str(path))


@SETTINGS
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 4), h=st.integers(1, 8),
       w=st.one_of(st.integers(1, 8), st.integers(12, 40)), k=st.integers(1, 4),
       stride=st.integers(1, 3), pad=st.integers(0, 2), dilation=st.integers(1, 2),
       seed=st.integers(0, 1000))
def test_conv2d_forward_and_backward_follow_torch_in_float64(n, c, o, h, w, k, stride, pad,
                                                             dilation, seed):
    """Widths on both sides of the lowering's switch (output rows under 16 wide go through
    index tables, wider ones row by row)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, wt, b = (rng.standard_normal(s) for s in ((n, c, h, w), (o, c, k, k), (o,)))
    args = [fusednn.Tensor(a.astype(np.float32), requires_grad=True) for a in (x, wt, b)]
    try:
        y = F.conv2d(*args, stride=stride, padding=pad, dilation=dilation)
    except BAD:
        assert (h + 2 * pad - dilation * (k - 1) - 1) < 0 or (w + 2 * pad - dilation * (k - 1) - 1) < 0
        return
    targs = [torch.tensor(a, requires_grad=True) for a in (x, wt, b)]
    ref = torch.nn.functional.conv2d(*targs, stride=stride, padding=pad, dilation=dilation)
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    y.sum().backward()
    ref.sum().backward()
    for a, t in zip(args, targs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)


@SETTINGS
@given(shape_a=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       shape_b=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       op=st.sampled_from(["add", "sub", "mul", "div"]), seed=st.integers(0, 1000))
def test_tensor_arithmetic_broadcasts_as_numpy_or_refuses(shape_a, shape_b, op, seed):
    rng = np.random.default_rng(seed)
    a = np.asarray(rng.standard_normal(shape_a) + 3, np.float64)  # () gives a Python float
    b = np.asarray(rng.standard_normal(shape_b) + 3, np.float64)
    ta, tb = fusednn.Tensor(a, requires_grad=True), fusednn.Tensor(b, requires_grad=True)
    fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    try:
        expected = fn(a, b)
    except ValueError:
        with pytest.raises(BAD):
            getattr(ta, f"__{op if op != 'div' else 'truediv'}__")(tb)
        return
    out = getattr(ta, f"__{op if op != 'div' else 'truediv'}__")(tb)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    out.sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.integers(1, 40), features=st.integers(1, 6), classes=st.integers(2, 4),
       batch=st.integers(1, 16), seed=st.integers(0, 100),
       poison=st.sampled_from([None, "nan", "label", "shape"]))
def test_fit_and_predict_train_or_refuse_on_generated_data(n, features, classes, batch, seed,
                                                           poison):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, classes, n)
    if poison == "nan":
        x[rng.integers(0, n)] = np.nan
    elif poison == "label":
        y[rng.integers(0, n)] = classes
    elif poison == "shape":
        y = y[:-1] if n > 1 else np.zeros(2, np.int64)
    fusednn.seed(seed)
    model = fusednn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(classes)],
                               input_shape=(features,))
    model.compile("adam", "cross_entropy", ["accuracy"])
    before = [p.numpy().copy() for p in model.parameters()]
    try:
        model.fit(x, y, epochs=2, batch_size=batch, verbose=0)
    except BAD:
        assert poison is not None
        for p, b in zip(model.parameters(), before):
            np.testing.assert_array_equal(p.numpy(), b)
        return
    assert poison is None
    out = model.predict(x)
    assert out.shape == (n, classes) and np.isfinite(out).all()


@SETTINGS
@given(cell=st.sampled_from(["lstm", "gru", "rnn_tanh", "rnn_relu"]), steps=st.integers(1, 5),
       batch=st.integers(1, 4), features=st.integers(1, 5), hidden=st.integers(1, 9),
       bidirectional=st.booleans(), with_lengths=st.booleans(), seed=st.integers(0, 1000))
def test_recurrent_layers_follow_the_float64_reference(cell, steps, batch, features, hidden,
                                                      bidirectional, with_lengths, seed):
    """The fused float32 kernels and the float64 composed equations agree on generated sizes
    and padding, forward and gradients (which exercises every step-mask pattern)."""
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3}.get(cell, 1)
    per = [(gates * hidden, features), (gates * hidden, hidden), (gates * hidden,),
           (gates * hidden,)]
    arrays_ = [rng.standard_normal((steps, batch, features))] + [
        rng.standard_normal(s) * 0.5 for s in per * (2 if bidirectional else 1)]
    lengths = rng.integers(1, steps + 1, batch) if with_lengths else None
    fn = getattr(F, cell)
    results = []
    for dtype in (np.float32, np.float64):
        ts = [fusednn.Tensor(a.astype(dtype), requires_grad=True) for a in arrays_]
        out = fn(ts[0], None, ts[1:], bidirectional=bidirectional, lengths=lengths)[0]
        (out * fusednn.Tensor(np.cos(np.arange(out.numpy().size)).reshape(out.shape)
                              .astype(dtype))).sum().backward()
        results.append([out.numpy()] + [t.grad.numpy() for t in ts])
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(ref).max()))


@SETTINGS
@given(data=st.data())
def test_recurrent_binding_refuses_mismatched_or_aliased_arrays(data):
    """The raw kernels with one array of a wrong size, dtype or layout, or an output that
    aliases another argument: a ValueError or TypeError, nothing written, no crash."""
    from fusednn import _backend

    cpu = _backend.cpu_module()
    T, B, I, H, G = 3, 2, 4, 5, 4
    good = dict(x=(T, B, I), w_ih=(G * H, I), w_hh=(G * H, H), b_ih=(G * H,), b_hh=(G * H,),
                h0=(B, H), c0=(B, H), y=(T, B, H), h_n=(B, H), c_n=(B, H), gates=(T, B, G * H),
                aux=(T, B, H))
    arrays_ = {k: np.zeros(s, np.float32) for k, s in good.items()}
    victim = data.draw(st.sampled_from(sorted(good)))
    fault = data.draw(st.sampled_from(["shape", "dtype", "strided", "alias"]))
    shape = good[victim]
    if fault == "shape":
        arrays_[victim] = np.zeros(shape[:-1] + (shape[-1] + 1,), np.float32)
    elif fault == "dtype":
        arrays_[victim] = np.zeros(shape, np.float64)
    elif fault == "strided":
        arrays_[victim] = np.zeros(shape[:-1] + (2 * shape[-1],), np.float32)[..., ::2]
    else:
        written = ["y", "h_n", "c_n", "gates", "aux"]
        target = data.draw(st.sampled_from([k for k in written if k != victim]))
        if good[target] != shape:
            return
        arrays_[victim] = arrays_[target]
    before = {k: v.copy() for k, v in arrays_.items()}
    with pytest.raises(BAD):
        cpu.rnn_forward(cpu.RnnCell.lstm, arrays_["x"], arrays_["w_ih"], arrays_["w_hh"],
                        arrays_["b_ih"], arrays_["b_hh"], arrays_["h0"], arrays_["c0"], None,
                        False, arrays_["y"], arrays_["h_n"], arrays_["c_n"], arrays_["gates"],
                        arrays_["aux"])
    for k, v in arrays_.items():
        if v.dtype == np.float32 and v.shape == before[k].shape:
            np.testing.assert_array_equal(v, before[k])
