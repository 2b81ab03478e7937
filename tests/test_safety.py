"""Issue 10, "never lose a file": every writer is atomic, follows or refuses what is at the path,
never replaces a non-file, overwrites only with --force, and writes the format its suffix names.

Special files (symlinks, FIFOs, sockets, folders) are made only inside pytest's tmp_path; no write
is ever pointed at a real device.
"""

from __future__ import annotations

import csv
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gdviz.core import load_scene, save_scene
from gdviz.core.files import OutputError, OutputExists, atomic_write, write_text_atomically
from gdviz.export.files import ExportError, check_output, write_trajectories

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
TINY = 'steps = 5\n[problem]\nname = "beale"\n[[optimizer]]\nname = "adam"\n'


def gdviz(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout=120):  # noqa: ANN001, ANN201
    return subprocess.run(
        [sys.executable, "-m", "gdviz", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV if env is None else env,
        timeout=timeout,
    )


def one_error_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("gdviz: error:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- the primitive -------------------------------------------------------------------------------


def test_a_new_file_is_written_whole_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    assert write_text_atomically(target, "hello\n") == target
    assert target.read_text() == "hello\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert names(tmp_path) == ["a.txt"]


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("precious")
    target.chmod(0o640)
    with pytest.raises(OutputExists, match="already exists"):
        write_text_atomically(target, "new")
    assert target.read_text() == "precious"
    write_text_atomically(target, "new", force=True)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the old file's permissions kept
    assert names(tmp_path) == ["a.txt"]


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with pytest.raises(OutputExists):
        write_text_atomically(link, "new")
    assert write_text_atomically(link, "new", force=True) == real
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "later.csv")
    write_text_atomically(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "later.csv").read_text() == "made"
    assert names(tmp_path) == ["dangling.csv", "later.csv", "link.csv", "real.csv"]


@pytest.mark.parametrize("kind", ["fifo", "folder", "socket", "link to fifo"])
def test_non_files_are_refused_even_with_force(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.csv"
    sock = None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    else:
        os.mkfifo(tmp_path / "pipe")
        target.symlink_to(tmp_path / "pipe")
    try:
        before = names(tmp_path)
        mode = os.lstat(target).st_mode
        for force in (False, True):
            with pytest.raises(OutputError, match="not a file"):
                write_text_atomically(target, "x", force=force)
        assert names(tmp_path) == before  # nothing replaced, no temporary file
        assert os.lstat(target).st_mode == mode
    finally:
        if sock is not None:
            sock.close()


def test_a_failing_writer_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    target.write_bytes(b"old video")

    def half_then_fail(tmp: Path) -> None:
        assert tmp.parent == tmp_path and tmp.name.endswith(".mp4") and tmp.name != "v.mp4"
        tmp.write_bytes(b"half")
        raise ExportError("export cancelled")

    with pytest.raises(ExportError, match="cancelled"):
        atomic_write(target, half_then_fail, force=True)
    assert target.read_bytes() == b"old video"
    assert names(tmp_path) == ["v.mp4"]
    with pytest.raises(OutputError, match="no folder"):
        write_text_atomically(tmp_path / "missing" / "x.csv", "x")


def test_the_suffix_decides_the_format_or_is_refused(tmp_path: Path) -> None:
    assert check_output(tmp_path / "a.CSV", (".csv",)) == ".csv"
    with pytest.raises(ExportError, match=r"must end in \.png or \.jpg"):
        check_output(tmp_path / "a.bmp", (".png", ".jpg"))
    with pytest.raises(ExportError, match="--force"):
        (tmp_path / "b.csv").write_text("x")
        check_output(tmp_path / "b.csv", (".csv",))
    with pytest.raises(ExportError, match=r"\.csv"):
        write_trajectories(tmp_path / "t.json", {})


def test_save_scene_follows_links_and_refuses_non_files(tmp_path: Path) -> None:
    scene = load_scene("beale")
    real = tmp_path / "real.toml"
    link = tmp_path / "s.toml"
    link.symlink_to(real)
    save_scene(scene, link)
    assert link.is_symlink() and load_scene(real) == scene
    with pytest.raises(OutputExists):
        save_scene(scene, real, force=False)
    os.mkfifo(tmp_path / "p.toml")
    with pytest.raises(OutputError, match="FIFO"):
        save_scene(scene, tmp_path / "p.toml")
    assert names(tmp_path) == ["p.toml", "real.toml", "s.toml"]


# --- the command line ------------------------------------------------------------------------------


def test_trajectories_through_a_symlink_write_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("keep me")
    link = tmp_path / "LINK.csv"
    link.symlink_to(real)
    refused = gdviz("trajectories", "beale", "-o", str(link))
    one_error_line(refused, "already exists", "--force")
    assert real.read_text() == "keep me" and link.is_symlink()
    done = gdviz("trajectories", "beale", "-o", str(link), "--force")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    rows = list(csv.DictReader(real.open()))
    assert done.stdout.strip() == f"wrote {link} ({len(rows)} rows)"
    assert "computing" in done.stderr  # progress goes to stderr
    assert names(tmp_path) == ["LINK.csv", "real.csv"]


def test_trajectories_refuse_a_fifo_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    result = gdviz("trajectories", "beale", "-o", str(fifo), "--force", timeout=60)
    one_error_line(result, "FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and names(tmp_path) == ["out.csv"]


@pytest.mark.parametrize(
    ("start", "words"),
    [
        (["nan", "nan"], ["--start", "finite"]),
        (["1e7", "1e7"], ["--start", "±10000"]),
        (["1e5", "0"], ["--start", "±10000"]),
        (["inf", "0"], ["--start", "finite"]),
    ],
)
def test_a_start_outside_the_box_is_refused(
    tmp_path: Path, start: list[str], words: list[str]
) -> None:
    out = tmp_path / "out.csv"
    result = gdviz("trajectories", "rosenbrock", "-o", str(out), "--start", *start)
    one_error_line(result, *words)
    assert names(tmp_path) == []


def test_a_scene_whose_default_start_is_far_away_is_refused(tmp_path: Path) -> None:
    scene = tmp_path / "far.toml"
    scene.write_text(
        '[problem]\nname = "linear_regression"\nn = 2\nnoise = 10.0\ndata_seed = 97148\n'
        '[[optimizer]]\nname = "adam"\n'
    )
    result = gdviz("trajectories", str(scene), "-o", str(tmp_path / "o.csv"))
    one_error_line(result, "outside ±10000")
    assert names(tmp_path) == ["far.toml"]


def test_screenshot_jpg_writes_jpeg_and_other_suffixes_are_refused(tmp_path: Path) -> None:
    shot = gdviz("screenshot", "beale", "-o", str(tmp_path / "s.jpg"), "--size", "400x300")
    assert shot.returncode == 0, shot.stderr
    data = (tmp_path / "s.jpg").read_bytes()
    assert data[:3] == b"\xff\xd8\xff"  # JPEG, not PNG bytes under a .jpg name
    assert shot.stdout.strip() == f"wrote {tmp_path / 's.jpg'} (400x300)"
    again = gdviz("screenshot", "beale", "-o", str(tmp_path / "s.jpg"), "--size", "400x300")
    one_error_line(again, "already exists", "--force")
    one_error_line(gdviz("screenshot", "beale", "-o", str(tmp_path / "s.bmp")), ".png", ".jpg")
    one_error_line(
        gdviz("screenshot", "beale", "-o", str(tmp_path / "t.png"), "--step", "-5"), "--step"
    )
    assert names(tmp_path) == ["s.jpg"]


@pytest.mark.parametrize(
    ("out", "extra", "words"),
    [
        ("DIR.png", [], ["DIR.png", "folder"]),
        ("v.mp4", ["--size", "641x361"], ["even", "642x362"]),
        ("v.mp4", ["--steps", "0"], ["--steps", "between 1 and 5"]),
        ("v.mp4", ["--steps", "99"], ["--steps", "between 1 and 5"]),
        ("a.png", ["--step", "-5"], ["--step", "between 0 and 5"]),
        ("v.mp4", ["--step", "3"], ["--step", "still image"]),
        ("v.avi", [], ["must end in"]),
    ],
)
def test_render_refuses_instead_of_adjusting(
    tmp_path: Path, out: str, extra: list[str], words: list[str]
) -> None:
    scene = tmp_path / "s.toml"
    scene.write_text(TINY)
    (tmp_path / "DIR.png").mkdir()
    result = gdviz("render", str(scene), "-o", str(tmp_path / out), *extra)
    one_error_line(result, *words)
    assert names(tmp_path) == ["DIR.png", "s.toml"]
    assert list((tmp_path / "DIR.png").iterdir()) == []


def test_render_reports_progress_and_what_it_wrote_and_needs_force(tmp_path: Path) -> None:
    scene = tmp_path / "s.toml"
    scene.write_text(TINY)
    out = tmp_path / "v.gif"
    args = ("render", str(scene), "-o", str(out), "--fps", "10", "--seconds", "1")
    result = gdviz(*args, "--size", "320x200")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out} (10 frames, 1.0 s, 320x200)"
    progress = [ln for ln in result.stderr.splitlines() if "rendered" in ln]
    assert progress[-1] == "gdviz: rendered 10/10 frames" and len(progress) == 10
    before = out.read_bytes()
    one_error_line(gdviz(*args, "--size", "320x200"), "already exists")
    assert out.read_bytes() == before
    forced = gdviz(*args, "--size", "320x240", "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes() != before
    assert names(tmp_path) == ["s.toml", "v.gif"]


def test_the_window_without_a_display_says_what_to_do(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = gdviz("beale", env=env, cwd=tmp_path, timeout=60)
    line = one_error_line(result, "needs a display", "gdviz render", "gdviz screenshot")
    assert result.stderr.strip() == line


def test_nothing_imports_the_command_line() -> None:
    import ast

    import gdviz

    root = Path(gdviz.__file__).parent
    for path in root.rglob("*.py"):
        if path.name in ("cli.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "gdviz.cli", path
                assert not (node.module == "gdviz" and any(a.name == "cli" for a in node.names))
            elif isinstance(node, ast.Import):
                assert all(a.name != "gdviz.cli" for a in node.names), path
