"""Keras's DepthwiseConv2D and SeparableConv2D: outputs and every weight's gradient against
torch's grouped convolutions on Keras's kernels, Keras's kernel layouts, fans, parameter
counts and configs, and a model holding them saved and loaded."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _depthwise_torch(x, kernel, bias, stride, padding, dilation):
    """Keras's depthwise conv on channels-last x with its (kh, kw, in, multiplier) kernel."""
    kh, kw, c, m = kernel.shape
    w = kernel.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)  # output channel c * m + j
    y = TF.conv2d(x.permute(0, 3, 1, 2), w, bias, stride, padding, dilation, groups=c)
    return y.permute(0, 2, 3, 1)


def _grads(layer, x, r):
    """The layer's output and its weights' gradients (Keras's layouts) for sum(out * r)."""
    out = layer(fusednn.Tensor(x), training=True)
    (out * fusednn.Tensor(r)).sum().backward()
    grads = [p.grad.numpy() for p in layer.parameters()]
    return out.numpy(), grads


@pytest.mark.parametrize("multiplier,stride,padding,dilation", [
    (1, 1, "valid", 1), (2, 1, "same", 1), (3, 2, "valid", 1), (1, 1, "same", 2)])
def test_depthwise_conv2d_matches_torch(multiplier, stride, padding, dilation):
    keras.utils.set_random_seed(multiplier)
    layer = keras.layers.DepthwiseConv2D(3, strides=stride, padding=padding,
                                         depth_multiplier=multiplier, dilation_rate=dilation,
                                         activation="tanh")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 3, multiplier) and bias.shape == (3 * multiplier,)
    tk = torch.tensor(kernel.astype(np.float64), requires_grad=True)
    tb = torch.tensor(bias.astype(np.float64), requires_grad=True)
    pad = dilation if padding == "same" else 0
    ref = torch.tanh(_depthwise_torch(torch.tensor(x, dtype=torch.float64), tk, tb, stride, pad,
                                      dilation))
    r = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out, (g_weight, g_bias) = _grads(layer, x, r)
    (ref * torch.tensor(r, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    # the weight is kept as (in, multiplier, kh, kw): Keras's kernel transposed
    np.testing.assert_allclose(g_weight.transpose(2, 3, 0, 1), tk.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(g_bias, tb.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_separable_conv2d_matches_torch():
    keras.utils.set_random_seed(3)
    layer = keras.layers.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2,
                                         activation="relu")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    layer(x)
    depthwise, pointwise, bias = layer.get_weights()
    assert (depthwise.shape, pointwise.shape, bias.shape) == ((3, 3, 3, 2), (1, 1, 6, 5), (5,))
    tk, tp, tb = (torch.tensor(a.astype(np.float64), requires_grad=True)
                  for a in (depthwise, pointwise, bias))
    # Keras's "same" with stride 2 on 8 columns pads 0 before and 1 after
    xt = TF.pad(torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2), (0, 1, 0, 1))
    mid = _depthwise_torch(xt.permute(0, 2, 3, 1), tk, None, 2, 0, 1)
    ref = torch.relu(mid @ tp[0, 0] + tb)
    r = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out, grads = _grads(layer, x, r)
    (ref * torch.tensor(r, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads[0].transpose(2, 3, 0, 1), tk.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(grads[1].transpose(2, 3, 1, 0), tp.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(grads[2], tb.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_glorot_fans_are_kerass():
    keras.utils.set_random_seed(0)
    layer = keras.layers.DepthwiseConv2D(5, depth_multiplier=4)
    layer(np.zeros((1, 9, 9, 16), np.float32))
    kernel = layer.get_weights()[0]
    # Keras's fans of a (5, 5, 16, 4) kernel: 25 * 16 in, 25 * 4 out
    limit = np.sqrt(6.0 / (25 * 16 + 25 * 4))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit


def test_configs_counts_and_a_saved_model(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
        keras.layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(2)])
    # 3*3*3*2 + 6*4 + 4, then 3*3*4*2 + 8, then the Dense's (3*3*8)*2 + 2
    assert model.count_params() == 82 + 80 + 146
    x = np.random.default_rng(2).standard_normal((4, 8, 8, 3)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((4, 2)), epochs=2, verbose=0)
    path = str(tmp_path / "m.fdn")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    depthwise = model.layers[1]
    config = depthwise.get_config()
    assert config["depth_multiplier"] == 2 and "depthwise_initializer" in config
    assert "filters" not in config and "kernel_initializer" not in config
    again = keras.layers.DepthwiseConv2D.from_config(config)
    assert again.depth_multiplier == 2
    separable = keras.layers.SeparableConv2D.from_config(model.layers[0].get_config())
    assert separable(x).shape == (4, 8, 8, 4)
    assert model.layers[0].depthwise_kernel.shape == (3, 3, 3, 2)
    assert model.layers[0].pointwise_kernel.shape == (1, 1, 6, 4)


def test_constraints_see_kerass_kernel_axes():
    layer = keras.layers.DepthwiseConv2D(
        3, depth_multiplier=2, depthwise_constraint=keras.constraints.MaxNorm(0.5, axis=[0, 1]))
    layer(np.zeros((1, 5, 5, 3), np.float32))
    kernel = np.random.default_rng(4).standard_normal((3, 3, 3, 2)).astype(np.float32)
    layer.set_weights([kernel, np.zeros(6, np.float32)])
    for p, new in layer.constrained_values():
        p.data[...] = new
    norms = np.sqrt((layer.get_weights()[0] ** 2).sum(axis=(0, 1)))  # one per (in, multiplier)
    np.testing.assert_allclose(norms, np.minimum(np.sqrt((kernel ** 2).sum(axis=(0, 1))), 0.5),
                               rtol=1e-5)
