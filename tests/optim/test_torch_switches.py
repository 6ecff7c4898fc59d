"""torch.optim's implementation switches (foreach, fused, capturable, differentiable) are taken
where torch's signature has them, so torch code ports unchanged: they are kept in the param
groups as torch keeps them, change no number, and what torch refuses is refused."""
import pytest
import torch

import fusednn.optim as fo

# (class, the switches torch 2.13's signature has)
SIGNATURES = [
    ("SGD", {"foreach", "fused", "differentiable"}),
    ("Adagrad", {"foreach", "fused", "differentiable"}),
    ("RMSprop", {"foreach", "capturable", "differentiable"}),
    ("Adam", {"foreach", "fused", "capturable", "differentiable"}),
    ("AdamW", {"foreach", "fused", "capturable", "differentiable"}),
]
ALL = {"foreach", "fused", "capturable", "differentiable"}


def params():
    torch.manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]
    for p in ps:
        p.grad = torch.randn_like(p)
    return ps


@pytest.mark.parametrize("name,switches", SIGNATURES)
def test_switches_change_nothing_and_stay_in_the_groups(name, switches):
    plain, switched = params(), params()
    kwargs = {k: True for k in switches & {"foreach"}}
    a = getattr(fo, name)(plain, lr=0.1)
    b = getattr(fo, name)(switched, lr=0.1, **kwargs)
    for _ in range(3):
        a.step(), b.step()
    for x, y in zip(plain, switched):
        assert torch.equal(x, y)
    group = b.param_groups[0]
    assert {k for k in ALL if k in group} == switches
    assert group["foreach"] is True and group["differentiable"] is False
    # the groups load into torch's optimizer, and torch's into ours
    theirs = getattr(torch.optim, name)(params(), lr=0.1, foreach=True)
    theirs.load_state_dict(b.state_dict())
    b.load_state_dict(theirs.state_dict())


@pytest.mark.parametrize("name,switches", SIGNATURES)
def test_what_torch_refuses_is_refused(name, switches):
    cls = getattr(fo, name)
    for missing in sorted(ALL - switches):  # not in torch's signature either
        with pytest.raises(TypeError):
            cls(params(), **{missing: False})
        with pytest.raises(TypeError):
            getattr(torch.optim, name)(params(), **{missing: False})
    if "fused" in switches:
        with pytest.raises(RuntimeError, match="cannot be `True` together"):
            cls(params(), fused=True, foreach=True)
    with pytest.raises(NotImplementedError, match="differentiable"):
        cls(params(), differentiable=True)
    if "capturable" in switches:  # torch's capturable steps run on GPUs only
        with pytest.raises(ValueError, match="capturable"):
            cls(params(), capturable=True)
