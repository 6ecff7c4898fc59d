"""Layers against torch.nn with the same weights, the module base, initializers,
regularizers, and a small network trained with a fused optimizer on fusednn Tensors."""
import numpy as np
import pytest
import torch

import fusednn
from fusednn import Tensor, nn
from tests.nn.against_torch import assert_close, rand

rng = np.random.default_rng(3)


def test_dense_matches_torch_linear(cpu_path):
    layer = nn.Dense(7, activation="tanh")
    x = rand(rng, 5, 11)
    y = layer(Tensor(x))
    ref = torch.nn.Linear(11, 7)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.numpy()))
        ref.bias.copy_(torch.tensor(rand(rng, 7)))
    layer.bias.data[...] = ref.bias.detach().numpy()
    y = layer(Tensor(x))
    assert_close(y.numpy(), torch.tanh(ref(torch.tensor(x))).detach().numpy(), "Dense")
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_conv_channels_last_equals_channels_first(cpu_path):
    x = rand(rng, 2, 9, 9, 3)  # N, H, W, C
    first = nn.Conv2D(4, 3, padding="same", activation="relu")
    last = nn.Conv2D(4, 3, padding="same", activation="relu", data_format="channels_last")
    y1 = first(Tensor(x.transpose(0, 3, 1, 2).copy()))
    last(Tensor(x))
    last.weight.data[...] = first.weight.data
    y2 = last(Tensor(x))
    assert y2.shape == (2, 9, 9, 4)
    np.testing.assert_allclose(y2.numpy(), y1.numpy().transpose(0, 2, 3, 1), rtol=1e-6)


def test_batchnorm_train_eval_and_state_dict():
    bn = nn.BatchNorm2D()
    x = Tensor(rand(rng, 4, 3, 5, 5) * 2 + 1)
    bn(x)
    assert not np.allclose(bn.running_mean, 0)
    state = bn.state_dict()
    assert set(state) == {"weight", "bias", "running_mean", "running_var"}
    bn.eval()
    y_eval = bn(x)
    other = nn.BatchNorm2D(3)
    other.load_state_dict(state)
    other.eval()
    np.testing.assert_allclose(other(x).numpy(), y_eval.numpy(), rtol=1e-6)


def test_initializers_have_the_right_spread():
    w = nn.init.he_normal((512, 256))
    assert abs(w.std() - np.sqrt(2 / 256)) < 0.01 * np.sqrt(2 / 256) * 5
    w = nn.init.glorot_uniform((300, 200))
    limit = np.sqrt(6 / 500)
    assert w.max() <= limit and w.min() >= -limit and w.max() > 0.9 * limit
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.init.get("lecun_banana")


def test_regularization_loss_and_its_gradient():
    layer = nn.Dense(3, kernel_regularizer=nn.L1L2(l1=0.1, l2=0.2), input_dim=4)
    w = layer.weight.numpy().astype(np.float64)
    penalty = layer.regularization_loss()
    assert np.isclose(penalty.item(), 0.1 * np.abs(w).sum() + 0.2 * (w * w).sum(), rtol=1e-5)
    penalty.backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), 0.1 * np.sign(w) + 0.4 * w, rtol=1e-5)


def test_a_layer_reachable_twice_is_trained_penalized_and_saved_once():
    """torch's rule: named_parameters and named_modules give each once, under its first
    name; an optimizer would otherwise update it twice per step and the penalty double."""
    shared = nn.Dense(3, kernel_regularizer=nn.L1L2(l2=0.5), input_dim=4)
    shared.build((None, 4))

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = shared, shared

    model = Twice()
    assert len(model.parameters()) == len(shared.parameters()) == 2
    assert [name for name, _ in model.named_modules()] == ["", "first."]
    assert sorted(model.state_dict()) == ["first.bias", "first.weight"]
    np.testing.assert_allclose(float(model.regularization_loss().data),
                               float(shared.regularization_loss().data), rtol=1e-6)


def test_layer_errors_name_the_layer():
    layer = nn.Dense(3, input_dim=4, name="hidden")
    with pytest.raises(ValueError, match="hidden: input of shape"):
        layer(Tensor(rand(rng, 2, 5)))
    conv = nn.Conv2D(2, 3, name="conv1")
    conv(Tensor(rand(rng, 1, 3, 6, 6)))
    with pytest.raises(ValueError, match="conv1: input has 2 channels"):
        conv(Tensor(rand(rng, 1, 2, 6, 6)))
    with pytest.raises(ValueError, match="rate must be"):
        nn.Dropout(1.5)


def test_layer_sizes_take_any_integer_and_refuse_the_rest():
    """numpy integers (sizes computed with numpy) are sizes, kept as ints (a config stays
    JSON); bools, floats and values below 1 are refused, naming the layer and argument."""
    import json

    layers = [nn.Dense(np.int64(3)), nn.Conv2D(np.int32(2), 3), nn.Conv1D(np.int64(2), np.int64(3)),
              nn.LSTM(np.int64(4)), nn.Embedding(np.int64(10), np.uint8(4))]
    for layer in layers:
        json.dumps(layer.get_config())
    assert type(layers[0].units) is int and type(layers[4].output_dim) is int
    for make, match in [(lambda: nn.Dense(True), "Dense: units"),
                        (lambda: nn.Dense(3.0), "Dense: units"),
                        (lambda: nn.Conv2D(0, 3), "Conv2D: filters"),
                        (lambda: nn.Conv1D(2, np.int64(-1)), "Conv1D: kernel_size"),
                        (lambda: nn.GRU(np.float32(4)), "GRU: units"),
                        (lambda: nn.Embedding(10, False), "Embedding: output_dim")]:
        with pytest.raises(ValueError, match=match + " must be a positive int"):
            make()


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(4, 3, padding=1, activation="relu")
        self.pool = nn.MaxPool2D(2)
        self.flat = nn.Flatten()
        self.bn = nn.BatchNorm1D()
        self.drop = nn.Dropout(0.1)
        self.out = nn.Dense(3)

    def forward(self, x):
        return self.out(self.drop(self.bn(self.flat(self.pool(self.conv(x))))))


def test_small_network_learns_with_fused_adam():
    fusednn.manual_seed(0)
    x = rand(rng, 48, 2, 6, 6)
    labels = (x[:, 0].mean(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 1, 0, 0] > 1)
    model = SmallCnn()
    model(Tensor(x[:2]))  # build
    opt = fusednn.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(Tensor(x)), labels)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    assert all(p.grad is not None for p in model.parameters())
