"""keras.ops' conv, depthwise_conv, max_pool, average_pool and batch_normalization: against
torch's convolutions and pools on Keras's kernel layouts (gradients included) and against
Keras's layers for "same" padding (TensorFlow's split)."""
import numpy as np
import pytest

from fusednn import Tensor, keras
from fusednn.keras import ops

torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(3)


def test_conv_matches_torch_with_groups_and_gradients():
    x = rng.standard_normal((2, 7, 6, 4))
    k = rng.standard_normal((3, 2, 2, 6))  # (kh, kw, in / groups, out): two groups
    xt, kt = Tensor(x.astype(np.float32), requires_grad=True), Tensor(
        k.astype(np.float32), requires_grad=True)
    y = ops.conv(xt, kt, strides=(2, 1), dilation_rate=1)
    tx, tk = torch.tensor(x, requires_grad=True), torch.tensor(k, requires_grad=True)
    ref = TF.conv2d(tx.permute(0, 3, 1, 2), tk.permute(3, 2, 0, 1), stride=(2, 1),
                    groups=2).permute(0, 2, 3, 1)
    r = rng.standard_normal(ref.shape)
    (y * Tensor(r.astype(np.float32))).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(kt.grad.numpy(), tk.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_same_padding_is_the_layers():
    x = rng.standard_normal((2, 7, 6, 4)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    layer = keras.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False)
    layer(x)
    layer.set_weights([kernel])
    np.testing.assert_array_equal(ops.conv(x, kernel, 2, "same").numpy(), layer(x).numpy())
    depthwise = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    layer = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)
    layer(x)
    layer.set_weights([depthwise])
    np.testing.assert_array_equal(ops.depthwise_conv(x, depthwise, 1, "same").numpy(),
                                  layer(x).numpy())
    np.testing.assert_array_equal(ops.max_pool(x, 3, 2, "same").numpy(),
                                  keras.layers.MaxPooling2D(3, 2, "same")(x).numpy())
    np.testing.assert_allclose(ops.average_pool(x, 3, 2, "same").numpy(),
                               keras.layers.AveragePooling2D(3, 2, "same")(x).numpy(),
                               rtol=1e-6)
    seq = rng.standard_normal((2, 9, 4)).astype(np.float32)
    np.testing.assert_allclose(ops.average_pool(seq, 3, 2, "same").numpy(),
                               keras.layers.AveragePooling1D(3, 2, "same")(seq).numpy(),
                               rtol=1e-6)
    kernel1 = rng.standard_normal((3, 4, 6)).astype(np.float32)
    layer = keras.layers.Conv1D(6, 3, padding="same", use_bias=False)
    layer(seq)
    layer.set_weights([kernel1])
    np.testing.assert_array_equal(ops.conv(seq, kernel1, 1, "same").numpy(),
                                  layer(seq).numpy())


def test_pools_match_torch_and_channels_first():
    x = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    np.testing.assert_allclose(
        ops.max_pool(x, (2, 3), (2, 2), data_format="channels_first").numpy(),
        TF.max_pool2d(torch.tensor(x), (2, 3), (2, 2)).numpy())
    np.testing.assert_allclose(
        ops.average_pool(x, 2, data_format="channels_first").numpy(),
        TF.avg_pool2d(torch.tensor(x), 2).numpy(), rtol=1e-6)


def test_batch_normalization_is_kerass_formula():
    x = rng.standard_normal((3, 4, 5))
    mean, variance = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    offset, scale = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    out = ops.batch_normalization(Tensor(x), mean, variance, axis=1, offset=offset,
                                  scale=scale, epsilon=1e-3)
    shape = (1, 4, 1)
    want = (x - mean.reshape(shape)) / np.sqrt(variance.reshape(shape) + 1e-3) * \
        scale.reshape(shape) + offset.reshape(shape)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6, atol=1e-6)


def test_bad_arguments_are_refused_by_name():
    x = np.zeros((2, 5, 5, 4), np.float32)
    with pytest.raises(ValueError, match="kernel of shape"):
        ops.conv(x, np.zeros((3, 3, 3, 2), np.float32))
    with pytest.raises(ValueError, match="padding must be"):
        ops.max_pool(x, 2, padding="full")
    with pytest.raises(NotImplementedError, match="spatial axes"):
        ops.max_pool(np.zeros((1, 2, 3, 4, 5), np.float32), 2)
    with pytest.raises(ValueError, match="strides"):
        ops.conv(x, np.zeros((3, 3, 4, 2), np.float32), strides=0)


@pytest.mark.parametrize("masking", [None, "mask", "causal", "bias"])
def test_dot_product_attention_matches_torch(masking):
    q, k, v = (rng.standard_normal(s) for s in ((2, 4, 3, 5), (2, 6, 3, 5), (2, 6, 3, 7)))
    kwargs, theirs = {}, {}
    if masking == "mask":
        m = rng.random((2, 3, 4, 6)) > 0.3
        m[..., 0] = True
        kwargs["mask"], theirs["attn_mask"] = m, torch.tensor(m)
    elif masking == "causal":
        kwargs["is_causal"] = theirs["is_causal"] = True
    elif masking == "bias":
        b = rng.standard_normal((1, 3, 4, 6))
        kwargs["bias"], theirs["attn_mask"] = Tensor(b), torch.tensor(b)  # float64 kept
    xs = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = ops.dot_product_attention(*xs, **kwargs)
    ref = TF.scaled_dot_product_attention(*(t.transpose(1, 2) for t in ts),
                                          **theirs).transpose(1, 2)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    r = rng.standard_normal(ref.shape)
    (out * Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_dot_product_attention_weighs_a_hidden_row_evenly():
    q = np.ones((1, 1, 1, 2))
    v = np.arange(6.0).reshape(1, 3, 1, 2)
    out = ops.dot_product_attention(q, np.zeros((1, 3, 1, 2)), v,
                                    mask=np.zeros((1, 1, 1, 3), bool))
    np.testing.assert_allclose(out.numpy(), v.mean(axis=1, keepdims=True), rtol=1e-6)
