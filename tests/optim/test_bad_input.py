"""Bad input raises TypeError/ValueError naming the argument, and nothing is updated."""
import re

import numpy as np
import pytest

from fusednn import optim
from fusednn.optim import functional as F

torch = pytest.importorskip("torch")


@pytest.fixture(params=["exchange table", "capsule"])
def torch_read(request):
    """Torch tensors read through DLPack's exchange table (where torch has one) and through an
    exported capsule: both ways must see the same arrays and refuse the same ones."""
    from fusednn import _cpu

    had = _cpu._use_torch_exchange_api(request.param == "exchange table")
    if request.param == "exchange table" and not _cpu._use_torch_exchange_api(True):
        pytest.skip(f"torch {torch.__version__} has no DLPack exchange table")
    yield request.param
    _cpu._use_torch_exchange_api(had)


def adam_args(n=(5, 9, 4)):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(k).astype(np.float32) for k in n]
    grads = [rng.standard_normal(k).astype(np.float32) for k in n]
    return params, grads, [np.zeros(k, np.float32) for k in n], [np.zeros(k, np.float32) for k in n]


def assert_untouched(params, before):
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p, b)


@pytest.mark.parametrize("which,index,make,error,match", [
    ("params", 0, lambda a: a.astype(np.int64), TypeError, r"params\[0\]: expected float32"),
    ("params", 1, lambda a: a.astype(np.float64), TypeError,
     r"params\[1\]: is float64 but params\[0\] is float32"),
    ("grads", 2, lambda a: a.astype(np.int32), TypeError, r"grads\[2\]: expected float32"),
    ("grads", 1, lambda a: np.repeat(a, 2)[::2], ValueError, r"grads\[1\]: must be C-contiguous"),
    ("params", 2, lambda a: np.frombuffer(a.tobytes(), np.float32), ValueError,
     r"params\[2\]: is read-only"),
    ("exp_avgs", 1, lambda a: a.astype(np.float16), TypeError, r"exp_avgs\[1\]: expected float32"),
    ("grads", 2, lambda a: np.zeros(len(a) + 1, np.float32), ValueError,
     r"grads\[2\]: shape \(5,\) does not match params\[2\] shape \(4,\)"),
    ("grads", 0, lambda a: a.tolist(), TypeError, r"grads\[0\]: expected a numpy.ndarray"),
    ("exp_avg_sqs", 0, lambda a: np.zeros((5, 1), np.float32), ValueError, r"exp_avg_sqs\[0\]"),
])
def test_bad_arrays_are_named_and_nothing_moves(which, index, make, error, match):
    params, grads, m, v = adam_args()
    lists = {"params": params, "grads": grads, "exp_avgs": m, "exp_avg_sqs": v}
    before = [p.copy() for p in params]
    lists[which][index] = make(lists[which][index])
    with pytest.raises(error, match=match):
        F.adam_(lists["params"], lists["grads"], lists["exp_avgs"], lists["exp_avg_sqs"], step=1)
    assert_untouched([p for p in lists["params"] if p.dtype == np.float32 and p.size],
                     [b for b, p in zip(before, lists["params"]) if p.dtype == np.float32])


def test_read_only_gradients_are_fine():
    params, grads, m, v = adam_args()
    for g in grads:
        g.setflags(write=False)
    assert F.adam_(params, grads, m, v, step=1).applied


def test_param_aliasing_its_gradient_is_refused():
    params, grads, m, v = adam_args()
    grads[1] = params[1]
    before = [p.copy() for p in params]
    with pytest.raises(ValueError, match=r"params\[1\] and grads\[1\] share memory"):
        F.adam_(params, grads, m, v, step=1, nonfinite="ignore")
    assert_untouched(params, before)


def test_overlapping_views_are_refused():
    buf = np.zeros(20, np.float32)
    p, s = buf[:10], buf[5:15]
    with pytest.raises(ValueError, match="share memory"):
        F.adagrad_(p, np.ones(10, np.float32), s, step=1)


