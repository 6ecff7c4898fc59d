"""conv_transpose2d and the Conv2DTranspose layers: torch's numbers (values and every gradient
against torch in float64), Keras's output sizes, and — for Keras's "same" — the adjoint of
fusednn.keras's Conv2D, whose "same" split is TensorFlow's."""
import numpy as np
import pytest

import fusednn
from fusednn import Tensor, keras, nn
from fusednn.nn import functional as F
from fusednn.nn.functional.conv import conv_geometry

torch = pytest.importorskip("torch")

rng = np.random.default_rng(11)


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# (input (N, C, H, W), weight (C, out, kh, kw), stride, padding, output_padding, dilation)
CASES = [
    ((2, 3, 5, 4), (3, 4, 3, 3), 1, 0, 0, 1),
    ((3, 5, 7, 6), (5, 2, 3, 2), 2, 1, 1, 1),
    ((1, 4, 4, 5), (4, 3, 2, 3), (2, 3), (0, 1), (1, 2), (1, 2)),
    ((2, 2, 3, 3), (2, 5, 3, 3), 1, 2, 0, 2),
    ((4, 6, 9, 9), (6, 7, 5, 5), 3, (2, 1), (2, 0), 1),
    ((2, 3, 6, 6), (3, 4, 1, 1), 2, 0, 1, 1),
    ((0, 3, 6, 6), (3, 4, 3, 3), 2, 0, 1, 1),
]


@pytest.mark.parametrize("xs,ws,stride,padding,output_padding,dilation", CASES)
def test_conv_transpose2d_matches_torch_in_float64(xs, ws, stride, padding, output_padding,
                                                   dilation):
    x, w, b = rand(*xs), rand(*ws), rand(ws[1])
    args = (stride, padding, output_padding, 1, dilation)
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, *args)
    g = rand(*ty.shape)
    ty.backward(torch.tensor(g, dtype=torch.float64))
    ox, ow, ob = (Tensor(a, requires_grad=True) for a in (x, w, b))
    oy = F.conv_transpose2d(ox, ow, ob, *args)
    oy.backward(g)
    for ours, theirs, what in [(oy, ty, "output"), (ox.grad, tx.grad, "input gradient"),
                               (ow.grad, tw.grad, "weight gradient"),
                               (ob.grad, tb.grad, "bias gradient")]:
        ref = theirs.detach().numpy()
        assert ours.shape == ref.shape, what
        scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
        np.testing.assert_allclose(ours.numpy(), ref, rtol=2e-5, atol=2e-5 * scale,
                                   err_msg=what)


