"""``gdviz bench``: the figures that say whether gdviz is fast enough to drag.

Prints one JSON object: the machine (CPU model, cores, load), then per scene the core figures
(compile, recompute against numpy loops, surfaces) and the window figures (drag, playback frame,
render), and the start-up figures (window shown, first paths; with an empty and with a warm JAX
compile cache). Every timing is a median over repeats after warm-up: machines are noisy, so
compare figures from the same run, never across runs.

The window figures run in a child process on the Qt platform asked for: ``offscreen`` (Qt alone)
or ``xcb`` (what an X desktop paints through, under ``xvfb-run`` when there is no display). Each
start-up is a fresh ``python`` process timed from its launch. This module imports no Qt.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gdviz.core import reference
from gdviz.core.problems import Problem
from gdviz.core.scene import Scene


def _median_ms(fn: Callable[[int], object], repeats: int) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _drag_starts(scene: Scene, count: int) -> list[tuple[float, float]]:
    """Start points along a small circle around the scene's start, as a drag would give."""
    x, y = scene.start
    angles = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
    return [(x + 0.3 * np.cos(a), y + 0.3 * np.sin(a)) for a in angles]


def numpy_loops(scene: Scene, problem: Problem) -> None:
    """The default scene's work as plain numpy loops: the baseline jit + scan is measured against.

    Linear regression only (the default scene): every entry runs through the plain-loop form of its
    rule (:mod:`gdviz.core.reference`, the tests' oracle) on the hand-written MSE gradient, with
    its mini-batch schedule, and the full-batch loss is taken at every point, as simulate does.
    """
    assert problem.x is not None and problem.y is not None
    from gdviz.core.simulate import batch_schedule

    x, y, n = problem.x, problem.y, problem.n
    for e in scene.optimizers:
        batches = None
        if e.batch_size is not None and e.batch_size < n:
            batches = np.asarray(batch_schedule(n, e.batch_size, scene.steps, scene.seed))
        points = reference.run(
            e.rule,
            scene.convention,
            reference.mse_grad(x, y, batches),
            scene.start_of(e),
            scene.steps,
            **e.resolved_hyperparams(scene.convention),
        )
        [reference.mse(p, x, y) for p in points]


