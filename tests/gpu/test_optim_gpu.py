"""Fused optimizers on the GPU: trajectories against torch.optim on CUDA, the functional
kernels on CuPy against the CPU kernels, device-side clipping and non-finite skip, mixed
precision, lr/step on the device inside a CUDA graph, many tensors, and 64-bit indexing."""
import numpy as np
import pytest

from fusednn import optim
from fusednn.optim import functional as F

from ..optim.against_torch import (assert_matches_torch,
                                   assert_sgd_after_a_skipped_first_step_matches_torch,
                                   set_torch_grads, torch, torch_params)
from ..optim.problem import CONFIGS, Bowl, assert_close, config_id
@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_class_matches_torch_optim_on_cuda(config):
    assert_matches_torch(*config, device="cuda")


def test_functional_on_cupy_follows_the_cpu_kernels():
    cupy = pytest.importorskip("cupy")
    bowl = Bowl([1, 7, 4097, 100_003])
    cpu = [p.astype(np.float32) for p in bowl.start]
    gpu = [cupy.asarray(p) for p in cpu]
    cpu_m, cpu_v = [np.zeros_like(p) for p in cpu], [np.zeros_like(p) for p in cpu]
    gpu_m, gpu_v = [cupy.zeros_like(p) for p in gpu], [cupy.zeros_like(p) for p in gpu]
    for step in range(1, 101):
        g = bowl.grads(cpu, step)
        F.adam_(cpu, g, cpu_m, cpu_v, step=step, lr=0.01, max_grad_norm=5.0)
        g_gpu = [cupy.asarray(x) for x in bowl.grads([p.get() for p in gpu], step)]
        result = F.adam_(gpu, g_gpu, gpu_m, gpu_v, step=step, lr=0.01, max_grad_norm=5.0)
        assert result.applied
    for a, b in zip(gpu, cpu):
        assert_close(a.get(), b, "cupy adam")


@pytest.mark.parametrize("kernel", ["sgd", "adagrad", "rmsprop", "adam"])
def test_vector_and_element_paths_agree_bit_for_bit(kernel):
    """float32 tensors whose streams are all 16-byte aligned take 16-byte vector loads; one
    array 4 bytes off takes the element loop. Both run the same per-element math, so the
    results are the same bits, tails (sizes not a multiple of 4) included."""
    cupy = pytest.importorskip("cupy")
    sizes = [1, 3, 4097, 16384 * 2 + 5]
    rng = np.random.default_rng(3)
    host = [[rng.standard_normal(n).astype(np.float32) for n in sizes] for _ in range(4)]

    def arrays(offset):
        out = []
        for group in host:
            views = []
            for a in group:
                buf = cupy.empty(a.size + offset, np.float32)
                view = buf[offset:]
                view[...] = cupy.asarray(a)
                views.append(view)
            out.append(views)
        out[2] = [cupy.abs(v) for v in out[2]] if kernel != "adam" else out[2]
        out[3] = [cupy.abs(v) for v in out[3]]
        return out

    results = []
    for offset in (0, 1):
        p, g, s1, s2 = arrays(offset)
        for step in range(1, 4):
            if kernel == "sgd":
                F.sgd_(p, g, s1, lr=0.1, momentum=0.9, first_step=step == 1)
            elif kernel == "adagrad":
                F.adagrad_(p, g, s1, step=step, lr=0.1)
            elif kernel == "rmsprop":
                F.rmsprop_(p, g, s1, lr=0.01, momentum=0.9, momentum_buffers=s2)
            else:
                F.adam_(p, g, s1, s2, step=step, lr=0.01)
        results.append([x.get() for x in p + s1 + s2])
    assert any(int(x.data.ptr) % 16 for x in arrays(1)[0])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_nonfinite_skip_is_decided_on_the_device():
    bowl = Bowl([5, 4097])
    params = torch_params(bowl, "cuda")
    opt = optim.Adam(params, lr=0.01, nonfinite="skip", max_grad_norm=1.0)
    for step in range(1, 4):
        set_torch_grads(params, bowl, step)
        opt.step()
    before = [p.detach().clone() for p in params]
    state = {k: v.clone() for k, v in opt.state[params[1]].items()}
    set_torch_grads(params, bowl, 4)
    params[1].grad[7] = float("nan")
    opt.step()
    assert opt.skipped_steps == 1
    for a, b in zip(before, params):
        assert torch.equal(a, b.detach())
    for k, v in state.items():
        assert torch.equal(v, opt.state[params[1]][k]), k
    set_torch_grads(params, bowl, 4)
    opt.step()
    assert float(opt.state[params[1]]["step"]) == 4


