"""gdviz: watch gradient-based optimizers race across loss surfaces.

The public, Qt-free API::

    import gdviz
    scene = gdviz.load_scene("linear-regression")
    paths = gdviz.simulate(scene.with_start((-2.0, 4.0)))
    paths["Adam"].params  # (steps + 1, 2) numpy array
"""

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
    "save_scene",
    "simulate",
    "surface",
]