class BenchError(Exception):
    """The bench cannot run as asked (no display and no xvfb-run, a child process failed)."""


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, load, versions."""
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average_1_5_15_min": load,  # other work on the machine makes every figure slower
        "system": f"{platform.system()} {platform.release()}",
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "numpy": np.__version__,
        },
    }


def core_figures(scene_name: str = "linear-regression", repeats: int = 200) -> dict[str, Any]:
    """Compile time, recompute time against numpy loops, and surface times."""
    from gdviz.core import load_scene, simulate, surface

    # A cold compile: no persistent cache in this process unless the user configured one.
    scene = load_scene(scene_name)
    if scene.is_network:
        return network_scene_figures(scene, repeats)
    problem = scene.build_problem()
    t0 = time.perf_counter()
    simulate(scene, problem)
    compile_s = time.perf_counter() - t0

    starts = _drag_starts(scene, repeats)
    for s in starts[:10]:
        simulate(scene.with_start(s), problem)
    recompute = _median_ms(lambda i: simulate(scene.with_start(starts[i]), problem), repeats)

    figures: dict[str, Any] = {
        "problem": scene.problem,
        "entries": len(scene.optimizers),
        "steps": scene.steps,
        "compile_s": round(compile_s, 3),
        "recompute_ms": round(recompute, 3),
        # The hand-written numpy baseline exists for linear regression (the default scene) only.
        "numpy_loops_ms": None,
        "speedup": None,
    }
    if scene.problem == "linear_regression":
        loops = _median_ms(lambda i: numpy_loops(scene.with_start(starts[i]), problem), 5)
        figures["numpy_loops_ms"] = round(loops, 2)
        figures["speedup"] = round(loops / recompute, 1)
    for res in (256, 512):
        surface(problem, resolution=res)  # compile this shape
        figures[f"surface_{res}_ms"] = round(
            _median_ms(lambda i, r=res: surface(problem, resolution=r), 20), 2
        )
    return figures


BASIN_SCENES = {"himmelblau": 500, "himmelblau-basins": 500, "local-minimum": None}
"""Scenes whose basin maps ``gdviz bench`` times too (``--scene himmelblau``, or ``--all``), with
the steps per run (None: the scene's). Himmelblau at 500 steps is the issue's target (256² starts
x nine entries <= 2 s, see :data:`NINE_ENTRIES`); local-minimum is the tiny network. The other
scenes skip them: a 256² map of the network takes tens of seconds on two cores."""

NINE_ENTRIES = {
    "himmelblau": (
        ("sgd", "GD 0.01", {"learning_rate": 0.01}),
        ("sgd", "GD 0.002", {"learning_rate": 0.002}),
        ("nesterov", "Nesterov", {"learning_rate": 0.002, "momentum": 0.9}),
        ("adadelta", "AdaDelta", {}),
    ),
}
"""Entries that top a scene's up to nine classic rules for the nine-entry figures (issue 13's
goal: nine entries x 256² starts x 500 steps on Himmelblau <= 2 s, the 64² preview <= 100 ms).
Himmelblau's GD, Momentum, AdaGrad, RMSprop and Adam gain GD at two more learning rates,
Nesterov (as its Momentum) and AdaDelta (its defaults): four rules in float32, four adaptive
ones in float64, as "auto" runs them."""


def basin_figures(scene_name: str, steps: int | None, repeats: int = 5) -> dict[str, Any]:
    """Basin-map times (:mod:`gdviz.core.basins`): the whole scene at 64² (the preview) and 256²
    (``basins_64_ms``, ``basins_256_ms``), and one entry at 128² with its learning rate moved
    each time (``basins_live_ms``, a live map following a slider); medians over ``repeats`` after
    a warm-up that compiles (``basins_compile_s``). All in the default precision ("auto");
    ``basins_256_float32_ms`` and ``basins_256_float64_ms`` are the 256² map in one precision
    for every entry. For a scene of :data:`NINE_ENTRIES`, ``basins_9x64_ms`` and
    ``basins_9x256_ms`` time the map of its entries topped up to nine."""
    from gdviz.core import OptimizerEntry, load_scene
    from gdviz.core.basins import basins

    scene = load_scene(scene_name)
    steps = steps or scene.steps
    label = scene.optimizers[min(1, len(scene.optimizers) - 1)].label  # momentum where there is one
    t0 = time.perf_counter()
    basins(scene, 64, steps)
    basins(scene, 256, steps)
    basins(scene, 128, steps, labels=[label])
    compile_s = time.perf_counter() - t0
    for precision in ("float32", "float64"):
        basins(scene, 256, steps, precision=precision)  # compile
    lr = {
        e.label: e.resolved_hyperparams(scene.convention)["learning_rate"] for e in scene.optimizers
    }

    def edited(i: int):  # noqa: ANN202 (a Scene): a slider move, as a live map sees it
        return scene.replace_entry(
            label,
            hyperparams={
                **scene.entry(label).hyperparams,
                "learning_rate": lr[label] * (1 + 0.01 * (i % 7)),
            },
        )

    figures: dict[str, Any] = {}
    if scene_name in NINE_ENTRIES:
        extra = tuple(OptimizerEntry(r, label, h) for r, label, h in NINE_ENTRIES[scene_name])
        nine = scene.replace(optimizers=(*scene.optimizers, *extra)[:9])
        basins(nine, 64, steps)  # compile
        basins(nine, 256, steps)
        figures["basins_9x64_ms"] = round(_median_ms(lambda i: basins(nine, 64, steps), repeats), 1)
        figures["basins_9x256_ms"] = round(
            _median_ms(lambda i: basins(nine, 256, steps), repeats), 1
        )
    return {
        "entries": len(scene.optimizers),
        "steps": steps,
        "basins_compile_s": round(compile_s, 2),
        "basins_64_ms": round(_median_ms(lambda i: basins(scene, 64, steps), repeats), 1),
        "basins_256_ms": round(_median_ms(lambda i: basins(scene, 256, steps), repeats), 1),
        "basins_256_float32_ms": round(
            _median_ms(lambda i: basins(scene, 256, steps, precision="float32"), repeats), 1
        ),
        "basins_256_float64_ms": round(
            _median_ms(lambda i: basins(scene, 256, steps, precision="float64"), repeats), 1
        ),
        "basins_live_ms": round(
            _median_ms(lambda i: basins(edited(i), 128, steps, labels=[label]), repeats), 1
        ),
        "basins_live_entry": label,
        **figures,
    }


NETWORK_RULES = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "lion",
)
"""The nine entries of the full-weight-space figures, each at its rule's default learning rate."""


def network_scene_figures(scene: Scene, repeats: int) -> dict[str, Any]:
    """A network scene's core figures: every entry trained (``compile_s``: the first time),
    trained again from a moved initialisation (``recompute_ms``: what each move of the start
    handle asks of the window's worker, projections aside), and the loss over 128² points of
    the plane the window draws (``surface_128_ms``). At most ten repeats: a larger scene's
    training takes most of a second."""
    import dataclasses

    from gdviz.core.weightspace import picture, picture_surface, train

    network = scene.build_network()
    t0 = time.perf_counter()
    paths = train(scene, network)
    compile_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    nudge = 0.01 * float(np.std(network.init))
    count = max(3, min(repeats, 10))
    inits = [network.init + nudge * rng.standard_normal(network.init.shape) for _ in range(count)]
    recompute = _median_ms(
        lambda i: train(scene, dataclasses.replace(network, init=inits[i])), count
    )
    shown = picture(scene, paths, network=network)
    picture_surface(shown, 128)  # compile this shape
    return {
        "problem": scene.problem,
        "weights": network.n_weights,
        "entries": len(scene.optimizers),
        "steps": scene.steps,
        "compile_s": round(compile_s, 3),
        "recompute_ms": round(recompute, 2),
        "surface_128_ms": round(_median_ms(lambda i: picture_surface(shown, 128), count), 2),
    }


