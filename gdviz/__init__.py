"""gdviz: watch gradient-based optimizers race across loss surfaces.

The public, Qt-free API::

    import gdviz
    scene = gdviz.load_scene("linear-regression")
    paths = gdviz.simulate(scene.with_start((-2.0, 4.0)))
    paths["Adam"].params  # (steps + 1, 2) numpy array
    gdviz.render(scene, "paths.mp4")  # or .gif, .png, .svg, .pdf: offscreen, no window

In IPython and Jupyter a scene shows itself as an inline, looping animation
(``gdviz.show(scene, seconds=...)`` for options): see :mod:`gdviz.notebook`.

The core loads on the first use of a name (``gdviz.load_scene``...), not on ``import gdviz``, and
switches JAX to float64 for the whole process then (``jax_enable_x64``): the paths are compared
with plain-loop references to 1e-9, which float32 cannot do. A program that uses gdviz beside its
own float32 JAX code should pass ``dtype=jnp.float32`` explicitly there.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdviz.core import (
        OptimizerEntry,
        Problem,
        Scene,
        SceneError,
        Surface,
        Trajectory,
        builtin_scene_names,
        load_scene,
        save_scene,
        simulate,
        surface,
    )
    from gdviz.output import render, screenshot, show

__version__ = "0.1.0"

__all__ = [
    "OptimizerEntry",
    "Problem",
    "Scene",
    "SceneError",
    "Surface",
    "Trajectory",
    "__version__",
    "builtin_scene_names",
    "load_scene",
    "render",
    "save_scene",
    "screenshot",
    "show",
    "simulate",
    "surface",
]

_ELSEWHERE = {"render": "gdviz.output", "screenshot": "gdviz.output", "show": "gdviz.output"}
"""Public names that live outside :mod:`gdviz.core` (output through Qt, loaded on first use)."""


def __getattr__(name: str) -> Any:
    """The public API, imported from :mod:`gdviz.core` on first use (PEP 562).

    ``import gdviz`` alone loads no JAX: the window command shows its start-up card ~0.3 s after
    launch instead of after JAX's ~1.4 s import. The first name used loads the core (and JAX,
    switched to float64) exactly as an eager import did.
    """
    if name in __all__ and name != "__version__":
        # JAX in float64 from here on, as the eager core did (the core's own modules load it
        # on first use, so that the window is on screen first: gdviz.core.deferred).
        importlib.import_module("gdviz.core.deferred").load("jax")
        value = getattr(importlib.import_module(_ELSEWHERE.get(name, "gdviz.core")), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gdviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if "IPython" in sys.modules:  # inside IPython or Jupyter: scenes display as animations
    from gdviz.notebook import register as _register_display

    _register_display()
    del _register_display
