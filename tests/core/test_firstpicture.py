"""The start-up process's side: a scene's first paths and surfaces, as frames on a pipe."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from gdviz.core import load_scene, simulate
from gdviz.core.firstpicture import (
    MAX_FRAME,
    main,
    read_frame,
    request_line,
    scene_line,
    serve,
    write_frame,
)
from gdviz.core.surface import surface


def _frames(blob: bytes) -> list:
    stream, out = io.BytesIO(blob), []
    while (frame := read_frame(stream)) is not None:
        out.append(frame)
    return out


def test_the_paths_and_each_requested_surface_come_as_frames_equal_to_a_computation_here() -> None:
    """Mini-batch paths included: their batch schedule is pickled as what decides it."""
    name = "stochastic-vs-batch"
    requests = [(((-2.0, 2.5), (-1.25, 3.0)), 48, 0.0), (((0.1, 0.2), (0.3, 0.4)), 16, 0.25)]
    out = io.BytesIO()
    lines = [scene_line(name, None), *(request_line(r) for r in requests)]
    assert serve(out, io.StringIO(b"".join(lines).decode())) == 0

    (kind, scene, paths), *surfaces = _frames(out.getvalue())
    assert kind == "paths" and scene == load_scene(name)
    fresh = simulate(scene)
    assert paths.keys() == fresh.keys()
    for label, path in paths.items():
        np.testing.assert_array_equal(path.params, fresh[label].params)
        np.testing.assert_array_equal(path.loss, fresh[label].loss)
        assert path.diverged_at == fresh[label].diverged_at
        if fresh[label].batches is not None:  # drawn again from (n, batch size, steps, seed)
            np.testing.assert_array_equal(
                np.asarray(path.batches), np.asarray(fresh[label].batches)
            )
            assert path.batches[7].tolist() == fresh[label].batches[7].tolist()
    problem = scene.build_problem()
    assert [s[0] for s in surfaces] == ["surface", "surface"]
    for (_, request, got), (rect, resolution, l2) in zip(surfaces, requests, strict=True):
        assert request == (rect, resolution, l2)  # answered exactly as asked
        want = surface(problem, rect, resolution, l2=l2)
        assert got.loss.shape == (resolution, resolution) and got.rect == rect and got.l2 == l2
        np.testing.assert_array_equal(got.loss, want.loss)


def test_what_it_cannot_do_ends_it_without_a_frame_or_after_the_paths(capsys) -> None:  # noqa: ANN001
    """The window then computes everything itself."""

    def run(*lines: bytes) -> tuple[int, list]:
        out = io.BytesIO()
        status = serve(out, io.StringIO(b"".join(lines).decode()))
        return status, [f[0] for f in _frames(out.getvalue())]

    assert run() == (1, [])  # the window went before it said which scene
    assert run(scene_line("no-such-scene", "")) == (1, [])
    assert "no-such-scene" in capsys.readouterr().err  # why, for whoever reads its stderr
    assert run(b"not json\n") == (1, [])
    saddle = scene_line("saddle-point", None)
    assert run(saddle, b"not json\n") == (1, ["paths"])  # the paths went out first
    bad = b'{"rect": [[0, 1], [0, 1]], "resolution": 10000000, "l2": 0}\n'
    assert run(saddle, bad) == (1, ["paths"])

    assert main(["an-argument"]) == 2


def test_a_cut_or_oversized_frame_reads_as_the_end() -> None:
    whole = io.BytesIO()
    write_frame(whole, ("paths", "scene", {"a": np.arange(3.0)}))
    blob = whole.getvalue()
    assert read_frame(io.BytesIO(blob))[2]["a"].tolist() == [0.0, 1.0, 2.0]
    for cut in (0, 3, 8, len(blob) - 1):
        assert read_frame(io.BytesIO(blob[:cut])) is None
    assert read_frame(io.BytesIO(struct.pack(">Q", MAX_FRAME + 1) + b"x" * 64)) is None


@pytest.mark.parametrize("rect", [((-1.5, 2.0), (0.1, 1e-7)), ((1 / 3, 2 / 3), (-1e300, 5e-324))])
def test_a_request_line_carries_its_floats_exactly(rect) -> None:  # noqa: ANN001
    """The window compares the answer's request with its own: JSON floats round-trip."""
    from gdviz.core.firstpicture import _parse_request

    request = (rect, 512, 0.1)
    assert _parse_request(request_line(request).decode()) == request


def test_no_process_is_started_where_it_would_not_help_or_could_not_run(monkeypatch) -> None:  # noqa: ANN001
    import os
    import sys

    from gdviz.core.firstpicture import spawn

    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # it would take the window's own core
    assert spawn() is None
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # its executable is the app
    assert spawn() is None
    monkeypatch.setattr(sys, "frozen", False)
    monkeypatch.setattr(sys, "executable", "")
    assert spawn() is None
