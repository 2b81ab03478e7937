"""The 3-D view under Xvfb: heights equal the surface grid (the L2 one when shared), and pictures
are real and move.

OpenGL needs a display: these tests start Xvfb (``xvfb-run``) and run the checks in a child
process on Qt's xcb platform. They skip, saying why, only where Xvfb is not installed; .ci/run
installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is not installed (apt-get install xvfb xauth)",
)

CHECK = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from gdviz.core import load_scene, surface
    from gdviz.core.surface import loss_and_grad_at
    from gdviz.ui.app import _application
    from gdviz.ui.controller import Controller
    from gdviz.ui.overlays import OverlaySet
    from gdviz.ui.surface3d import GRID, Surface3DView, _rgba
    from gdviz.ui.recording import qimage_to_array
    from gdviz.ui.theme import DARK, LIGHT

    app = _application()
    ctl = Controller(load_scene("local-minimum"), background=False)
    overlays = OverlaySet()
    view = Surface3DView(ctl, overlays=overlays)
    view.resize(800, 600)
    view.show()
    app.processEvents()
    out = {"available": view.available, "reason": view.reason}
    if view.available:
        s = surface(ctl.problem, ctl.scene.view_rect(), GRID)
        z = view.surface_item._z  # what the GL item holds: z[i, j] at (x[i], y[j])
        out["heights_match"] = bool(np.allclose(z, view.heights.of(s.loss).T, rtol=0, atol=1e-12))
        out["height_span"] = float(z.max() - z.min())
        ctl.set_step(5)
        a = qimage_to_array(view.grab().toImage())
        ctl.set_step(300)
        b = qimage_to_array(view.grab().toImage())
        out["colours"] = int(len(np.unique(a.reshape(-1, 3)[::97], axis=0)))
        out["changed_pixels"] = int((np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30).sum())
        line = view.lines["Momentum"]
        out["trail_points"] = int(len(line.pos))
        head = line.pos[-1]
        out["trail_end_matches_path"] = bool(np.allclose(head[:2], ctl.results["Momentum"].params[300]))
        ctl.set_step(10)
        overlays.set("update", True)
        pairs = view.overlay_items["update"].pos
        gd = ctl.results["GD"]
        out["update_in_3d"] = bool(
            np.allclose(pairs[0, :2], gd.params[10]) and np.allclose(pairs[1, :2], gd.params[11])
        )
        # Each entry's shapes in its own colour, as in the 2-D view (one near-black a kind
        # vanished on the dark theme): GD's arrow in GD's colour, Momentum's in its own.
        rgba = np.asarray(view.overlay_items["update"].color, dtype=float)
        colors = ctl.colors(view.theme)
        want = np.array([_rgba(colors[k]) for k in ("GD", "Momentum")])
        out["overlay_entry_colours"] = bool(
            len(rgba) == len(pairs)
            and np.allclose(rgba[0], want[0], atol=1e-6)
            and np.allclose(np.unique(rgba.round(4), axis=0), np.unique(want.round(4), axis=0))
        )

        def labels():
            return {item.text: item.color.name().upper() for item in view.axes.labels}

        # An L2 term: the surface, trails and heads are the regularised loss while every visible
        # entry shares it, as in the 2-D view, and the plain loss again once they do not.
        rect = ctl.scene.view_rect()
        lift = 0.004 * max(rect[0][1] - rect[0][0], rect[1][1] - rect[1][0])

        def drawn(l2):
            # The GL items hold the core's surface, and the trails its loss + (l2/2)|θ|² at
            # their points (evaluated afresh here, the L2 term by hand); the heads end them.
            s = surface(ctl.problem, rect, GRID, l2=l2)
            heights = view.heights
            ok = view.surface_l2 == l2 and bool(
                np.allclose(view.surface_item._z, heights.of(s.loss).T, rtol=0, atol=1e-9)
            )
            heads = []
            for label in ("GD", "Momentum"):
                if not ctl.scene.entry(label).visible:
                    continue
                xy = ctl.results[label].params[: ctl.step + 1]
                want = loss_and_grad_at(ctl.problem, xy)[0] + l2 / 2 * (xy**2).sum(axis=1)
                z = view.lines[label].pos[:, 2]
                # The scan's recorded losses and a fresh evaluation agree to ~1e-8 (heights 0-4).
                ok = ok and bool(np.allclose(z, heights.of(want) + lift, rtol=0, atol=1e-6))
                heads.append(view.lines[label].pos[-1])
            return ok and bool(np.allclose(view.heads.pos, heads, atol=1e-12))

        ctl.set_step(120)
        plain_z = view.surface_item._z.copy()
        ctl.set_entry_field("Momentum", "l2", 3.0)  # GD has none: not shared, the plain loss
        out["l2_unshared_plain"] = drawn(0.0) and "loss" in labels()
        ctl.set_visible("GD", False)  # Momentum alone is visible: its loss + (3/2)|θ|²
        out["l2_shared_drawn"] = drawn(3.0)
        out["l2_surface_moved"] = float(np.abs(view.surface_item._z - plain_z).max())
        out["l2_title"] = "loss + (3/2)·|θ|²" in labels() and "(log scale)" in labels()
        ctl.set_visible("GD", True)
        out["l2_back_to_plain"] = drawn(0.0) and "loss + (3/2)·|θ|²" not in labels()
        ctl.set_entry_field("Momentum", "l2", 0.0)
        ctl.set_step(300)

        names = ctl.problem.axis_names
        light = labels()
        out["axis_titles"] = all(n in light for n in names) and {"loss", "(log scale)"} <= set(light)
        out["tick_labels"] = len(light) >= 10
        out["light_colour"] = set(light.values()) == {LIGHT.foreground.upper()}
        view.set_theme(DARK)
        out["dark_colour"] = set(labels().values()) == {DARK.foreground.upper()}
        view.log_height.setChecked(False)
        out["linear_title"] = "loss" in labels() and "(log scale)" not in labels()
        view.log_height.setChecked(True)
        ctl.set_scene(load_scene("rosenbrock"))
        ctl.wait_until_computed()
        app.processEvents()
        out["axes_follow_problem"] = all(n in labels() for n in ctl.problem.axis_names)
        dark = qimage_to_array(view.grab().toImage())
        out["dark_background"] = bool(np.median(dark) < 80)

    # The window: no GL widget at all (nothing pulls it into GL composition), and the 3-D view
    # is made only when its tab is first shown.
    from PySide6.QtCore import QPoint
    from PySide6.QtOpenGLWidgets import QOpenGLWidget
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(load_scene("linear-regression"), background=False)
    window.resize(1200, 800)
    window.show()
    app.processEvents()
    out["lazy"] = window.surface3d.view is None
    window.show_view("3d")
    app.processEvents()
    out["made_on_show"] = window.surface3d.view is not None
    out["no_gl_widget"] = not window.findChildren(QOpenGLWidget)
    shot = qimage_to_array(window.grab().toImage())
    x, y = window.surface3d.mapTo(window, QPoint(0, 0)).toTuple()
    w, h = window.surface3d.width(), window.surface3d.height()
    region = shot[y : y + h, x : x + w]
    out["window_grab_colours"] = int(len(np.unique(region.reshape(-1, 3)[::97], axis=0)))
    heights = window.surface3d.heights
    window.show_view("2d")
    app.processEvents()
    window.controller.set_scene(load_scene("beale"))
    window.controller.wait_until_computed()
    app.processEvents()
    out["hidden_skips_surface"] = window.surface3d.heights is heights
    window.show_view("3d")
    app.processEvents()
    texts = {item.text for item in window.surface3d.axes.labels}
    out["catches_up_on_show"] = window.surface3d.heights is not heights and all(
        n in texts for n in window.controller.problem.axis_names
    )
    print(json.dumps(out))
    """
)


