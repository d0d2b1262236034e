"""skops.io, imported without its slow look-up of SciPy's ufuncs.

As it is imported, skops names the types it trusts; for each SciPy ufunc (an object without `__module__`) it asks
every loaded module in import order whether it holds the ufunc, with `getattr`, which runs the module's
`__getattr__` hook where it has one. In a process that has imported Dagster, MLflow and pandas first (3,800
modules: a run, `dagster asset materialize`), that is 840 look-ups and 480,000 `getattr` calls: 1.1 to 4 s of
the model step. `skops_io()` imports skops with a look-up that reads the modules' namespaces once (the import
takes 0.3 s instead of 1.5 s); it finds the same modules, and leaves skops' own look-up to objects it does not
find that way.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

_UTILS = "skops.io._utils"


def skops_io() -> ModuleType:
    """The `skops.io` module, imported with the fast look-up if this process has not imported it yet."""
    if "skops.io" not in sys.modules:
        finder = _PatchUtils()
        sys.meta_path.insert(0, finder)
        try:
            import skops.io  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
        lookup = getattr(sys.modules.get(_UTILS), "whichmodule", None)
        if hasattr(lookup, "forget"):  # ours: the namespaces it read are the import's, not a later dump's
            lookup.forget()
    return importlib.import_module("skops.io")  # waits for another thread's import of it to end


def fast_whichmodule(whichmodule):
    """skops' `whichmodule(obj, name)`, reading module namespaces (no `__getattr__` hooks) in import order: the
    first module that binds `name` to `obj`. The namespaces are read once per type of object asked for (and again
    when a module has been imported since), so the 840 look-ups cost about as much as one."""
    bindings: dict[type, dict[tuple[str, int], tuple[str, object]]] = {}
    seen_modules = [0]

    def namespace(module) -> dict:
        try:
            return dict(vars(module))
        except Exception:  # a module-like object without a plain namespace: skops' own look-up will ask it
            return {}

    def first_binding(obj, name: str) -> str | None:
        if len(sys.modules) != seen_modules[0]:
            bindings.clear()
            seen_modules[0] = len(sys.modules)
        kind = type(obj)
        if kind not in bindings:
            found = bindings[kind] = {}
            for module_name, module in list(sys.modules.items()):
                if module is None or module_name in ("__main__", "__mp_main__"):
                    continue
                for key, value in namespace(module).items():
                    if type(value) is kind:
                        found.setdefault((key, id(value)), (module_name, value))
        module_name, value = bindings[kind].get((name, id(obj)), (None, None))
        return module_name if value is obj else None

    def lookup(obj, name: str) -> str:
        if getattr(obj, "__module__", None) is None and "." not in name:
            module_name = first_binding(obj, name)
            if module_name is not None:
                lookup.found += 1
                return module_name
        return whichmodule(obj, name)

    lookup.__wrapped__ = whichmodule
    lookup.found = 0  # look-ups answered from the namespaces
    lookup.forget = bindings.clear  # after the import: a later look-up reads the namespaces as they are then
    return lookup


class _PatchUtils(importlib.abc.MetaPathFinder):
    """Finds skops.io._utils as Python would, and replaces its `whichmodule` as soon as the module has run (before
    skops.io._trusted_types, which makes the look-ups, imports it). A skops without that function is left as it
    is."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _UTILS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_patch(module: ModuleType) -> None:
            exec_module(module)
            if callable(getattr(module, "whichmodule", None)):
                module.whichmodule = fast_whichmodule(module.whichmodule)

        spec.loader.exec_module = exec_then_patch
        return spec
