"""Param groups and per-parameter state: the two containers an optimizer keeps.

A :class:`ParamGroup` is a dict, as in torch.optim (``group["lr"] = 0.01`` is how schedulers
and users change a hyperparameter), that also keeps its hyperparameters as the bound struct
its kernel takes (``fusednn._cpu.AdamHparams`` & co.). The struct is built and validated when
the group changes, not on every step; an option given as a tensor or array (a tensor lr) is
read again at every step, as torch reads it.
"""
from __future__ import annotations

from collections.abc import MutableMapping


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


class ParamGroup(dict):
    """A dict of a group's options and its ``params``; remembers its validated hyperparameters
    until one of its entries changes."""

    __slots__ = ("_hparams",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hparams = None

    def hparams(self, build):
        """The group's hyperparameter struct: ``build(group)`` (which validates) when an entry
        changed since the last call, or when an option is an array whose value may have
        changed in place."""
        h = self._hparams
        if h is None:
            h = build(self)
            volatile = any(_is_array(v) for k, v in self.items() if k not in ("params", "arena"))
            self._hparams = None if volatile else h
        return h

    def _changed(self):
        self._hparams = None

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key):
        super().__delitem__(key)
        self._changed()

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key, default=None):
        self._changed()
        return super().setdefault(key, default)

    def pop(self, *args):
        self._changed()
        return super().pop(*args)

    def popitem(self):
        self._changed()
        return super().popitem()

    def clear(self):
        super().clear()
        self._changed()

    def __ior__(self, other):
        self.update(other)
        return self

    def __reduce__(self):
        return (ParamGroup, (dict(self),))


class ParamState(MutableMapping):
    """Per-parameter state keyed by the parameter object itself (numpy arrays are unhashable,
    so keys are compared by identity, as torch.optim effectively does for tensors)."""

    def __init__(self):
        self._entries = {}

    def __getitem__(self, param):
        return self._entries[id(param)][1]

    def __setitem__(self, param, value):
        self._entries[id(param)] = (param, value)

    def __delitem__(self, param):
        del self._entries[id(param)]

    def __contains__(self, param):
        return id(param) in self._entries

    def get_state(self, param):
        """The state dict of ``param``, or None."""
        entry = self._entries.get(id(param))
        return None if entry is None else entry[1]

    def __iter__(self):
        return (p for p, _ in self._entries.values())

    def __len__(self):
        return len(self._entries)

    def items(self):
        return list(self._entries.values())