def test_conv_transpose2d_without_bias_and_without_an_input_gradient():
    x, w = rand(2, 3, 4, 4), rand(3, 2, 3, 3)
    ow = Tensor(w, requires_grad=True)
    y = F.conv_transpose2d(Tensor(x), ow, stride=2)
    y.sum().backward()
    tw = torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv_transpose2d(torch.tensor(x), tw, stride=2).sum().backward()
    np.testing.assert_allclose(ow.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call,error,match", [
    (lambda x, w: F.conv_transpose2d(x, w, groups=7), ValueError, "groups=7"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=2), ValueError,
     "smaller than the stride"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=1, output_padding=1, dilation=2),
     NotImplementedError, "at or above the stride"),
    (lambda x, w: F.conv_transpose2d(x, w, padding="same"), ValueError, "int or a pair"),
    (lambda x, w: F.conv_transpose2d(x, Tensor(rand(4, 2, 3, 3))), ValueError,
     "3 channels"),
    (lambda x, w: F.conv_transpose2d(x, w, Tensor(rand(3))), ValueError, "bias of shape"),
    (lambda x, w: F.conv_transpose2d(x, w, padding=4), ValueError, "output would be"),
    (lambda x, w: F.conv_transpose2d(Tensor(rand(2, 3, 4, 4).astype(np.float64)), w),
     TypeError, "float32"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(Tensor(rand(2, 3, 4, 4)), Tensor(rand(3, 2, 3, 3)))


def test_the_kernel_binding_refuses_a_missing_input_it_would_need():
    cpu = fusednn._cpu
    g = conv_geometry((2, 2, 5, 5), (3, 3), 1, 0, 1, "t")[0]
    w, dy = rand(4, 2, 3, 3), rand(2, 4, 3, 3)
    with pytest.raises(ValueError, match="x: required for dw"):
        cpu.conv2d_backward(None, w, dy, None, None, None, rand(4, 2, 3, 3), None, g,
                            cpu.Act.identity)
    with pytest.raises(ValueError, match="dz: required"):
        cpu.conv2d_backward(rand(2, 2, 5, 5), w, dy, dy, None, rand(2, 2, 5, 5), None, None, g,
                            cpu.Act.relu)


def test_the_layer_is_torchs_conv_transpose_then_its_activation():
    layer = nn.Conv2DTranspose(5, (3, 2), strides=2, padding=1, output_padding=1,
                               activation="relu")
    x = rand(2, 3, 6, 5)
    y = layer(Tensor(x))
    assert layer.weight.shape == (3, 5, 3, 2)
    t = torch.nn.ConvTranspose2d(3, 5, (3, 2), stride=2, padding=1, output_padding=1)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.weight.numpy()))
        t.bias.copy_(torch.tensor(layer.bias.numpy()))
    np.testing.assert_allclose(y.numpy(), torch.relu(t(torch.tensor(x))).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    channels_last = nn.Conv2DTranspose(4, 3, strides=2, data_format="channels_last")
    assert channels_last(Tensor(rand(2, 5, 5, 3))).shape == (2, 11, 11, 4)
    with pytest.raises(ValueError, match="padding must be one of"):
        nn.Conv2DTranspose(4, 3, padding="same")


def test_a_model_with_it_trains_saves_and_loads(tmp_path):
    """An upsampling decoder: Conv2D -> MaxPool2D -> Conv2DTranspose -> MaxPool2D (the conv
    then the pool for the transposed one: no fused kernel) -> Flatten -> Dense."""
    fusednn.seed(0)
    model = fusednn.Sequential([
        nn.Conv2D(4, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
        nn.Conv2DTranspose(3, 2, strides=2, activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
        nn.Dense(2)])
    x = rand(32, 1, 8, 8)
    y = (x.reshape(32, -1).mean(axis=1) > 0).astype(np.int64)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", lr=1e-2)
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    pooled = model.layers[3](model.layers[2](model.layers[1](model.layers[0](Tensor(x)))))
    by_layer = model.layers[5](model.layers[4](pooled)).numpy()
    np.testing.assert_allclose(model.predict(x), by_layer, rtol=1e-5, atol=1e-6)
    from fusednn.models.loading import load_model

    again = load_model(model.save(str(tmp_path / "m.fdnn")))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.layers[2].get_config()["output_padding"] == 0


def keras_size(n, k, stride, padding, output_padding, dilation=1):
    """Keras's output side of a transposed conv (its compute_conv_transpose_output_shape)."""
    k = (k - 1) * dilation + 1
    if output_padding is None:
        return n * stride + max(k - stride, 0) if padding == "valid" else n * stride
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * stride + k - 2 * pad + output_padding


KERAS_CASES = [(5, 3, 2, "same", None, 1), (5, 3, 2, "valid", None, 1),
               (5, 2, 3, "valid", None, 1), (5, 4, 2, "same", None, 1), (4, 3, 2, "same", 1, 1),
               (4, 3, 2, "valid", 1, 1), (6, 5, 1, "same", None, 1), (5, 1, 3, "same", None, 1),
               (7, 4, 3, "same", None, 1), (6, 3, 1, "same", None, 2), (6, 2, 2, "same", 1, 1)]


@pytest.mark.parametrize("n,k,stride,padding,output_padding,dilation", KERAS_CASES)
def test_keras_layer_sizes_and_the_adjoint_of_keras_conv2d(n, k, stride, padding,
                                                          output_padding, dilation):
    """<T(x), y> = <x, C(y)> with C fusednn.keras's Conv2D (TensorFlow's "same" split) on
    the same kernel: the transposed conv is aligned as TensorFlow's."""
    t = keras.layers.Conv2DTranspose(4, k, strides=stride, padding=padding,
                                     output_padding=output_padding, dilation_rate=dilation,
                                     use_bias=False)
    x = rand(2, n, n, 3)
    tx = t(x).numpy()
    size = keras_size(n, k, stride, padding, output_padding, dilation)
    assert tx.shape == (2, size, size, 4)
    kernel = t.get_weights()[0]
    assert kernel.shape == (k, k, 4, 3)  # (kh, kw, filters, in_channels), Keras's layout
    conv = keras.layers.Conv2D(3, k, strides=stride, padding=padding, dilation_rate=dilation,
                               use_bias=False)
    y = rand(2, size, size, 4)
    conv(y)
    conv.set_weights([kernel])  # Conv2D's (kh, kw, in, out): the same array
    cy = conv(y).numpy()
    assert cy.shape == x.shape
    lhs = float((tx.astype(np.float64) * y).sum())
    rhs = float((x.astype(np.float64) * cy).sum())
    assert lhs == pytest.approx(rhs, rel=1e-5, abs=1e-4)


def test_keras_layer_valid_padding_is_torchs_with_keras_output_padding():
    t = keras.layers.Conv2DTranspose(2, 2, strides=3, data_format="channels_first")
    x = rand(2, 3, 4, 5)
    y = t(x).numpy()
    kernel, bias = t.get_weights()
    tw = torch.tensor(kernel.transpose(3, 2, 0, 1).copy())  # -> (in, out, kh, kw)
    ref = torch.nn.functional.conv_transpose2d(torch.tensor(x), tw, torch.tensor(bias), 3,
                                               output_padding=1)  # max(k - s, 0) vs s - k
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-5)


def test_keras_layer_weights_config_and_bad_output_padding():
    t = keras.layers.Conv2DTranspose(3, (3, 2), strides=2, padding="same", output_padding=1,
                                     activation="relu", name="up")
    x = rand(1, 4, 4, 2)
    y = t(x).numpy()
    config = t.get_config()
    assert config["output_padding"] == [1, 1] and config["padding"] == "same"
    again = keras.layers.Conv2DTranspose.from_config(config)
    again(x)
    again.set_weights(t.get_weights())
    np.testing.assert_array_equal(again(x).numpy(), y)
    assert (y >= 0).all()
    with pytest.raises(ValueError, match="smaller than the strides"):
        keras.layers.Conv2DTranspose(3, 3, strides=2, output_padding=2)(x)
    with pytest.raises(ValueError, match="does not take back"):
        keras.layers.Conv2DTranspose(3, 2, strides=2, padding="same", output_padding=0)(x)
