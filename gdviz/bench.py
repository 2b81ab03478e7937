"""``gdviz bench``: the figures that say whether gdviz is fast enough to drag.

Prints one JSON object. Every timing is a median over repeats after warm-up, in one process:
machines are noisy, so compare figures from the same run, never across runs.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

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

    Linear regression only (the default scene): the MSE gradient is written out by hand, each rule
    in its optax form. Numbers are not checked here; tests/core/reference.py does that.
    """
    assert problem.x is not None and problem.y is not None
    from gdviz.core.simulate import batch_schedule

    x, y, n = problem.x, problem.y, problem.n
    for e in scene.optimizers:
        h = e.resolved_hyperparams(scene.convention)
        lr = h["learning_rate"]
        p = np.array(scene.start_of(e), dtype=np.float64)
        m = np.zeros(2)
        v = np.zeros(2) + (h.get("initial_accumulator_value", 0.0) if e.rule == "adagrad" else 0.0)
        d = np.zeros(2)
        batches = None
        if e.batch_size is not None and e.batch_size < n:
            batches = np.asarray(batch_schedule(n, e.batch_size, scene.steps, scene.seed))
        losses = [float(np.mean((p[0] * x + p[1] - y) ** 2))]
        for k in range(scene.steps):
            bx, by = (x, y) if batches is None else (x[batches[k]], y[batches[k]])
            r = p[0] * bx + p[1] - by
            g = np.array([2 * np.mean(r * bx), 2 * np.mean(r)])
            if e.rule == "sgd":
                u = -lr * g
            elif e.rule in ("momentum", "nesterov"):
                m = g + h["momentum"] * m
                u = -lr * (g + h["momentum"] * m if e.rule == "nesterov" else m)
            elif e.rule == "adagrad":
                v = v + g * g
                u = -lr * g / np.sqrt(v + h["eps"])
            elif e.rule == "adadelta":
                v = h["rho"] * v + (1 - h["rho"]) * g * g
                u = -lr * np.sqrt(d + h["eps"]) / np.sqrt(v + h["eps"]) * g
                d = h["rho"] * d + (1 - h["rho"]) * u * u / lr**2
            elif e.rule == "rmsprop":
                v = h["decay"] * v + (1 - h["decay"]) * g * g
                u = -lr * g / np.sqrt(v + h["eps"])
            else:  # adam
                m = h["b1"] * m + (1 - h["b1"]) * g
                v = h["b2"] * v + (1 - h["b2"]) * g * g
                mh, vh = m / (1 - h["b1"] ** (k + 1)), v / (1 - h["b2"] ** (k + 1))
                u = -lr * mh / (np.sqrt(vh) + h["eps"])
            p = p + u
            losses.append(float(np.mean((p[0] * x + p[1] - y) ** 2)))


def core_figures(scene_name: str = "linear-regression", repeats: int = 200) -> dict[str, Any]:
    """Compile time, recompute time against numpy loops, and surface times."""
    import jax

    from gdviz.core import load_scene, simulate, surface

    # A cold compile: no persistent cache in this process unless the user configured one.
    scene = load_scene(scene_name)
    problem = scene.build_problem()
    t0 = time.perf_counter()
    simulate(scene, problem)
    compile_s = time.perf_counter() - t0

    starts = _drag_starts(scene, repeats)
    for s in starts[:10]:
        simulate(scene.with_start(s), problem)
    recompute = _median_ms(lambda i: simulate(scene.with_start(starts[i]), problem), repeats)
    loops = _median_ms(lambda i: numpy_loops(scene.with_start(starts[i]), problem), 5)

    figures: dict[str, Any] = {
        "scene": scene_name,
        "entries": len(scene.optimizers),
        "steps": scene.steps,
        "compile_s": round(compile_s, 3),
        "recompute_ms": round(recompute, 3),
        "numpy_loops_ms": round(loops, 2),
        "speedup": round(loops / recompute, 1),
    }
    for res in (256, 512):
        surface(problem, resolution=res)  # compile this shape
        figures[f"surface_{res}_ms"] = round(
            _median_ms(lambda i, r=res: surface(problem, resolution=r), 20), 2
        )
    figures["versions"] = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
    }
    return figures


def run(
    scene_name: str = "linear-regression", repeats: int = 200, core_only: bool = False
) -> dict[str, Any]:
    """All figures for ``gdviz bench``."""
    figures = core_figures(scene_name, repeats)
    if not core_only:
        from gdviz.ui.bench import ui_figures

        figures.update(ui_figures(scene_name, repeats))
    return figures


def main(scene_name: str, repeats: int, core_only: bool = False) -> int:
    print(json.dumps(run(scene_name, repeats, core_only), indent=2))
    return 0