def test_sgd_step_after_a_skipped_first_step_is_the_first_on_the_gpu():
    """The skip is decided on the device; each momentum buffer's device count of applied
    steps makes the next applied step the first."""
    assert_sgd_after_a_skipped_first_step_matches_torch("cuda")


def test_sgd_state_dict_keeps_torchs_layout_on_the_gpu():
    params = [torch.nn.Parameter(torch.ones(10, device="cuda"))]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad = torch.ones(10, device="cuda")
    opt.step()
    assert set(opt.state_dict()["state"][0]) == {"momentum_buffer"}
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.ones(10, device="cuda"))], lr=0.1,
                             momentum=0.9)
    theirs.load_state_dict(opt.state_dict())


def test_a_gpu_step_bumps_the_version_of_torch_parameters():
    """The launch tells autograd the parameters changed in place, as torch's fused step does:
    a graph that saved them refuses to backpropagate afterwards."""
    w = torch.nn.Parameter(torch.ones(8, device="cuda"))
    opt = optim.Adam([w], lr=0.1)
    y = (w * w).sum()
    w.grad = torch.ones(8, device="cuda")
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    p = torch.ones(8, device="cuda")
    before = p._version
    F.sgd_([p], [torch.ones(8, device="cuda")], lr=0.1)
    assert p._version > before
    torch.testing.assert_close(p, torch.full((8,), 0.9, device="cuda"))


def test_nonfinite_raise_on_the_gpu_changes_nothing_and_names_the_step():
    """The device skips the step; the host raises once it knows, naming the step (at the
    latest at check_nonfinite, which waits), and only once per skipped step."""
    params = [torch.nn.Parameter(torch.ones(100, device="cuda"))]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad = torch.ones(100, device="cuda")
    opt.step()
    after_one = params[0].detach().clone()
    params[0].grad = torch.full((100,), float("inf"), device="cuda")
    opt.step()
    with pytest.raises(optim.NonFiniteGradError, match="at step 2 of this optimizer"):
        opt.check_nonfinite()
    assert torch.equal(params[0].detach(), after_one)
    opt.check_nonfinite()  # reported once
    assert opt.skipped_steps == 1


def test_a_raising_step_does_not_wait_for_the_gpu():
    """nonfinite="raise" reads nothing back during the step: with the stream busy for a long
    while, step() returns and the stream is still busy; the next step, once the copy of the
    control block has landed, raises for the non-finite one."""
    params = [torch.nn.Parameter(torch.ones(1000, device="cuda"))]
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = torch.full((1000,), float("nan"), device="cuda")
    stream = torch.cuda.current_stream()
    torch.cuda._sleep(2_000_000_000)  # about a second of GPU clocks
    opt.step()
    assert not stream.query(), "the step waited for the GPU"
    stream.synchronize()
    params[0].grad = torch.ones(1000, device="cuda")
    with pytest.raises(optim.NonFiniteGradError, match="at step 1 "):
        opt.step()
    assert torch.equal(params[0].detach(), torch.ones(1000, device="cuda"))


