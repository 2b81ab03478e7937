"""SVG that every reader draws alike: cosmetic strokes moved out of scaled coordinates.

Qt's SVG generator writes a curve in its item's coordinates (data units on a plot) inside a group
with the item's transform, and keeps the pen's width in pixels with
``vector-effect="non-scaling-stroke"``. Browsers honour that; librsvg 2.54, and with it many
slide tools and converters, does not, and strokes a 3 px trail ~120 data units wide: the whole
plot painted over in the trail's colour. :func:`flatten_cosmetic_strokes` maps such shapes'
points through the group's transform and takes them out of it, so their strokes are plain pixel
widths in the page's coordinates, drawn the same everywhere. Everything else in the group (text,
images, strokes that should scale) keeps the transform, in a group of its own.

No Qt here: bytes in, bytes out, with :mod:`xml.etree.ElementTree`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["SVG_NS", "flatten_cosmetic_strokes"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATH_TOKEN = re.compile(rf"([A-Za-z])|({_NUMBER})")
# Commands whose arguments are all absolute x,y pairs (what Qt writes), so a point-wise map of the
# pairs maps the shape.
_PAIR_COMMANDS = set("MLCQSTZ")

Matrix = tuple[float, float, float, float, float, float]


def _matrix(text: str | None) -> Matrix | None:
    match = _MATRIX.match(text or "")
    if match is None:
        return None
    values = [float(v) for v in re.findall(_NUMBER, match.group(1))]
    return tuple(values) if len(values) == 6 else None  # type: ignore[return-value]


def _number(value: float) -> str:
    """Three decimals of a pixel, without trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _map(m: Matrix, x: float, y: float) -> str:
    a, b, c, d, e, f = m
    return f"{_number(a * x + c * y + e)},{_number(b * x + d * y + f)}"


def _map_path(m: Matrix, data: str) -> str | None:
    """``data`` (a path's ``d``) mapped through ``m``; None when it holds commands that are not
    absolute point pairs (relative moves, arcs), which a point-wise map would get wrong."""
    out: list[str] = []
    pending: list[float] = []
    for letter, number in _PATH_TOKEN.findall(data):
        if letter:
            if letter not in _PAIR_COMMANDS or pending:
                return None
            out.append(letter)
        else:
            pending.append(float(number))
            if len(pending) == 2:
                out.append(_map(m, *pending))
                pending = []
    return None if pending else " ".join(out)


def _map_points(m: Matrix, points: str) -> str | None:
    values = [float(v) for v in re.findall(_NUMBER, points)]
    if len(values) % 2:
        return None
    return " ".join(_map(m, values[i], values[i + 1]) for i in range(0, len(values), 2))


def _flattened(element: ET.Element, m: Matrix) -> bool:
    """Map a cosmetic-stroked path or polyline through ``m`` in place; False if it is not one."""
    if element.get("vector-effect") != "non-scaling-stroke":
        return False
    tag = element.tag.rpartition("}")[2]
    if tag == "path":
        mapped = _map_path(m, element.get("d", ""))
        key = "d"
    elif tag in ("polyline", "polygon"):
        mapped = _map_points(m, element.get("points", ""))
        key = "points"
    else:
        return False
    if mapped is None:
        return False
    element.set(key, mapped)
    element.set("vector-effect", "none")
    return True


def flatten_cosmetic_strokes(svg: bytes) -> bytes:
    """``svg`` with every cosmetic (non-scaling) stroke of a transformed group drawn in page
    coordinates; the picture is unchanged where the viewer honours ``non-scaling-stroke``.

    Raises:
      xml.etree.ElementTree.ParseError: ``svg`` is not XML.
    """
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    group_tag = f"{{{SVG_NS}}}g"
    for group in list(root.iter(group_tag)):
        m = _matrix(group.get("transform"))
        if m is None or m[:4] == (1.0, 0.0, 0.0, 1.0):
            continue  # a translation keeps pixel widths: nothing to do
        children = list(group)
        flat = [_flattened(child, m) for child in children]
        if not any(flat):
            continue
        transform = group.attrib.pop("transform")
        rebuilt: list[ET.Element] = []
        kept: ET.Element | None = None  # the run of children that keep the transform
        for child, is_flat in zip(children, flat, strict=True):
            if is_flat:
                rebuilt.append(child)
                kept = None
                continue
            if kept is None:
                kept = ET.Element(group_tag, {"transform": transform})
                rebuilt.append(kept)
            kept.append(child)
        group[:] = rebuilt
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False
    )