def test_3d_heights_pictures_and_trails(tmp_path: Path) -> None:
    script = tmp_path / "check3d.py"
    script.write_text(CHECK)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["available"], out["reason"]
    assert out["heights_match"]
    assert out["height_span"] > 1.0
    assert out["colours"] > 50  # a shaded surface, not a blank frame
    assert out["changed_pixels"] > 500  # the trails and balls moved with the step
    assert out["trail_points"] == 301 and out["trail_end_matches_path"]
    assert out["update_in_3d"]  # the overlays lie on the 3-D surface too
    assert out["overlay_entry_colours"]  # in their entries' colours
    # The L2 surface: drawn only while every visible entry shares it, trails and heads on it
    assert out["l2_unshared_plain"] and out["l2_shared_drawn"] and out["l2_back_to_plain"]
    assert out["l2_surface_moved"] > 0.1 and out["l2_title"]
    # Axes: both parameters by name, the loss, ticks, in the theme's foreground colour
    assert out["axis_titles"] and out["tick_labels"]
    assert out["light_colour"] and out["dark_colour"] and out["dark_background"]
    assert out["linear_title"] and out["axes_follow_problem"]
    assert out["lazy"] and out["made_on_show"] and out["no_gl_widget"]
    assert out["window_grab_colours"] > 50  # window.grab() shows the 3-D picture, not a blank
    assert out["hidden_skips_surface"] and out["catches_up_on_show"]


def test_3d_screenshot_command_under_xvfb(tmp_path: Path) -> None:
    out = tmp_path / "s3d.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x1024x24",
            sys.executable,
            "-m",
            "gdviz",
            "screenshot",
            "beale",
            "-o",
            str(out),
            "--view",
            "3d",
            "--size",
            "900x600",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 600)


def test_without_opengl_the_window_says_why(window) -> None:  # noqa: ANN001
    # The test process runs offscreen, where Qt has no OpenGL: the tab stays, with the reason.
    view = window.surface3d
    assert not view.available and "offscreen" in view.reason
    assert "unavailable" in window.view_tabs.tabToolTip(1)


def test_without_opengl_switching_to_the_3d_tab_never_raises(window, qtbot) -> None:  # noqa: ANN001
    # Issue 10 item 7: offscreen, each switch raised AttributeError from showEvent.
    with qtbot.captureExceptions() as exceptions:
        for _ in range(20):
            window.show_view("3d")
            qtbot.wait(1)
            window.show_view("2d")
            qtbot.wait(1)
    assert not exceptions, exceptions[0]
    view = window.surface3d
    assert not view.available and view.view is None
    assert view.isVisible() is False
    window.show_view("3d")
    labels = [label.text() for label in view.findChildren(QLabel)]
    assert labels == [f"3-D view unavailable: {view.reason}."]


def test_3d_render_command_exits_cleanly_under_xvfb(tmp_path: Path) -> None:
    # It once wrote its file, then crashed in Qt's teardown (a GL window outliving the app).
    out = tmp_path / "r3d.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    command = [sys.executable, "-m", "gdviz", "render", "local-minimum", "-o", str(out)]
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", *command, "--view", "3d"]
        + ["--size", "640x360"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from PySide6.QtGui import QImage

    from gdviz.ui.recording import qimage_to_array

    image = qimage_to_array(QImage(str(out)))
    assert image.shape == (360, 640, 3)
    assert len(np.unique(image.reshape(-1, 3)[::7], axis=0)) > 50  # the shaded surface is in it
