"""Optimizer hooks with torch.optim's signatures: per optimizer (``register_step_pre_hook`` &
co., methods of :class:`~fusednn.optim.Optimizer`) and global (the two functions below, run
for every fusednn optimizer). Each registration returns a handle whose ``remove()`` undoes it.

* step pre-hook ``hook(optimizer, args, kwargs) -> None | (new_args, new_kwargs)``, where
  ``args`` starts with the optimizer, as in torch;
* step post-hook ``hook(optimizer, args, kwargs) -> None``;
* state_dict pre-hook ``hook(optimizer)``, post-hook ``hook(optimizer, state_dict) -> None |
  state_dict``;
* load_state_dict pre-hook ``hook(optimizer, state_dict) -> None | state_dict``, post-hook
  ``hook(optimizer)``.
"""
from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict

_next_id = itertools.count()

_global_step_pre_hooks: OrderedDict = OrderedDict()
_global_step_post_hooks: OrderedDict = OrderedDict()


class RemovableHandle:
    """Removes one registered hook (also as a context manager)."""

    def __init__(self, hooks: OrderedDict):
        self.id = next(_next_id)
        self._hooks = weakref.ref(hooks)

    def remove(self) -> None:
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """A step pre-hook for every optimizer, run before the optimizer's own."""
    return add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """A step post-hook for every optimizer, run after the optimizer's own."""
    return add_hook(_global_step_post_hooks, hook)


class OptimizerHooks:
    """The six hook tables one optimizer keeps (not pickled, as torch's are not)."""

    NAMES = ("step_pre", "step_post", "state_dict_pre", "state_dict_post",
             "load_state_dict_pre", "load_state_dict_post")

    def __init__(self):
        for name in self.NAMES:
            setattr(self, name, OrderedDict())

    def run_step_pre(self, optimizer, args, kwargs):
        for hook in itertools.chain(list(_global_step_pre_hooks.values()),
                                    list(self.step_pre.values())):
            result = hook(optimizer, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"a step pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result!r}")
                args, kwargs = result
        return args, kwargs

    def run_step_post(self, optimizer, args, kwargs):
        for hook in itertools.chain(list(self.step_post.values()),
                                    list(_global_step_post_hooks.values())):
            hook(optimizer, args, kwargs)

    @staticmethod
    def notify(table, optimizer):
        """Each ``hook(optimizer)`` of ``table`` (state_dict pre, load_state_dict post)."""
        for hook in list(table.values()):
            hook(optimizer)

    @staticmethod
    def transform(table, optimizer, state_dict):
        """``state_dict`` through each ``hook(optimizer, state_dict) -> None | state_dict`` of
        ``table`` (state_dict post, load_state_dict pre)."""
        for hook in list(table.values()):
            result = hook(optimizer, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def any_step(self) -> bool:
        return bool(self.step_pre or self.step_post or _global_step_pre_hooks
                    or _global_step_post_hooks)
