"""How a search gets the user's model, and the checks that it can reach worker processes.

A builder is a function ``build_model(hp) -> compiled model``, a ``HyperModel`` (``build(hp)``,
optionally ``fit(hp, model, ...)``), or a reference ``"path/to/file.py:build_model"`` /
``"package.module:build_model"`` that every process resolves for itself."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import pickle
import sys

from .hyperparameters import HyperModel


class BuilderRef:
    """A builder named by "file.py:name" or "module:name": only the name travels to workers."""

    def __init__(self, spec: str):
        if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
            raise ValueError(f"a builder reference is 'path/to/file.py:function' or "
                             f"'package.module:function', got {spec!r}")
        self.spec = spec
        self._target = None
        self.resolve()  # a missing file or name fails here, before any trial

    def resolve(self):
        if self._target is None:
            where, name = self.spec.split(":")
            module = _load_file(where) if where.endswith(".py") else _import(where)
            if not hasattr(module, name):
                raise ValueError(f"builder {self.spec!r}: {where} defines no {name!r}")
            target = getattr(module, name)
            if isinstance(target, type) and issubclass(target, HyperModel):
                target = target()
            if not callable(target) and not isinstance(target, HyperModel):
                raise ValueError(f"builder {self.spec!r}: {name!r} is not callable")
            self._target = target
        return self._target

    def __getstate__(self):
        return {"spec": self.spec}

    def __setstate__(self, state):
        self.spec, self._target = state["spec"], None

    def __repr__(self):
        return f"BuilderRef({self.spec!r})"


def _load_file(path):
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise ValueError(f"builder file {path!r} does not exist")
    name = "fusednn_builder_" + os.path.splitext(os.path.basename(full))[0]
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == full:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, full)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so functions in it pickle by reference within this process
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ValueError(f"builder module {name!r} cannot be imported: {e}") from None


def resolve(builder):
    return builder.resolve() if isinstance(builder, BuilderRef) else builder


def name_of(builder) -> str:
    if isinstance(builder, BuilderRef):
        return builder.spec
    target = resolve(builder)
    if isinstance(target, HyperModel):
        return target.name
    return getattr(target, "__name__", type(target).__name__)


def check_builder(builder):
    target = resolve(builder)
    if not (isinstance(target, HyperModel) or callable(target)):
        raise TypeError(f"Tuner: the model builder must be a function build_model(hp), a "
                        f"HyperModel, or 'file.py:function'; got {target!r}")


def build(builder, hp):
    """The compiled model the builder makes from ``hp``."""
    target = resolve(builder)
    model = target.build(hp) if isinstance(target, HyperModel) else target(hp)
    if not hasattr(model, "fit") or not hasattr(model, "compile"):
        raise TypeError(f"{name_of(builder)}(hp) must return a fusednn model (fusednn.Sequential "
                        f"or a fusednn.keras model), got {type(model).__name__}")
    if getattr(model, "objective", None) is None:
        raise ValueError(f"{name_of(builder)}(hp) must compile the model it returns "
                         "(model.compile(optimizer=..., loss=..., metrics=...))")
    return model


def fit(builder, hp, model, x, y, **kwargs):
    target = resolve(builder)
    if isinstance(target, HyperModel):
        return target.fit(hp, model, x, y, **kwargs)
    return model.fit(x, y, **kwargs)


def check_reaches_workers(builder, backend: str) -> None:
    """Workers get the builder by pickling: a function by its module and name (the module must
    import in the worker), a Dask worker by value. Checked before any trial."""
    if isinstance(builder, BuilderRef):
        return
    target = builder
    module = getattr(target, "__module__", None)
    if backend == "dask":
        try:
            import cloudpickle

            cloudpickle.dumps(target)
        except Exception as e:  # noqa: BLE001 - any failure to serialize is the user's to fix
            raise ValueError(f"backend='dask' sends the model builder to its workers, but it "
                             f"cannot be serialized: {e}") from None
        return
    import __main__

    if module == "__main__" and not getattr(__main__, "__file__", None):
        raise ValueError("n_jobs > 1 runs the model builder in worker processes, which import "
                         "it; a builder defined in a notebook or an interactive session cannot "
                         "be imported. Put build_model in a .py file and pass "
                         "Tuner('file.py:build_model', ...), or use n_jobs=1 or backend='dask'")
    try:
        pickle.dumps(target)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"n_jobs > 1 runs the model builder in worker processes, which import "
                         f"it by name: define it at module level in a .py file (not a lambda or "
                         f"a function inside another), or pass 'file.py:build_model'. Pickling "
                         f"it failed: {e}") from None


GUARD_FIX = ('    if __name__ == "__main__":\n'
             '        tuner.search(...)  # and whatever else the script runs\n')


def check_main_guard(what: str) -> None:
    """Worker processes start by re-running the main script (the "spawn" start method). A
    script that starts a parallel search at its top level, outside ``if __name__ ==
    "__main__":``, would have every worker start it again, forever. Refuse that up front."""
    main = sys.modules.get("__main__")
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if frame.f_code.co_name == "<module>" and name == "__mp_main__":
            raise RuntimeError(f"{what} was started while a worker process re-ran the main "
                               f"script; put the script's work under\n{GUARD_FIX}")
        if frame.f_code.co_name == "<module>" and name == "__main__":
            break
        frame = frame.f_back
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name.split(".")[-1] == "__main__":
        return  # `python -m package`: multiprocessing does not re-run a package's __main__
    path = getattr(main, "__file__", None)
    if frame is None or not path or not os.path.isfile(path):
        return  # interactive or -c: workers do not re-run anything
    if frame.f_code.co_filename != path and os.path.abspath(frame.f_code.co_filename) != \
            os.path.abspath(path):
        return
    try:
        with open(path) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return
    line = frame.f_lineno
    for node in tree.body:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            if _is_main_guard(node) and any(s.lineno <= line <= (s.end_lineno or s.lineno)
                                            for s in node.body):
                return
            break
    raise RuntimeError(f"{what} starts worker processes, and each one re-runs "
                       f"{os.path.basename(path)} from the top; line {line} runs outside "
                       f"`if __name__ == \"__main__\":`, so every worker would start the search "
                       f"again. Put the script's work under the guard:\n{GUARD_FIX}")


def _is_main_guard(node) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]
