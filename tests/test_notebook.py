"""Scenes in Jupyter: the display hook, its cache, and the example notebook run top to bottom."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import gdviz
from gdviz import notebook

EXAMPLE = Path(__file__).parents[1] / "examples" / "gdviz-in-a-notebook.ipynb"
TINY = (
    'title = "A & B <bowl>"\ncaption = "Two rules, one bowl."\nsteps = 12\nstart = [1.0, 1.0]\n'
    '[problem]\nname = "quadratic"\n[[optimizer]]\nname = "sgd"\nlearning_rate = 0.1\n'
    '[[optimizer]]\nname = "adam"\nlearning_rate = 0.1\n'
)


def test_importing_gdviz_imports_no_ipython() -> None:
    code = "import sys, gdviz; print('IPython' in sys.modules, callable(gdviz.show))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_example_notebook_is_stored_without_outputs() -> None:
    cells = json.loads(EXAMPLE.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_a_scene_shows_as_a_cached_looping_video_through_ipythons_formatter(
    qapp,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter

    import gdviz.output
    from gdviz.core import parse_scene
    from gdviz.export.files import ExportError

    calls = []
    real_render = gdviz.output.render

    def counting_render(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args[2:4])
        return real_render(*args, **kwargs)

    monkeypatch.setattr(gdviz.output, "render", counting_render)
    notebook.clear_cache()
    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())
    assert notebook.register(shell) is True
    assert notebook.register(types.SimpleNamespace()) is False  # no IPython: nothing to do

    scene = parse_scene(TINY)
    data, _ = shell.display_formatter.format(scene)
    page = data["text/html"]
    assert "<video autoplay loop muted playsinline" in page
    assert "<strong>A &amp; B &lt;bowl&gt;</strong><br>Two rules, one bowl." in page
    video = base64.b64decode(page.split("base64,")[1].split('"')[0])
    assert video[4:8] == b"ftyp"  # an MP4
    assert calls == [((960, 540), 20.0)]
    # The same content again (a new but equal scene object) is served from the cache.
    assert shell.display_formatter.format(parse_scene(TINY))[0]["text/html"] == page
    assert len(calls) == 1
    small = gdviz.show(scene, seconds=1, size=(321, 181), fmt="gif")
    assert "<gdviz animation" in repr(small) and calls == [((960, 540), 20.0)]  # lazy
    mime, gif = small.data()
    assert mime == "image/gif" and gif[:6] == b"GIF89a" and calls[-1] == ((320, 180), 20.0)
    assert '<img src="data:image/gif;base64,' in small._repr_html_()
    with pytest.raises(ExportError, match="fps must be between"):
        gdviz.show(scene, fps=0)


def test_the_example_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    pytest.importorskip("ipykernel", reason="the notebook extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebook extra is not installed")
    import nbformat

    nb = nbformat.read(EXAMPLE, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert not any(o.output_type == "error" for out in outputs for o in out)
    shown = outputs[1][0].data["text/html"]
    assert "<video autoplay loop muted playsinline" in shown and "<figcaption" in shown
    assert "<video" in outputs[2][0].data["text/html"]
    assert "image/svg+xml" in outputs[3][0].data
    assert (tmp_path / "ill-conditioned.svg").exists()
    losses = outputs[4][0].data["text/plain"]
    labels = [e.label for e in gdviz.load_scene("ill-conditioned").optimizers]
    assert losses.startswith("{") and all(repr(label) in losses for label in labels)
