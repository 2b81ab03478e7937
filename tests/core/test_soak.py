"""A long lecture through the core: memory levels off (issue 10, item 8 and item 3).

Runs in a subprocess so that the process's resident memory measures only this work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SOAK = textwrap.dedent(
    """
    import json, os, time

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    from gdviz.core import OptimizerEntry, Scene, simulate
    import sys
    from gdviz.core.simulate import compiled_count
    sim_module = sys.modules["gdviz.core.simulate"]
    # Bounds lowered so that the soak crosses each several times (real ones: 16, 64 MB).
    sim_module.MAX_COMPILED = 6
    sim_module.TABLE_CACHE_BYTES = 3 * 2**20

    def lecture(b, i):
        # n = 1000, steps = 400: the old schedule kept a 400 x b table per batch size (2.6 MB)
        # and built a 400 x 1000 int64 one (3.2 MB) on the way. (n = 3000 took 4x the time: each
        # step's full-batch loss runs over the padded 4096 points.)
        return Scene(
            problem="linear_regression",
            problem_params={"n": 1000, "noise": 0.5 + (i % 7) / 10, "data_seed": i % 5},
            optimizers=(
                OptimizerEntry("sgd", "sgd", {"learning_rate": 0.01 + (i % 9) / 1000}, batch_size=b),
                OptimizerEntry("adam", "adam", {"learning_rate": 0.05}),
            ),
            steps=400,
            start=(-2.0 + (i % 11) / 5, 4.0 - (i % 13) / 5),
        )

    others = [
        Scene(problem=p, optimizers=(OptimizerEntry("sgd", "gd", {"learning_rate": 1e-3}),
                                     OptimizerEntry("adam", "adam")), steps=200, start=(0.5, 0.5))
        for p in ("quadratic", "rosenbrock", "beale")
    ]
    t0 = time.perf_counter()
    shapes = set()

    def edits(first, count, new_shape_every):
        for i in range(first, first + count):
            b = 800 + (i // new_shape_every)  # a new batch size: a new shape, a new compile
            shapes.add(b)
            simulate(lecture(b, i))

    edits(0, 96, 48)                       # warm-up: 2 shapes, caches and allocator settle
    for k in range(3):
        simulate(others[k])
    warm = rss_mb()
    t_warm = time.perf_counter() - t0
    switches = 0
    for block in range(30):                # 500 edits and 30 scene switches
        edits(96 + block * 17, 17 if block < 29 else 7, 48)
        simulate(others[block % 3])
        switches += 1
    end = rss_mb()
    print(json.dumps({"warm": warm, "end": end, "shapes": len(shapes), "switches": switches,
                      "compiled": compiled_count(), "max": sim_module.MAX_COMPILED,
                      "tables": sim_module.cached_table_bytes(),
                      "warm_seconds": t_warm, "seconds": time.perf_counter() - t0}))
    """
)


def test_memory_levels_off_over_500_edits_and_30_scene_switches() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SOAK], capture_output=True, text=True, timeout=600, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    print(report)
    assert report["switches"] == 30
    assert report["shapes"] > report["max"]  # the LRU was made to evict
    assert report["compiled"] <= report["max"]
    assert report["end"] - report["warm"] < 100, report