def test_fused_clipping_matches_clip_grad_norm_on_cuda():
    bowl = Bowl([3, 4097, 1000])
    ours_p, theirs_p = torch_params(bowl, "cuda"), torch_params(bowl, "cuda")
    ours = optim.Adam(ours_p, lr=0.01, max_grad_norm=2.0)
    theirs = torch.optim.Adam(theirs_p, lr=0.01)
    for step in range(1, 51):
        set_torch_grads(ours_p, bowl, step)
        set_torch_grads(theirs_p, bowl, step)
        ours.step()
        norm = torch.nn.utils.clip_grad_norm_(theirs_p, 2.0)
        theirs.step()
        assert ours.last_grad_norm == pytest.approx(float(norm), rel=1e-5)
    for a, b in zip(ours_p, theirs_p):
        assert_close(a.detach().cpu().numpy(), b.detach().cpu().numpy(), "clipped adam")


@pytest.mark.parametrize("dtype,eps", [(torch.float16, 2.0**-10), (torch.bfloat16, 2.0**-7)])
def test_half_precision_params_keep_float32_state(dtype, eps):
    bowl = Bowl([7, 4097])
    low, full = torch_params(bowl, "cuda", dtype), torch_params(bowl, "cuda")
    start = [p.detach().clone() for p in low]
    steps, lr = 20, 1e-3
    opt_low = optim.AdamW(low, lr=lr)
    opt_full = optim.AdamW(full, lr=lr)
    for step in range(1, steps + 1):
        set_torch_grads(full, bowl, step)
        for lp, fp in zip(low, full):
            lp.grad = fp.grad.to(dtype)
        opt_low.step()
        opt_full.step()
    assert opt_low.state[low[1]]["exp_avg"].dtype == torch.float32
    assert any(not torch.equal(a, b.detach()) for a, b in zip(start, low))
    for lp, fp in zip(low, full):
        # A low-precision parameter can at worst lose every update (each at most ~lr in
        # Adam) to rounding, plus its own rounding at the end and at the start.
        bound = 1.05 * steps * lr + 2 * eps * fp.detach().abs().max().item()
        diff = (lp.detach().float() - fp.detach()).abs().max().item()
        assert diff <= bound, (diff, bound)