def test_state_aliasing_another_parameter_is_refused():
    params, grads, m, v = adam_args()
    m[2] = params[2]
    with pytest.raises(ValueError, match=r"params\[2\] and exp_avgs\[2\] share memory"):
        F.adam_(params, grads, m, v, step=1)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(lr=-1e-3), ValueError, "lr must be >= 0"),
    (dict(lr=float("nan")), ValueError, "lr must be finite"),
    (dict(lr="0.1"), TypeError, "lr must be a real number"),
    (dict(eps=-1.0), ValueError, "eps must be >= 0"),
    (dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be < 1.0"),
    (dict(betas=0.9), ValueError, "betas must be a pair"),
    (dict(weight_decay=float("inf")), ValueError, "weight_decay must be finite"),
    (dict(step=0), ValueError, "step must be an integer >= 1"),
    (dict(max_grad_norm=0.0), ValueError, "max_grad_norm must be > 0"),
    (dict(nonfinite="warn"), ValueError, "nonfinite must be one of"),
    (dict(amsgrad=True), ValueError, "max_exp_avg_sqs are required"),
    (dict(bogus=1), TypeError, "bogus"),
])
def test_bad_hyperparameters_are_named(kwargs, error, match):
    params, grads, m, v = adam_args()
    before = [p.copy() for p in params]
    kwargs = {"step": 1, **kwargs}
    with pytest.raises(error, match=match):
        F.adam_(params, grads, m, v, **kwargs)
    assert_untouched(params, before)


@pytest.mark.parametrize("fn,kwargs,match", [
    (F.sgd_, dict(lr=0.1, momentum=0.9, nesterov=True, dampening=0.1), "Nesterov momentum requires a momentum and zero dampening"),
    (F.sgd_, dict(lr=0.1, momentum=0.9), "momentum_buffers are required"),
    (F.rmsprop_, dict(centered=True), "grad_avgs are required"),
    (F.rmsprop_, dict(alpha=1.5), "alpha must be <= 1.0"),
])
def test_option_combinations_are_checked(fn, kwargs, match):
    p, g, s = np.ones(3, np.float32), np.ones(3, np.float32), np.zeros(3, np.float32)
    args = (p, g) if fn is F.sgd_ else (p, g, s)
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


def test_list_length_mismatch_is_named():
    params, grads, m, v = adam_args()
    with pytest.raises(ValueError, match="grads has 2 entries but params has 3"):
        F.adam_(params, grads[:2], m, v, step=1)
    with pytest.raises(ValueError, match="exp_avg_sqs has 2 entries"):
        F.adam_(params, grads, m, v[:2], step=1)


