"""Keras's attention layers, built of autograd ops: Attention (dot-product or "concat"
scores) and AdditiveAttention over [query, value(, key)], and MultiHeadAttention on
(batch, steps, features) inputs, of einsums:
the query, key and value projections (kernels (features, heads, key_dim) with biases
(heads, key_dim), Keras's EinsumDense layouts and fans), dot products scaled by
1 / sqrt(key_dim), Keras's masked softmax (masked scores set to -1e9, masked
probabilities to 0), dropout on the probabilities in training, and the output projection
(kernel (heads, value_dim, features))."""
from __future__ import annotations

import math

import numpy as np

from .. import _checks, nn
from .._backend import xp_of
from ..autograd import Tensor
from ..autograd.tensor_ops import Einsum, Where
from ..nn import initializers
from ..nn.layers.base import WeightedLayer
from ..nn.module import Parameter
from .layer_base import KerasLayer, refuse, set_arrays

_MASKED = -1e9  # Keras's score for a masked position (float32)


class _Projection(WeightedLayer, KerasLayer):
    """One of the attention's projections (Keras's EinsumDense): ``equation`` of the input and
    a kernel whose leading axes follow the input's last ``bound`` axes and whose trailing
    ones are ``out_shape``; a bias of ``out_shape``."""

    keras_initializers = True

    def __init__(self, equation, bound, out_shape, use_bias, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
                 bias_constraint, name):
        super().__init__(None, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, name)
        self.equation, self.bound, self.out_shape = equation, bound, tuple(out_shape)
        self._take_keras_options(kernel_constraint, bias_constraint)

    def build(self, input_shape):
        kernel_shape = tuple(input_shape[-self.bound:]) + self.out_shape
        self.weight = Parameter(initializers.draw(self.kernel_initializer, kernel_shape,
                                                  None, True))
        self.bias = Parameter(initializers.draw(self.bias_initializer, self.out_shape, None,
                                                True)) if self.use_bias else None

    def forward(self, x):
        y = Einsum.apply(self.equation, x, self.weight)
        return y if self.bias is None else y + self.bias

    def get_weights(self):
        return [p.numpy().copy() for p in (self.weight, self.bias) if p is not None]

    def set_weights(self, weights):
        set_arrays(self, list(weights))