def test_lr_and_step_on_the_device_replay_in_a_cuda_graph():
    n = 10_000
    gen = torch.Generator(device="cuda").manual_seed(0)
    p_eager = torch.randn(n, device="cuda", generator=gen)
    g = torch.randn(n, device="cuda", generator=gen)
    p_graph = p_eager.clone()
    m1, v1, m2, v2 = (torch.zeros(n, device="cuda") for _ in range(4))
    for step in range(1, 6):
        F.adam_(p_eager, g, m1, v1, step=step, lr=1e-2, nonfinite="ignore")
    lr = torch.full((1,), 1e-2, device="cuda")
    step_dev = torch.ones(1, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        F.adam_(p_graph, g, m2, v2, step=step_dev, lr=lr, nonfinite="ignore")
    for step in range(1, 6):
        step_dev.fill_(step)
        graph.replay()
    torch.cuda.synchronize()
    assert torch.allclose(p_graph, p_eager, rtol=1e-6, atol=1e-7)


def test_a_whole_optimizer_step_is_captured_in_a_cuda_graph():
    """Optimizer.step of the class with clipping and nonfinite="skip" makes no host
    synchronization: it captures in a CUDA graph whose replays follow the eager steps, the
    device-side skip of a NaN step included."""
    bowl = Bowl([5, 4097, 300])
    eager_p, graph_p = torch_params(bowl, "cuda"), torch_params(bowl, "cuda")
    make = lambda params: optim.Adam(params, lr=0.01, nonfinite="skip", max_grad_norm=1.0)
    eager, graphed = make(eager_p), make(graph_p)
    static_grads = [torch.zeros_like(p) for p in graph_p]
    for p, g in zip(graph_p, static_grads):
        p.grad = g

    def set_grads(step, bad=False):
        host = [p.detach().cpu().numpy() for p in eager_p]
        for p, static, g in zip(eager_p, static_grads, bowl.grads(host, step)):
            t = torch.from_numpy(g).to("cuda", torch.float32)
            if bad:
                t.view(-1)[0] = float("nan")
            p.grad = t
            static.copy_(t)

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # the state is made by eager steps, outside the capture
        for step in (1, 2):
            set_grads(step)
            eager.step()
            graphed.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        graphed.step()
    for step in range(3, 9):
        set_grads(step, bad=step == 5)
        eager.step()
        graph.replay()
    torch.cuda.synchronize()
    assert eager.skipped_steps == 1 and graphed.skipped_steps == 1
    for a, b in zip(eager_p, graph_p):
        torch.testing.assert_close(b.detach(), a.detach(), rtol=1e-6, atol=1e-7)
    assert float(graphed.state[graph_p[1]]["step"]) == 7


def test_many_tensors_with_empty_ones_and_whole_chunks_clip_as_torch():
    """Over 32 tensors (more than one launch), empty ones and sizes that are exact multiples of
    the 16K-element chunk among them: the fused global norm and clipped Adam follow
    clip_grad_norm_ and torch's Adam."""
    chunk = 16384
    sizes = [0, chunk, 1, 0, 2 * chunk, 5, chunk - 1, chunk + 1, 3 * chunk, 0] * 4 + [7, 0]
    rng = np.random.default_rng(4)
    start = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    ours_p = [torch.nn.Parameter(torch.from_numpy(a).cuda()) for a in start]
    theirs_p = [torch.nn.Parameter(torch.from_numpy(a).cuda()) for a in start]
    ours = optim.Adam(ours_p, lr=0.01, max_grad_norm=1.0)
    theirs = torch.optim.Adam(theirs_p, lr=0.01)
    for step in range(3):
        for a, b in zip(ours_p, theirs_p):
            g = torch.from_numpy(rng.standard_normal(a.numel()).astype(np.float32)).cuda()
            a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        norm = torch.nn.utils.clip_grad_norm_(theirs_p, 1.0)
        theirs.step()
        assert abs(ours.last_grad_norm - float(norm)) <= 1e-5 * float(norm)
        assert float(norm) > 1.0  # clipping is in play
    for a, b in zip(ours_p, theirs_p):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)


