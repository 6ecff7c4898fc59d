"""The grouped and 1-D transposed convolutions, torch's element-wise losses and nll_loss,
and Keras's attention and normalization layers and several-output models on the GPU: the
CPU's results to float32 rounding, forward and gradients."""
import numpy as np
import pytest

import fusednn.keras as keras
from fusednn import Tensor
from fusednn.nn import functional as F

from .test_nn_gpu import rand, same_on_both

cupy = pytest.importorskip("cupy")


@pytest.mark.parametrize("groups,xs,ws,padding", [(2, (2, 4, 7, 6), (6, 2, 3, 3), 1),
                                                   (8, (2, 8, 9, 9), (16, 1, 3, 3), "same")])
def test_grouped_conv2d(groups, xs, ws, padding):
    same_on_both(lambda x, w, b: F.conv2d(x, w, b, 1, padding, 1, groups, activation="relu"),
                 [rand(*xs), rand(*ws, scale=0.3), rand(ws[0])])


def test_grouped_conv_transpose1d():
    same_on_both(lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2),
                 [rand(2, 4, 9), rand(4, 3, 3, scale=0.3), rand(6)])


@pytest.mark.parametrize("loss", [
    lambda x, t: F.l1_loss(x, t), lambda x, t: F.huber_loss(x, t, delta=0.5),
    lambda x, t: F.smooth_l1_loss(x, t, beta=0.7),
    lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid(), reduction="sum"),
    lambda x, t: F.kl_div(x.log_softmax(dim=-1), t.softmax(dim=-1), reduction="batchmean"),
])
def test_elementwise_losses(loss):
    same_on_both(loss, [rand(6, 5), rand(6, 5)])


def test_nll_loss_with_device_targets():
    labels = np.random.default_rng(2).integers(0, 5, 9)
    labels[3] = -100
    same_on_both(lambda x: F.nll_loss(
        x.log_softmax(dim=1), Tensor(cupy.asarray(labels)) if x.device == "cuda" else labels,
        weight=np.linspace(0.5, 1.5, 5).astype(np.float32)), [rand(9, 5)])


def _layer_on_both(make, inputs, **call):
    """A Keras layer built on the CPU and its copy moved to the GPU: the same outputs."""
    keras.utils.set_random_seed(0)
    on_cpu = make()
    ours = on_cpu(*inputs, **call)
    keras.utils.set_random_seed(0)
    on_gpu = make()
    on_gpu(*inputs, **call)
    on_gpu.set_weights(on_cpu.get_weights())
    on_gpu.to("cuda")
    theirs = on_gpu(*[Tensor(cupy.asarray(a)) for a in inputs], **call)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                    theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_allclose(b.cpu().numpy(), a.numpy(), rtol=1e-4, atol=1e-5)


def test_keras_attention_and_normalization_layers():
    q, v = rand(2, 5, 8), rand(2, 7, 8)
    mask = np.tril(np.ones((5, 7), bool))[None].repeat(2, 0)
    _layer_on_both(lambda: keras.layers.MultiHeadAttention(2, 4), (q, v),
                   attention_mask=mask, return_attention_scores=True)
    _layer_on_both(lambda: keras.layers.GroupNormalization(groups=4), (q,))
    _layer_on_both(lambda: keras.layers.DepthwiseConv2D(3, depth_multiplier=2),
                   (rand(2, 6, 6, 3),))


def test_a_several_output_model_trains_on_the_gpu():
    keras.utils.set_random_seed(1)
    inp = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    model = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="c")(h),
                              keras.layers.Dense(1, name="r")(h)])
    model.to("cuda")
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"],
                                                                              None])
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = [rng.integers(0, 3, 64), rng.standard_normal(64)]
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert {"loss", "c_loss", "r_loss", "c_accuracy"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert [p.shape for p in model.predict(x, verbose=0)] == [(64, 3), (64, 1)]