class MultiHeadAttention(nn.Module, KerasLayer):
    """Keras's MultiHeadAttention: ``layer(query, value)`` or ``layer(query, value, key)``
    (also as a list, and in a functional model); ``attention_mask`` (batch, T, S) and
    ``use_causal_mask`` (eager calls); ``return_attention_scores`` gives the (batch, heads,
    T, S) probabilities too. Inputs are (batch, steps, features): ``attention_axes`` other
    than the steps, and the masks Keras reads from masked inputs, are not supported."""

    takes_several_tensors = True  # layer(query, value[, key]) in the functional API
    graph_call_arguments = ("use_causal_mask",)

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, name=None, **kwargs):
        refuse(kwargs, "MultiHeadAttention")
        super().__init__(name)
        self.num_heads = _checks.positive_int("MultiHeadAttention: num_heads", num_heads)
        self.key_dim = _checks.positive_int("MultiHeadAttention: key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else \
            _checks.positive_int("MultiHeadAttention: value_dim", value_dim)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout}")
        self.dropout = float(dropout)
        if attention_axes not in (None, 1, (1,), [1], -2, (-2,), [-2]):
            raise NotImplementedError(f"MultiHeadAttention: attention_axes={attention_axes!r} "
                                      "(attention runs over the steps of (batch, steps, "
                                      "features) inputs)")
        if isinstance(output_shape, (tuple, list)):
            if len(output_shape) != 1:
                raise NotImplementedError(f"MultiHeadAttention: output_shape={output_shape!r} "
                                          "(one output axis is supported)")
            output_shape = output_shape[0]
        self.output_size = None if output_shape is None else \
            _checks.positive_int("MultiHeadAttention: output_shape", output_shape)
        if activity_regularizer is not None:
            raise NotImplementedError("MultiHeadAttention: activity_regularizer is not "
                                      "supported")
        self.use_bias = bool(use_bias)
        self._options = dict(kernel_initializer=kernel_initializer,
                             bias_initializer=bias_initializer,
                             kernel_regularizer=kernel_regularizer,
                             bias_regularizer=bias_regularizer,
                             kernel_constraint=kernel_constraint,
                             bias_constraint=bias_constraint)
        heads = (self.num_heads, self.key_dim)
        project = lambda out, name: _Projection(  # noqa: E731
            "btd,dnh->btnh", 1, out, self.use_bias, name=name, **self._options)
        self.query_dense = project(heads, "query")
        self.key_dense = project(heads, "key")
        self.value_dense = project((self.num_heads, self.value_dim), "value")
        self.output_dense = None  # made at the first call: its width is the query's

    def build(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        for shape in shapes:
            if shape is None or len(shape) != 3:
                raise ValueError(f"{self.name}: expects (batch, steps, features) inputs, got "
                                 f"shape {shape}")

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """Keras's: the query's shape with the output's features last."""
        return tuple(query_shape[:-1]) + (self.output_size or query_shape[-1],)

    def _output_projection(self, features):
        if self.output_dense is None:
            self.output_dense = _Projection(
                "btnh,nhd->btd", 2, (self.output_size or features,), self.use_bias,
                name="attention_output", **self._options)
        return self.output_dense

    def forward(self, query, value=None, key=None, attention_mask=None,
                return_attention_scores=False, use_causal_mask=False):
        if isinstance(query, (list, tuple)):  # a functional call: [query, value(, key)]
            if value is not None or not 2 <= len(query) <= 3:
                raise ValueError(f"{self.name}: takes [query, value] or [query, value, key]")
            query, value, key = (list(query) + [None])[:3]
        if value is None:
            raise ValueError(f"{self.name}: a value is required: layer(query, value)")
        key = value if key is None else key
        query, value, key = (t if isinstance(t, Tensor) else Tensor(np.asarray(t, np.float32))
                             for t in (query, value, key))
        for what, t in (("query", query), ("value", value), ("key", key)):
            if t.ndim != 3:
                raise ValueError(f"{self.name}: {what} must be (batch, steps, features), got "
                                 f"shape {t.shape}")
        if value.shape[:2] != key.shape[:2] or query.shape[0] != value.shape[0]:
            raise ValueError(f"{self.name}: query {query.shape}, value {value.shape} and key "
                             f"{key.shape} must share the batch, value and key the steps")
        q = self.query_dense(query) * (1.0 / math.sqrt(self.key_dim))
        k, v = self.key_dense(key), self.value_dense(value)
        scores = Einsum.apply("bsnh,btnh->bnts", k, q)
        mask = self._mask(attention_mask, use_causal_mask, query, value)
        if mask is not None:
            xp = xp_of(scores.data)
            masked = Tensor(xp.full((), _MASKED, scores.dtype), device=scores.device)
            scores = Where.apply(mask, scores, masked)
        probabilities = nn.functional.softmax(scores, -1)
        if mask is not None:  # a row masked whole gives zeros, not uniform weights
            zero = Tensor(xp.zeros((), scores.dtype), device=scores.device)
            probabilities = Where.apply(mask, probabilities, zero)
        dropped = nn.functional.dropout(probabilities, self.dropout, self.training)
        out = Einsum.apply("bnts,bsnh->btnh", dropped, v)
        out = self._output_projection(query.shape[-1])(out)
        return (out, probabilities) if return_attention_scores else out

    @staticmethod
    def _mask(attention_mask, causal, query, value):
        """The (batch, 1, T, S) positions attended to, or None: the attention mask (True or
        above 0.5: attended) and-ed with the causal one (T >= S positions)."""
        xp = xp_of(query.data)
        b, t, s = query.shape[0], query.shape[1], value.shape[1]
        mask = None
        if attention_mask is not None:
            mask = _host_mask(attention_mask, xp)
            if mask.ndim == 2:
                mask = mask[None]
            if mask.ndim != 3 or mask.shape[-2:] != (t, s) or mask.shape[0] not in (1, b):
                raise ValueError(f"attention_mask must be (batch, {t}, {s}), got shape "
                                 f"{tuple(np.shape(attention_mask))}")
        if causal:
            lower = xp.tril(xp.ones((1, t, s), bool))
            mask = lower if mask is None else mask & lower
        return None if mask is None else mask[:, None]

    def get_weights(self):
        return [w for layer in self._projections() for w in layer.get_weights()]

    def set_weights(self, weights):
        weights, layers = list(weights), self._projections()
        counts = [2 if self.use_bias else 1] * len(layers)
        if len(weights) != sum(counts) or len(layers) < 4:
            raise ValueError(f"{self.name}: expected {2 * 4 if self.use_bias else 4} weight "
                             f"arrays (once built), got {len(weights)}")
        start = 0
        for layer, n in zip(layers, counts):
            layer.set_weights(weights[start:start + n])
            start += n

    def _projections(self):
        made = [self.query_dense, self.key_dense, self.value_dense, self.output_dense]
        return [layer for layer in made if layer is not None and layer.built]

    def get_config(self):
        from .constraints import serialize

        config = dict(num_heads=self.num_heads, key_dim=self.key_dim,
                      value_dim=self.value_dim, dropout=self.dropout, use_bias=self.use_bias,
                      output_shape=self.output_size, name=self.name, **self._options)
        for key in ("kernel_constraint", "bias_constraint"):
            if config[key] is not None:
                config[key] = serialize(self.query_dense.__dict__[key])
        return config


class Attention(nn.Module, KerasLayer):
    """Keras's Attention (Luong's dot-product, or ``score_mode="concat"``): ``layer([query,
    value])`` or ``[query, value, key]`` of (batch, T, dim) tensors; scores q . k (times a
    learned ``scale`` with ``use_scale``), 1e9 subtracted where ``mask=[query_mask,
    value_mask]`` or ``use_causal_mask`` hides a value, softmax, dropout in training, the
    weighted values — times the query mask."""

    graph_call_arguments = ("use_causal_mask",)

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, name=None,
                 **kwargs):
        refuse(kwargs, type(self).__name__)
        super().__init__(name)
        if score_mode not in self.score_modes:
            raise ValueError(f"Invalid value for argument score_mode. Expected one of "
                             f"{set(self.score_modes)}. Received: score_mode={score_mode}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.use_scale, self.score_mode, self.dropout = bool(use_scale), score_mode, float(
            dropout)

    score_modes = ("dot", "concat")

    def build(self, input_shape):
        _attention_inputs(self, input_shape, "shapes")
        self.scale = Parameter(np.ones((), np.float32)) if self.use_scale else None
        self.concat_score_weight = Parameter(np.ones((), np.float32)) \
            if self.score_mode == "concat" else None

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ key.permute(0, 2, 1)
            return scores if self.scale is None else scores * self.scale
        pairs = query.reshape(*query.shape[:2], 1, query.shape[2]) + \
            key.reshape(key.shape[0], 1, *key.shape[1:])
        if self.scale is not None:
            pairs = pairs * self.scale
        return pairs.tanh().sum(axis=-1) * self.concat_score_weight

    def forward(self, inputs, mask=None, return_attention_scores=False,
                use_causal_mask=False):
        query, value, key = _attention_inputs(self, inputs, "inputs")
        if mask is not None and (not isinstance(mask, (list, tuple)) or
                                 not 2 <= len(mask) <= 3):
            raise ValueError(f"{type(self).__name__} layer mask must be a list, namely "
                             f"[query_mask, value_mask]. Received: mask={mask}.")
        query_mask, value_mask = (None, None) if mask is None else mask[:2]
        scores = self._scores(query, key)
        xp = xp_of(scores.data)
        hidden = None
        if value_mask is not None:
            hidden = ~_host_mask(value_mask, xp)[:, None, :]
        if use_causal_mask:
            t, s = scores.shape[-2:]
            later = ~xp.tril(xp.ones((1, t, s), bool))
            hidden = later if hidden is None else hidden | later
        if hidden is not None:
            scores = scores - Tensor((1e9 * hidden).astype(scores.dtype), device=scores.device)
        weights = nn.functional.softmax(scores, -1)
        result = nn.functional.dropout(weights, self.dropout, self.training) @ value
        if query_mask is not None:
            keep = _host_mask(query_mask, xp)[..., None].astype(result.dtype)
            result = result * Tensor(keep, device=result.device)
        return (result, weights) if return_attention_scores else result

    def compute_output_shape(self, input_shape):
        """Keras's: the query's steps with the value's features."""
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_weights(self):
        return [p.numpy().copy() for p in (self.scale, self.concat_score_weight)
                if p is not None]

    def set_weights(self, weights):
        params = [p for p in (self.scale, self.concat_score_weight) if p is not None]
        if len(weights) != len(params):
            raise ValueError(f"{self.name}: expected {len(params)} weight arrays, got "
                             f"{len(weights)}")
        for p, w in zip(params, weights):
            p.data[...] = np.asarray(w, np.float32)

    def get_config(self):
        return dict(use_scale=self.use_scale, score_mode=self.score_mode,
                    dropout=self.dropout, name=self.name)


