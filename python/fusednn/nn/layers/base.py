"""What Dense and Conv2D share: a weight and an optional bias made by initializers, an
activation fused into the kernel when the kernel has it (applied after it otherwise), and
regularizers on the weight and bias."""
from __future__ import annotations

from .. import init, initializers, regularizers
from ...autograd.fused.activation import fusable
from ..functional.activation import activation_by_name
from ..module import Module, Parameter


class ActivityLoss:
    """Keras's activity regularization: ``activity_regularizer`` of the layer's (activated)
    output joins the loss of the batch that made it, as a loss the layer adds (set by
    fusednn.keras's layers; the training loop reads ``_batch_losses`` after each forward)."""

    activity_regularizer = None

    @property
    def adds_batch_losses(self) -> bool:
        return self.activity_regularizer is not None

    def _record_activity(self, y):
        if self.activity_regularizer is not None:
            object.__setattr__(self, "_activity_losses", [self.activity_regularizer(y)])
        return y

    def _batch_losses(self):
        return tuple(self.__dict__.get("_activity_losses", ()))

    def _clear_batch_losses(self) -> None:
        object.__setattr__(self, "_activity_losses", [])


class WeightedLayer(ActivityLoss, Module):
    # the slope of activation="leaky_relu": torch's default here, Keras's (0.2) on the layers
    # of fusednn.keras
    leaky_relu_slope = 0.01
    # fusednn.keras's layers resolve initializers as Keras does and call them with the weight
    # in Keras's layout: the kernel's axes in that order (None: fusednn's own)
    keras_initializers = False
    initializer_axes = None

    def __init__(self, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, name):
        super().__init__(name)
        activation = getattr(activation, "activation_name", activation)
        self._weight_config = dict(activation=activation, use_bias=use_bias,
                                   kernel_initializer=kernel_initializer,
                                   bias_initializer=bias_initializer,
                                   kernel_regularizer=kernel_regularizer,
                                   bias_regularizer=bias_regularizer, name=self.name)
        self.activation, self.use_bias = activation, use_bias
        if fusable(activation):
            self._fused, self._after = activation, None
        else:
            self._fused = None
            self._after = None if activation is None else activation_by_name(
                activation, self.leaky_relu_slope)
        resolve = initializers.get if self.keras_initializers else init.get
        self.kernel_initializer = resolve(kernel_initializer)
        self.bias_initializer = resolve(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _make_weights(self, weight_shape, bias_size):
        keras = self.keras_initializers
        self.weight = Parameter(initializers.draw(self.kernel_initializer, weight_shape,
                                                  self.initializer_axes, keras))
        self.bias = Parameter(initializers.draw(self.bias_initializer, (bias_size,), None, keras)) \
            if self.use_bias else None

    def _activate(self, y):
        """The activation the kernel could not fuse (e.g. softmax), if any."""
        return self._after(y) if self._after else y

    def forward(self, x):
        return self._record_activity(self._apply(x, self._fused, self._after))

    def forward_logits(self, x):
        """The layer's output without its activation: what a probability loss takes from a
        final softmax/sigmoid (see Sequential.final_activation)."""
        if self.activity_regularizer is not None:  # it penalizes the activated output
            self._record_activity(self._apply(x, self._fused, self._after))
        return self._apply(x, None, None)

    def output_activation(self):
        return self.activation if self.activation in ("softmax", "sigmoid") else None

    def _apply(self, x, fused, after):
        """The layer with the activation ``fused`` into its kernel and ``after`` applied after
        it (either may be None)."""
        raise NotImplementedError

    def _penalties(self):
        if not self.built:
            return
        if self.kernel_regularizer is not None:
            yield self.kernel_regularizer(self.weight)
        if self.bias_regularizer is not None and self.bias is not None:
            yield self.bias_regularizer(self.bias)
