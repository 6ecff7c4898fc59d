"""Keras's ``get`` / ``serialize`` / ``deserialize`` over one family of objects (losses,
metrics): class names give instances, function names the functions, configs
(``{"class_name": ..., "config": ...}``) rebuild objects through ``from_config``."""
from __future__ import annotations


class Registry:
    def __init__(self, kind: str, namespace: str, classes: dict, functions: dict, base: type):
        self.kind, self.namespace = kind, namespace
        self.classes, self.functions, self.base = classes, functions, base

    def serialize(self, obj) -> dict:
        if type(obj) not in self.classes.values():
            raise TypeError(f"cannot serialize {obj!r}: not one of {self.namespace}' classes")
        return {"class_name": type(obj).__name__, "config": obj.get_config()}

    def deserialize(self, config):
        if not isinstance(config, dict) or config.get("class_name") not in self.classes:
            raise ValueError(f"not a serialized {self.kind}: {config!r} (known: "
                             f"{', '.join(self.classes)})")
        return self.classes[config["class_name"]].from_config(dict(config.get("config") or {}))

    def get(self, identifier):
        """An object from a class name (an instance), a function name (the function), a
        serialized config, or an object or function as it is."""
        if isinstance(identifier, self.base) or callable(identifier):
            return identifier
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            if identifier in self.classes:
                return self.classes[identifier]()
            if identifier in self.functions:
                return self.functions[identifier]
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")