def network_figures(repeats: int = 5) -> dict[str, Any]:
    """Full weight space (:mod:`gdviz.core.weightspace`): nine entries x 500 steps on a 2-8-8-1
    tanh net with 200 moons points, full batch (``mlp_train_ms``; issue 15's goal is <= 300 ms),
    and the loss over a 128² grid on their PCA plane (``plane_surface_128_ms``; goal <= 1 s):
    medians over ``repeats`` after a first call that compiles (``mlp_compile_s``,
    ``plane_surface_compile_s``)."""
    from gdviz.core import RULES
    from gdviz.core.scene import OptimizerEntry, Scene
    from gdviz.core.weightspace import picture, picture_surface, train

    entries = tuple(OptimizerEntry(r, RULES[r].title) for r in NETWORK_RULES)
    scene = Scene("mlp", entries, problem_params={"dataset": "moons", "n": 200}, steps=500)
    t0 = time.perf_counter()
    paths = train(scene)
    compile_s = time.perf_counter() - t0
    train_ms = _median_ms(lambda i: train(scene), repeats)
    shown = picture(scene, paths)
    t0 = time.perf_counter()
    picture_surface(shown, 128)
    surface_s = time.perf_counter() - t0
    return {
        "weights": shown.network.n_weights,
        "entries": len(entries),
        "steps": scene.steps,
        "mlp_compile_s": round(compile_s, 3),
        "mlp_train_ms": round(train_ms, 2),
        "plane_surface_compile_s": round(surface_s, 3),
        "plane_surface_128_ms": round(
            _median_ms(lambda i: picture_surface(shown, 128), repeats), 2
        ),
    }


PLATFORMS = ("offscreen", "xcb")
XVFB_SCREEN = "-screen 0 1920x1080x24"


def window_figures(
    scene_names: Sequence[str], repeats: int, qt_platform: str = "offscreen", startup: bool = True
) -> dict[str, Any]:
    """The window figures of every scene, and the start-up figures of the first, from a child
    process on ``qt_platform`` (under ``xvfb-run`` for xcb when there is no display).

    Raises:
      BenchError: xcb was asked for with no display and no xvfb-run, or the child failed.
    """
    if qt_platform not in PLATFORMS:
        raise BenchError(f"--platform must be one of {', '.join(PLATFORMS)}, not {qt_platform!r}")
    spec = {"scenes": list(scene_names), "repeats": repeats, "startup": startup}
    command = [sys.executable, "-c", "from gdviz.ui.bench import child_main; child_main()"]
    command.append(json.dumps(spec))
    env = {**os.environ, "QT_QPA_PLATFORM": qt_platform}
    display = "offscreen (no window system)"
    if qt_platform == "xcb":
        if os.environ.get("DISPLAY"):
            display = f"X display {os.environ['DISPLAY']}"
        elif shutil.which("xvfb-run"):
            command = ["xvfb-run", "-a", "-s", XVFB_SCREEN, *command]
            display = f"Xvfb {XVFB_SCREEN.split()[-1]} (xvfb-run)"
        else:
            raise BenchError("--platform xcb needs a display or xvfb-run (apt-get install xvfb)")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise BenchError(f"the window bench failed: {result.stderr.strip()[-2000:]}")
    figures = json.loads(lines[-1])
    figures["platform"] = qt_platform
    figures["display"] = display
    return figures


def run(
    scene_names: Sequence[str] | None = None,
    repeats: int = 200,
    core_only: bool = False,
    qt_platform: str = "offscreen",
    startup: bool = True,
) -> dict[str, Any]:
    """All figures for ``gdviz bench``: ``scene_names`` None means every built-in scene."""
    from gdviz.core.scene import builtin_scene_names

    names = list(builtin_scene_names() if scene_names is None else scene_names)
    figures: dict[str, Any] = {"machine": machine(), "repeats": repeats}
    scenes = {name: core_figures(name, repeats) for name in names}
    for name in names:
        if name in BASIN_SCENES:
            scenes[name].update(basin_figures(name, BASIN_SCENES[name], max(3, min(repeats, 7))))
    # Networks belong to no built-in scene: measured in the default run and with --all, not when
    # another single scene is asked for (a quick look stays quick).
    if scene_names is None or "linear-regression" in names:
        figures["networks"] = network_figures(max(3, min(repeats, 7)))
    if not core_only:
        window = window_figures(names, repeats, qt_platform, startup)
        for name, values in window.pop("scenes").items():
            scenes[name].update(values)
        figures["window"] = window
    figures["scenes"] = scenes
    return figures


def main(
    scene_names: Sequence[str] | None,
    repeats: int,
    core_only: bool = False,
    qt_platform: str = "offscreen",
    startup: bool = True,
) -> int:
    print(json.dumps(run(scene_names, repeats, core_only, qt_platform, startup), indent=2))
    return 0