def test_torch_tensors_on_another_device_or_dtype_are_refused(torch_read):
    p = torch.zeros(4)
    with pytest.raises(ValueError, match=r"grads\[0\]: is on meta"):
        F.sgd_([p], [torch.zeros(4, device="meta")], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: is float64 but params\[0\] is float32"):
        F.sgd_([p], [torch.zeros(4, dtype=torch.float64)], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: expected torch.float32"):
        F.sgd_([p], [torch.zeros(4, dtype=torch.int64)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\]: must be contiguous"):
        F.sgd_([torch.zeros(4, 4).t()], [torch.zeros(4, 4)], lr=0.1)
    with pytest.raises(TypeError, match="sparse"):
        F.sgd_([p], [torch.zeros(4).to_sparse()], lr=0.1)


def test_optimizer_classes_check_their_options():
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentun'"):
        optim.SGD([p], lr=0.1, momentun=0.9)
    with pytest.raises(TypeError, match=r"unknown option\(s\) for Adam: \['bettas'\]"):
        optim.Adam([{"params": [p], "bettas": (0.9, 0.9)}])
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="params must be an iterable"):
        optim.Adam(p)
    with pytest.raises(TypeError, match=r"params\[0\]: expected torch.float32"):
        optim.Adam([torch.zeros(3, dtype=torch.int64)])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="nonfinite must be one of"):
        optim.Adam([p], nonfinite="maybe")


def test_numpy_parameters_need_their_gradients_passed():
    opt = optim.Adam([np.zeros(3, np.float32)])
    with pytest.raises(ValueError, match=r"pass step\(grads=\[...\]\)"):
        opt.step()
    with pytest.raises(ValueError, match="got 2 grads for 1 params"):
        opt.step(grads=[np.zeros(3, np.float32)] * 2)


def test_a_bad_gradient_in_one_group_updates_no_group():
    a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = torch.ones(3)
    b.grad = torch.ones(3, 2)[:, 0]  # not contiguous
    with pytest.raises(ValueError, match=r"param_groups\[1\].grads\[0\]: must be contiguous"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(3))


def test_empty_and_zero_size_inputs():
    assert F.sgd_([], [], lr=0.1).applied
    e = np.zeros(0, np.float32)
    assert F.adam_(e, e.copy(), e.copy(), e.copy(), step=1).applied


def test_torch_tensors_with_the_neg_bit_are_refused_and_nothing_moves(torch_read):
    # DLPack carries no neg bit: a lazily negated tensor read through it would be updated as
    # if it held the opposite values.
    x = torch.randn(4)
    negated = torch._neg_view(x).detach()  # not a view, yet negated
    assert negated.is_neg()
    p = torch.ones(4)
    with pytest.raises(ValueError, match=r"grads\[0\]: is a lazily negated view"):
        F.sgd_([p], [negated], lr=0.1)
    assert torch.equal(p, torch.ones(4))
    param = torch.nn.Parameter(torch.ones(4))
    param.data = torch._neg_view(torch.ones(4))
    param.grad = torch.ones(4)
    with pytest.raises(ValueError, match=r"params\[0\]: is a lazily negated view"):
        optim.SGD([param], lr=0.1).step()
    np.testing.assert_array_equal(param.detach().resolve_neg().numpy(), -np.ones(4))
    F.sgd_([p], [negated.resolve_neg()], lr=0.1)
    np.testing.assert_allclose(p.numpy(), 1 - 0.1 * (-x.numpy()), rtol=1e-6)


def test_torch_views_at_an_offset_are_updated_where_they_live(torch_read):
    rng = np.random.default_rng(3)
    flat = rng.standard_normal(23).astype(np.float32)
    grad = rng.standard_normal(23).astype(np.float32)
    p_torch, p_numpy = torch.from_numpy(flat.copy()), flat.copy()
    # 5 elements starting 7 in (odd offset, odd length) and a 2-D slice of whole rows
    F.sgd_([p_torch[7:12], p_torch[12:22].view(2, 5, 1)[1:]],
           [torch.from_numpy(grad[7:12]), torch.from_numpy(grad[17:22]).view(1, 5, 1)], lr=0.5)
    F.sgd_([p_numpy[7:12], p_numpy[12:22].reshape(2, 5, 1)[1:]],
           [grad[7:12], grad[17:22].reshape(1, 5, 1)], lr=0.5)
    np.testing.assert_array_equal(p_torch.numpy(), p_numpy)
    expected = flat.copy()
    expected[7:12] -= 0.5 * grad[7:12]
    expected[17:22] -= 0.5 * grad[17:22]
    np.testing.assert_allclose(p_numpy, expected, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_torch_tensors_without_storage_are_named(torch_read):
    p = torch.ones(4)
    with pytest.raises(ValueError, match=r"grads\[0\]: is on meta"):
        F.sgd_([p], [torch.empty(4, device="meta")], lr=0.1)
    nested = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])
    with pytest.raises(TypeError, match=r"grads\[0\]: nested tensors are not supported"):
        F.sgd_([p], [nested], lr=0.1)
    assert torch.equal(p, torch.ones(4))


def test_torch_tensors_are_read_through_the_exchange_table_where_torch_has_one():
    from fusednn import _cpu

    F.sgd_([torch.ones(2)], [torch.ones(2)], lr=0.1)  # the front has found torch by now
    has_table = hasattr(torch.Tensor, "__dlpack_c_exchange_api__")
    assert _cpu._use_torch_exchange_api(True) == has_table


@pytest.mark.parametrize("name,kwargs,torch_words", [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-1), "Invalid momentum value: -1"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    ("SGD", dict(lr=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    ("Adam", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adam", dict(betas=(1.0, 0.0)), "Invalid beta parameter at index 0: 1.0"),
    ("AdamW", dict(betas=(0.0, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("Adam", dict(lr=float("nan")), "Invalid learning rate: nan"),
    ("Adam", dict(lr=torch.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value: -1"),
])
def test_invalid_hyperparameters_are_worded_as_torch_words_them(name, kwargs, torch_words):
    """torch.optim's own words open the message (tests written against torch match them), the
    rule that was broken follows."""
    for library in (torch.optim, optim):
        with pytest.raises(ValueError, match=re.escape(torch_words)):
            getattr(library, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)


def test_a_one_element_tensor_lr_is_read_as_its_value():
    p = torch.nn.Parameter(torch.ones(2))
    opt = optim.SGD([p], lr=torch.tensor([0.5]))
    p.grad = torch.ones(2)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((2,), 0.5))