class AdditiveAttention(Attention):
    """Keras's AdditiveAttention (Bahdanau's): scores sum(scale * tanh(q + k)) over the
    features, ``scale`` a learned (dim,) vector (Glorot-uniform) with ``use_scale``."""

    score_modes = ("additive",)

    def __init__(self, use_scale=True, dropout=0.0, name=None, **kwargs):
        super().__init__(use_scale, "additive", dropout, name=name, **kwargs)

    def build(self, input_shape):
        shapes = _attention_inputs(self, input_shape, "shapes")
        self.concat_score_weight = None
        self.scale = Parameter(initializers.draw(initializers.get("glorot_uniform"),
                                                 (shapes[0][-1],), None, True)) \
            if self.use_scale else None

    def _scores(self, query, key):
        pairs = (query.reshape(*query.shape[:2], 1, query.shape[2]) +
                 key.reshape(key.shape[0], 1, *key.shape[1:])).tanh()
        return (pairs if self.scale is None else pairs * self.scale).sum(axis=-1)

    def get_config(self):
        return dict(use_scale=self.use_scale, dropout=self.dropout, name=self.name)


def _attention_inputs(layer, inputs, what):
    """[query, value(, key)]: the key is the value when not given; each (batch, T, dim)."""
    name = type(layer).__name__
    if not isinstance(inputs, (list, tuple)) or (what == "shapes" and not all(
            isinstance(each, (list, tuple)) for each in inputs)):
        raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, "
                         f"value] or [query, value, key]. Received: inputs={inputs}.")
    if not 2 <= len(inputs) <= 3:
        raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, "
                         f"value] or [query, value, key]. Received length: {len(inputs)}.")
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    for each in (query, value, key):
        shape = tuple(each) if what == "shapes" else tuple(each.shape)
        if len(shape) != 3:
            raise ValueError(f"{layer.name}: expects (batch, T, dim) inputs, got shape {shape}")
    return query, value, key


def _host_mask(mask, xp):
    """A mask given as booleans or numbers (above 0.5: kept), as booleans on ``xp``."""
    data = mask.data if isinstance(mask, Tensor) else mask
    data = xp.asarray(data)
    return data if data.dtype == bool else data > 0.5
