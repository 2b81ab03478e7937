"""``gdviz bench``: the JSON it prints (fast paths only; benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def gdviz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdviz", *args], capture_output=True, text=True, timeout=300
    )


def test_core_bench_prints_machine_and_per_scene_figures() -> None:
    result = gdviz("bench", "--core", "--scene", "saddle-point", "--repeats", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    machine = out["machine"]
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    assert machine["cores"] >= 1 and machine["usable_cores"] >= 1
    assert out["repeats"] == 5
    figures = out["scenes"]["saddle-point"]
    assert figures["recompute_ms"] > 0 and figures["compile_s"] > 0
    assert figures["surface_256_ms"] > 0 and figures["entries"] >= 1
    # numpy loops exist for linear regression only: elsewhere the figures say so with null
    assert figures["numpy_loops_ms"] is None and figures["speedup"] is None
    assert "window" not in out  # --core: no Qt


def test_a_network_scene_has_core_figures_of_its_own() -> None:
    # --all once raised on the first network scene: its problem has no two-parameter surface.
    from gdviz.bench import core_figures

    figures = core_figures("moons", 3)
    assert figures["problem"] == "mlp" and figures["weights"] == 105
    assert figures["entries"] == 3 and figures["steps"] == 300
    assert figures["compile_s"] > 0 and figures["recompute_ms"] > 0
    assert figures["surface_128_ms"] > 0


def test_bench_scene_and_all_are_exclusive_and_repeats_checked() -> None:
    both = gdviz("bench", "--core", "--all", "--scene", "beale")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    few = gdviz("bench", "--core", "--repeats", "2")
    assert few.returncode == 2 and "--repeats" in few.stderr and "Traceback" not in few.stderr


def test_xcb_without_display_or_xvfb_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from gdviz import bench

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    with pytest.raises(bench.BenchError, match="xvfb-run"):
        bench.window_figures(["saddle-point"], 5, "xcb")
    with pytest.raises(bench.BenchError, match="--platform"):
        bench.window_figures(["saddle-point"], 5, "wayland")
