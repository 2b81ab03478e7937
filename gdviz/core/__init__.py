"""The pure core of gdviz: problems, update rules, trajectories, surfaces and scenes.

Nothing here imports Qt. Importing the package is cheap: its names load from their modules on
first use, so ``gdviz.core.files`` (say) costs no JAX import. Nor do the modules themselves: they
take JAX and optax from :mod:`gdviz.core.deferred`, which imports them on first use and switches
JAX to float64 (``jax_enable_x64``) then; paths are compared against plain-loop references to
1e-9, which float32 cannot hold. So the window is built from the core's tables (rules, problems,
scenes) before JAX is loaded (tests/test_architecture.py checks that no core module imports JAX
at module level).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdviz.core.datafile import DataError, load_data_csv
    from gdviz.core.expression import ExpressionError, check_expression
    from gdviz.core.optimizers import RULES, Rule
    from gdviz.core.problems import Minimum, Problem, make_problem
    from gdviz.core.registry import PROBLEMS
    from gdviz.core.scene import (
        OptimizerEntry,
        Scene,
        SceneError,
        builtin_scene_names,
        dumps_scene,
        load_scene,
        parse_scene,
        save_scene,
        scene_from_dict,
    )
    from gdviz.core.simulate import Trajectory, simulate
    from gdviz.core.surface import Surface, surface

_HOMES = {
    "DataError": "datafile",
    "load_data_csv": "datafile",
    "ExpressionError": "expression",
    "check_expression": "expression",
    "RULES": "optimizers",
    "Rule": "optimizers",
    "Minimum": "problems",
    "Problem": "problems",
    "make_problem": "problems",
    "PROBLEMS": "scene",  # through the scene module, which imports every problem's module
    "OptimizerEntry": "scene",
    "Scene": "scene",
    "SceneError": "scene",
    "builtin_scene_names": "scene",
    "dumps_scene": "scene",
    "load_scene": "scene",
    "parse_scene": "scene",
    "save_scene": "scene",
    "scene_from_dict": "scene",
    "Trajectory": "simulate",
    "simulate": "simulate",
    "Surface": "surface",
    "surface": "surface",
}


def __getattr__(name: str) -> Any:
    """The names below, imported from their modules on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gdviz.core' has no attribute {name!r}")
    importlib.import_module("gdviz.core.scene")  # every problem registered (see registry.py)
    value = getattr(importlib.import_module(f"gdviz.core.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "PROBLEMS",
    "RULES",
    "DataError",
    "ExpressionError",
    "Minimum",
    "OptimizerEntry",
    "Problem",
    "Rule",
    "Scene",
    "SceneError",
    "Surface",
    "Trajectory",
    "builtin_scene_names",
    "check_expression",
    "dumps_scene",
    "load_data_csv",
    "load_scene",
    "make_problem",
    "parse_scene",
    "save_scene",
    "scene_from_dict",
    "simulate",
    "surface",
]


class _Core(types.ModuleType):
    """The package module, keeping ``simulate`` and ``surface`` the functions.

    Importing a submodule binds its name on the package: once anything imports
    ``gdviz.core.simulate`` (the module), ``from gdviz.core import simulate`` would return the
    module, not the function, and ``gdviz.simulate(scene)`` would fail. The eager package did not
    have this: it rebound both names to the functions after importing their modules. Here the
    package refuses to rebind them to a module; the modules stay in ``sys.modules``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("simulate", "surface") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Core