def test_two_thousand_tensors_in_one_call():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 3000, 2000)
    params = [torch.from_numpy(rng.standard_normal(n).astype(np.float32)).cuda() for n in sizes]
    grads = [torch.from_numpy(rng.standard_normal(n).astype(np.float32)).cuda() for n in sizes]
    expected = [p - 0.1 * g for p, g in zip(params, grads)]
    F.sgd_(params, grads, lr=0.1)
    for p, e in zip(params, expected):
        assert torch.allclose(p, e, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_tensors_over_two_to_the_31_elements():
    n = 2**31 + 9
    p = torch.zeros(n, device="cuda")
    g = torch.ones(n, device="cuda")
    F.sgd_(p, g, lr=0.5, nonfinite="ignore")
    assert p[-16:].eq(-0.5).all() and p[:16].eq(-0.5).all() and p[2**31 - 3:2**31 + 3].eq(-0.5).all()
    assert p.eq(-0.5).all()


def test_arena_on_the_gpu_is_one_span_and_matches_torch():
    bowl = Bowl([5, 4097, 33, 100_000])
    ours_p, theirs_p = torch_params(bowl, "cuda"), torch_params(bowl, "cuda")
    arena = optim.Arena(ours_p)
    assert arena.param_buffer.is_cuda
    ours = optim.Adam(arena, lr=0.01, max_grad_norm=3.0)
    theirs = torch.optim.Adam(theirs_p, lr=0.01)
    for step in range(1, 31):
        ours.zero_grad()
        arrays = [p.detach().cpu().numpy() for p in ours_p]
        for p, g in zip(ours_p, bowl.grads(arrays, step)):
            p.grad += torch.from_numpy(g).cuda()
        set_torch_grads(theirs_p, bowl, step)
        ours.step()
        torch.nn.utils.clip_grad_norm_(theirs_p, 3.0)
        theirs.step()
    for a, b in zip(ours_p, theirs_p):
        assert_close(a.detach().cpu().numpy(), b.detach().cpu().numpy(), "arena adam on cuda")
    assert ours.state[ours_p[2]]["exp_avg"].data_ptr() != 0


def test_grad_norm_read_from_another_stream_waits_for_the_step():
    """A step queued on a busy side stream, its norm read from the default stream (and from
    the side one): the read waits for the step instead of copying the control block early."""
    p = torch.randn(1 << 20, device="cuda", requires_grad=True)
    p.grad = torch.randn_like(p)
    expected = float(torch.linalg.vector_norm(p.grad.double()))
    opt = optim.Adam([p], lr=1e-3, max_grad_norm=1e9)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(100_000_000)  # tens of milliseconds of GPU time before the step
        opt.step()
        result = F.adam_(
            [p.detach()], [p.grad], [torch.zeros_like(p)], [torch.zeros_like(p)], step=1,
            lr=1e-3, max_grad_norm=1e9)
    assert opt.last_grad_norm == pytest.approx(expected, rel=1e-5)
    assert result.grad_norm == pytest.approx(expected, rel=1e-5)
    with torch.cuda.stream(side):
        assert opt.last_grad_norm == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name,config", [
    ("SGD", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.1, clipnorm=0.5)),
    ("RMSprop", dict(learning_rate=0.01, weight_decay=0.3, clipvalue=0.05)),
    ("Adagrad", dict(learning_rate=0.1, weight_decay=0.2, clipnorm=0.2)),
])
def test_keras_decay_and_clipping_on_the_gpu_follow_the_cpu(name, config):
    """Keras's decoupled weight decay (in the fused kernels) and per-variable clipping (on the
    gradients' device) give the CPU's trajectory on CuPy arrays."""
    cupy = pytest.importorskip("cupy")
    from fusednn import keras

    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(4097).astype(np.float32)
    grads = [rng.standard_normal(4097).astype(np.float32) for _ in range(20)]
    from fusednn import Tensor

    cpu, gpu = Tensor(p0.copy()), Tensor(cupy.asarray(p0))
    cpu_opt = getattr(keras.optimizers, name)(**config).build_optimizer([cpu])
    gpu_opt = getattr(keras.optimizers, name)(**config).build_optimizer([gpu])
    for g in grads:
        cpu_opt.step(grads=[g])
        gpu_opt.step(grads=[cupy.asarray(g)])
    assert_close(gpu.cpu().numpy(), cpu.numpy(), f"keras {name} on the gpu")


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("Adam", dict(lr=0.05, amsgrad=True)),
                                          ("RMSprop", dict(lr=0.01, centered=True)),
                                          ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1))])
def test_complex_parameters_on_the_gpu_follow_torch(name, options):
    """complex64 CUDA parameters update as (re, im) pairs, as torch's single-tensor path."""
    g = torch.Generator(device="cuda").manual_seed(5)
    start = [torch.randn(33, 3, dtype=torch.complex64, device="cuda", generator=g)]
    grads = [torch.randn(33, 3, dtype=torch.complex64, device="cuda", generator=g)
             for _ in range(5)]
    ours = [torch.nn.Parameter(start[0].clone())]
    theirs = [torch.nn.Parameter(start[0].clone())]
    a = getattr(optim, name)(ours, **options)
    b = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for grad in grads:
        ours[0].grad, theirs[0].grad = grad.clone(), grad.clone()
        a.step()
        b.step()
    torch.testing.assert_close(ours[0].detach(), theirs[0].detach(), rtol=2e-5, atol=2e-6)
