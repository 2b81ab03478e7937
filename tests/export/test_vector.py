"""SVG and PDF figures for slides: vectors where it matters, text as text, one raster heatmap."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gdviz.export.svg import SVG_NS, flatten_cosmetic_strokes

SCENE = """title = "Two paths on Rosenbrock"
caption = "Adam reaches the valley; momentum creeps."
steps = 40
start = [-1.0, 1.5]
[problem]
name = "rosenbrock"
[[optimizer]]
name = "adam"
learning_rate = 0.1
color = "#0072B2"
[[optimizer]]
name = "momentum"
learning_rate = 0.001
color = "#D55E00"
[[optimizer]]
name = "sgd"
label = "hidden SGD"
learning_rate = 0.001
color = "#CC79A7"
visible = false
"""
SIZE = (960, 540)
SVG = f"{{{SVG_NS}}}"


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One SVG and one PDF of the scene at step 20, made through the public API in-process."""
    import gdviz
    from gdviz.core import parse_scene
    from gdviz.output import qt_application

    qt_application()
    folder = tmp_path_factory.mktemp("figures")
    scene = parse_scene(SCENE)
    return {
        suffix: gdviz.render(scene, folder / f"fig.{suffix}", size=SIZE, step=20)
        for suffix in ("svg", "pdf")
    }


def _styled(root: ET.Element) -> list[tuple[str, dict[str, str]]]:
    """``(tag, attributes)`` of every element, with the presentation attributes it inherits."""
    out: list[tuple[str, dict[str, str]]] = []

    def walk(element: ET.Element, inherited: dict[str, str]) -> None:
        attrs = {**inherited, **element.attrib}
        out.append((element.tag.removeprefix(SVG), attrs))
        for child in element:
            walk(child, {k: v for k, v in attrs.items() if k.startswith(("stroke", "fill"))})

    walk(root, {})
    return out


def test_svg_is_xml_with_a_path_per_visible_trail_an_image_and_text(
    figures: dict[str, Path],
) -> None:
    from gdviz.ui.recording import video_theme

    root = ET.parse(figures["svg"]).getroot()
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {SIZE[0]} {SIZE[1]}"
    assert root.findtext(f"{SVG}title") == "Two paths on Rosenbrock"
    elements = _styled(root)
    width = f"{video_theme(SIZE[1]).trail_width:g}"
    trails = {
        a["stroke"].upper()
        for tag, a in elements
        if tag == "path" and a.get("stroke-width") == width and a.get("stroke", "none") != "none"
    }
    assert {"#0072B2", "#D55E00"} <= trails  # the solid part of each visible path
    path_strokes = {a.get("stroke", "").upper() for tag, a in elements if tag == "path"}
    assert "#CC79A7" not in path_strokes  # a hidden entry draws no path
    assert sum(tag == "image" for tag, _ in elements) >= 1  # the heatmap, embedded
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "Two paths on Rosenbrock" in texts  # type as text, not outlines
    assert "step 20 / 40" in texts
    assert any(t.startswith("Adam") for t in texts)
    # Every stroke in pixels: nothing left for a viewer without non-scaling-stroke to blow up.
    assert not any(
        a.get("vector-effect") == "non-scaling-stroke"
        and "transform" in a
        and not a["transform"].startswith("matrix(1,0,0,1,")
        for _, a in elements
    )


def test_pdf_is_one_page_of_the_size_with_text_that_extracts(
    figures: dict[str, Path], tmp_path: Path
) -> None:
    data = figures["pdf"].read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/Subtype /Image" in data  # the heatmap
    if shutil.which("pdftotext") is not None:
        text = subprocess.run(
            ["pdftotext", str(figures["pdf"]), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Two paths on Rosenbrock" in text
        assert "step 20 / 40" in text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: the PDF's page is not rendered")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "48", "-singlefile", str(figures["pdf"]), str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    import imageio.v2 as iio

    page = iio.imread(str(tmp_path / "p.png"))
    assert page.shape[:2] == (SIZE[1] // 2, SIZE[0] // 2)  # 960x540 px at 96 dpi, drawn at 48
    assert page[..., :3].std() > 20  # a picture, not a blank page


def test_flattening_maps_cosmetic_strokes_and_keeps_the_rest() -> None:
    svg = (
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 100 100">'
        '<g stroke="#000" stroke-width="2" transform="matrix(10,0,0,-10,50,50)">'
        '<path vector-effect="non-scaling-stroke" d="M0,0 L1,1 C1,2 2,2 2,1 Z"/>'
        '<text x="0" y="0">a</text>'
        '<polyline vector-effect="non-scaling-stroke" points="0,0 1,-1 "/>'
        '<path vector-effect="none" d="M0,0 L1,0"/>'
        "</g></svg>"
    ).encode()
    root = ET.fromstring(flatten_cosmetic_strokes(svg))
    group = root.find(f"{SVG}g")
    assert group is not None and "transform" not in group.attrib
    kids = list(group)
    assert [k.tag.removeprefix(SVG) for k in kids] == ["path", "g", "polyline", "g"]
    assert kids[0].get("d") == "M 50,50 L 60,40 C 60,30 70,30 70,40 Z"
    assert kids[2].get("points") == "50,50 60,60"
    for kept in (kids[1], kids[3]):  # text and a scaling stroke keep their coordinates
        assert kept.get("transform") == "matrix(10,0,0,-10,50,50)"
    assert kids[1][0].tag == f"{SVG}text" and kids[3][0].get("d") == "M0,0 L1,0"


def test_relative_or_arc_paths_are_left_as_they_were() -> None:
    svg = (
        f'<svg xmlns="{SVG_NS}"><g transform="matrix(2,0,0,2,0,0)">'
        '<path vector-effect="non-scaling-stroke" d="M0,0 a1,1 0 0 1 2,2"/></g></svg>'
    ).encode()
    group = ET.fromstring(flatten_cosmetic_strokes(svg)).find(f"{SVG}g")
    assert group is not None and group.get("transform") == "matrix(2,0,0,2,0,0)"
    assert group[0].get("d") == "M0,0 a1,1 0 0 1 2,2"
