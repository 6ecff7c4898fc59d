"""Grouped convolutions (torch's ``groups``): conv2d, conv1d and conv_transpose2d against
torch with every gradient, the layers that take ``groups`` (fusednn.nn and Keras's Conv2D /
Conv1D, whose grouped kernel is (kh, kw, in / groups, filters)), and the errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
import fusednn.keras as keras
import fusednn.nn as nn
import fusednn.nn.functional as F

from .against_torch import compare, rand

CONV2D = [  # groups, input (N, C, H, W), weight (out, in/groups, kh, kw), stride, padding, dilation
    (2, (2, 4, 7, 6), (6, 2, 3, 3), 1, 1, 1),
    (3, (1, 6, 9, 8), (3, 2, 2, 3), 2, 0, 1),
    (4, (2, 8, 8, 8), (8, 2, 3, 3), 1, "same", 2),
    (6, (2, 6, 5, 5), (12, 1, 3, 3), 1, 1, 1),  # depthwise, two filters per channel
    (2, (0, 4, 5, 5), (4, 2, 3, 3), 1, 0, 1),  # an empty batch
]


@pytest.mark.parametrize("groups,xs,ws,stride,padding,dilation", CONV2D)
def test_grouped_conv2d_matches_torch(groups, xs, ws, stride, padding, dilation):
    rng = np.random.default_rng(groups)
    x, w, b = rand(rng, *xs), rand(rng, *ws, scale=0.4), rand(rng, ws[0])
    compare(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
            lambda x, w, b: TF.conv2d(x, w, b, stride, padding, dilation, groups), [x, w, b])
    compare(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups,
                                  activation="relu"),
            lambda x, w: torch.relu(TF.conv2d(x, w, None, stride, padding, dilation, groups)),
            [x, w])


@pytest.mark.parametrize("groups,xs,ws,stride,padding,output_padding", [
    (2, (2, 4, 5, 4), (4, 3, 3, 3), 2, 1, 1),
    (3, (1, 6, 4, 6), (6, 1, 2, 2), 1, 0, 0),
])
def test_grouped_conv_transpose2d_matches_torch(groups, xs, ws, stride, padding,
                                                output_padding):
    rng = np.random.default_rng(7)
    x, w, b = rand(rng, *xs), rand(rng, *ws, scale=0.4), rand(rng, ws[1] * groups)
    compare(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups),
            lambda x, w, b: TF.conv_transpose2d(x, w, b, stride, padding, output_padding,
                                                groups), [x, w, b])


def test_grouped_conv1d_matches_torch():
    rng = np.random.default_rng(8)
    x, w, b = rand(rng, 2, 6, 11), rand(rng, 9, 2, 3), rand(rng, 9)
    compare(lambda x, w, b: F.conv1d(x, w, b, 2, 1, 1, 3),
            lambda x, w, b: TF.conv1d(x, w, b, 2, 1, 1, 3), [x, w, b])


def test_layers_with_groups_match_torchs_modules():
    rng = np.random.default_rng(9)
    x = rand(rng, 2, 4, 6, 6)
    ours = nn.Conv2D(6, 3, padding=1, groups=2)
    ours(fusednn.Tensor(x))
    assert ours.weight.shape == (6, 2, 3, 3)
    theirs = torch.nn.Conv2d(4, 6, 3, padding=1, groups=2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    np.testing.assert_allclose(ours(fusednn.Tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    up = nn.Conv2DTranspose(6, 2, strides=2, groups=2)
    assert up(fusednn.Tensor(x)).shape == (2, 6, 12, 12) and up.weight.shape == (4, 3, 2, 2)
    seq = nn.Conv1D(4, 3, groups=4)
    assert seq(fusednn.Tensor(rand(rng, 2, 4, 9))).shape == (2, 4, 7)
    assert seq.weight.shape == (4, 1, 3)
    # the Glorot fans of a grouped kernel: in / groups and out per receptive field, as Keras
    assert nn.Conv2D(8, 3, groups=4).get_config()["groups"] == 4


def test_keras_grouped_conv_kernel_layout_and_config():
    keras.utils.set_random_seed(1)
    layer = keras.layers.Conv2D(6, 3, padding="same", groups=3, activation="relu")
    x = np.random.default_rng(2).standard_normal((2, 5, 5, 6)).astype(np.float32)
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 2, 6)  # Keras's (kh, kw, in / groups, filters)
    ref = torch.relu(TF.conv2d(torch.tensor(x).permute(0, 3, 1, 2),
                               torch.tensor(kernel).permute(3, 2, 0, 1), torch.tensor(bias),
                               padding=1, groups=3)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-5)
    again = keras.layers.Conv2D.from_config(layer.get_config())
    assert again.groups == 3
    model = keras.Sequential([keras.Input((5, 5, 6)), keras.layers.Conv2D(4, 3, groups=2),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)
    conv1d = keras.layers.Conv1D(4, 3, groups=2)
    assert conv1d(np.ones((2, 7, 6), np.float32)).shape == (2, 5, 4)
    assert conv1d.get_weights()[0].shape == (3, 3, 4)


def test_bad_groups_are_refused_by_name():
    x = fusednn.Tensor(np.ones((1, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        F.conv2d(x, fusednn.Tensor(np.ones((4, 4, 3, 3), np.float32)), groups=0)
    with pytest.raises(ValueError, match="divide into groups=3"):
        F.conv2d(x, fusednn.Tensor(np.ones((6, 1, 3, 3), np.float32)), groups=3)
    with pytest.raises(ValueError, match="takes 1 per group"):
        F.conv2d(x, fusednn.Tensor(np.ones((4, 1, 3, 3), np.float32)), groups=2)
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, fusednn.Tensor(np.ones((4, 2, 3, 3), np.float32)),
                 fusednn.Tensor(np.ones(3, np.float32)), groups=2)
    with pytest.raises(ValueError, match="filters=5 must divide into groups=2"):
        nn.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="divide into groups=3"):
        nn.Conv2D(6, 3, groups=3)(x)
    with pytest.raises(ValueError, match="does not match 6 output channels"):
        F.conv_transpose2d(x, fusednn.Tensor(np.ones((4, 3, 2, 2), np.float32)),
                           fusednn.Tensor(np.ones(3, np.float32)), groups=2)
