"""gdviz: watch gradient-based optimizers race across loss surfaces.

The public, Qt-free API::

    import gdviz
    scene = gdviz.load_scene("linear-regression")
    paths = gdviz.simulate(scene.with_start((-2.0, 4.0)))
    paths["Adam"].params  # (steps + 1, 2) numpy array

Importing gdviz switches JAX to float64 for the whole process (``jax_enable_x64``): the paths
are compared with plain-loop references to 1e-9, which float32 cannot do. A program that imports
gdviz beside its own float32 JAX code should pass ``dtype=jnp.float32`` explicitly there.
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
