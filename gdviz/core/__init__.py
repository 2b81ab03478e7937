"""The pure core of gdviz: problems, update rules, trajectories, surfaces and scenes.

Nothing here imports Qt. Importing the core switches JAX to float64 (``jax_enable_x64``): paths
are compared against plain-loop references to 1e-9, which float32 cannot hold.
"""

import jax

jax.config.update("jax_enable_x64", True)

from gdviz.core import networks  # noqa: E402, F401  (registers the toy networks)
from gdviz.core.datafile import DataError, load_data_csv  # noqa: E402
from gdviz.core.expression import ExpressionError, check_expression  # noqa: E402
from gdviz.core.optimizers import RULES, Rule  # noqa: E402
from gdviz.core.problems import Minimum, Problem, make_problem  # noqa: E402
from gdviz.core.registry import PROBLEMS  # noqa: E402
from gdviz.core.scene import (  # noqa: E402
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
from gdviz.core.simulate import Trajectory, simulate  # noqa: E402
from gdviz.core.surface import Surface, surface  # noqa: E402

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
