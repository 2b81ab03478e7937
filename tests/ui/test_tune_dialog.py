"""Tools > Tune learning rates: the dialog applies exactly what tune() chose, Cancel changes
nothing, and an entry that diverges at every rate is shown as such."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdviz.core import parse_scene
from gdviz.core.tune import tune

GRID = (5, 3)
"""Small grids: a search costs its compile (~2 s an entry on a loaded machine), not its runs."""

BOWL = """
title = "bowl"
steps = 25
start = [-2.0, 1.5]

[problem]
name = "quadratic"
condition = 10.0

[[optimizer]]
name = "sgd"
label = "GD"
learning_rate = 0.02

[[optimizer]]
name = "momentum"
label = "Momentum (hidden)"
learning_rate = 0.01
visible = false
"""

STEEP = """
title = "steep"
steps = 20
start = [-10.0, 10.0]

[problem]
name = "rosenbrock"

[[optimizer]]
name = "sgd"
label = "GD"
learning_rate = 1e-5

[[optimizer]]
name = "adam"
label = "Adam"
learning_rate = 0.1
"""


@pytest.fixture
def parts(qapp):  # noqa: ANN001, ANN201
    """A controller and a worker, as the window gives the dialog (no window: it costs seconds)."""
    from gdviz.ui.controller import Controller
    from gdviz.ui.map_worker import MapRunner

    made = []

    def make(text: str):  # noqa: ANN202
        controller = Controller(parse_scene(text), background=False)
        runner = MapRunner()
        made.append((controller, runner))
        return controller, runner

    yield make
    for controller, runner in made:
        runner.shutdown()
        controller.shutdown()


def _dialog(controller, runner):  # noqa: ANN001, ANN202
    from gdviz.ui.tune_dialog import TuneDialog

    dialog = TuneDialog(controller, runner)
    dialog.grid_sizes = GRID
    dialog.show()
    return dialog


def _run(qtbot, dialog) -> None:  # noqa: ANN001
    dialog.start()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=120_000)


def test_apply_sets_exactly_the_rates_tune_chose(parts, qtbot) -> None:  # noqa: ANN001
    controller, runner = parts(BOWL)
    scene = controller.scene
    dialog = _dialog(controller, runner)
    assert dialog.labels == ["GD"]  # the visible entries only
    _run(qtbot, dialog)
    reference = tune(scene, objective="final_loss", coarse=GRID[0], fine=GRID[1])
    result = dialog.result
    assert result is not None and result.rates == reference.rates
    curve, expected = result.curves["GD"], reference.curves["GD"]
    np.testing.assert_array_equal(curve.rates, expected.rates)
    np.testing.assert_array_equal(curve.final_loss, expected.final_loss)
    # The table: old rate, tuned rate, and the final loss at the tuned rate.
    cells = [dialog.table.item(0, c).text() for c in range(4)]
    best = reference.rates["GD"]
    at_best = expected.final_loss[int(np.argmin(np.abs(expected.rates - best)))]
    assert cells == ["■ GD", "0.02", f"{best:.4g}", f"{at_best:.4g}"]
    # The plot: the curve is final loss against rate, the star at the chosen rate.
    x, y = dialog.curves["GD"].getOriginalDataset()
    finite = np.isfinite(expected.final_loss)
    np.testing.assert_allclose(x, expected.rates)
    np.testing.assert_allclose(y[finite], expected.final_loss[finite])
    assert dialog.chosen["GD"].getOriginalDataset()[0][0] == best
    assert dialog.apply_button.isEnabled()

    dialog.apply_button.click()
    new = controller.scene
    assert new.entry("GD").hyperparams["learning_rate"] == best
    assert new.entry("Momentum (hidden)") == scene.entry("Momentum (hidden)")
    assert new.optimizers == reference.scene.optimizers
    # The paths follow at once (a traced rate: computed on the spot, nothing compiling).
    assert not controller.busy
    assert math.isclose(controller.results["GD"].loss[-1], at_best, rel_tol=1e-12)


def test_cancel_changes_nothing(parts, qtbot) -> None:  # noqa: ANN001
    controller, runner = parts(BOWL)
    scene, results = controller.scene, controller.results
    dialog = _dialog(controller, runner)
    runner.set_paused(True)  # as during a drag: the job waits before its first entry
    dialog.objective.setCurrentIndex(1)  # fewest steps to a loss
    assert dialog.threshold.isEnabled()
    dialog.start()
    assert dialog.job is not None and not dialog.apply_button.isEnabled()
    dialog.buttons.button(dialog.buttons.StandardButton.Cancel).click()
    runner.set_paused(False)
    assert runner.wait_idle(timeout=60)
    qtbot.wait(0)  # any queued report of the job would arrive now
    assert dialog.result is None and not dialog.isVisible()
    assert controller.scene is scene and controller.results is results


def test_an_entry_that_diverges_at_every_rate_is_shown_and_kept(parts, qtbot) -> None:  # noqa: ANN001
    controller, runner = parts(STEEP)
    dialog = _dialog(controller, runner)
    _run(qtbot, dialog)
    result = dialog.result
    assert result is not None, dialog.status.text()
    assert result.curves["GD"].diverged and not result.curves["Adam"].diverged
    assert np.isinf(result.curves["GD"].final_loss).all()
    rows = {
        dialog.table.item(r, 0).text(): [dialog.table.item(r, c).text() for c in range(4)]
        for r in range(dialog.table.rowCount())
    }
    assert rows["■ GD"][2:] == ["— (keeps its rate)", "diverged at every rate"]
    assert "GD diverged at every rate tried" in dialog.status.text()
    # Drawn as crosses only (no curve, no star; named in the legend); Adam has its curve and star.
    assert "GD" not in dialog.curves and "GD" not in dialog.chosen
    crosses = dialog.diverged["GD"]
    np.testing.assert_array_equal(crosses.getOriginalDataset()[0], result.curves["GD"].rates)
    assert crosses.name() == "GD (diverged)"
    assert "Adam" in dialog.curves and "Adam" in dialog.chosen
    dialog.apply_button.click()
    assert controller.scene.entry("GD").hyperparams["learning_rate"] == 1e-5
    assert controller.scene.entry("Adam").hyperparams["learning_rate"] == result.rates["Adam"]


def test_the_window_offers_it_under_tools_with_its_own_key(window) -> None:  # noqa: ANN001
    actions = [a for a in window.actions() if a.text().replace("&", "") == "Tune learning rates…"]
    assert len(actions) == 1
    keys = [a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()]
    assert keys.count("Ctrl+T") == 1
    actions[0].trigger()
    dialog = window.tune_dialog
    visible = [e.label for e in window.controller.scene.optimizers if e.visible]
    assert dialog.isVisible() and dialog.labels == visible
    dialog.reject()
    assert window.controller.scene is dialog.scene
