"""The ``gdviz`` command line.

``gdviz [SCENE]`` opens the window; the subcommands work headless. Qt is imported only inside the
commands that need it, so ``gdviz trajectories`` and ``gdviz bench --core`` run without a display.
Errors a user can cause (a broken scene, an unwritable path) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gdviz import __version__

if TYPE_CHECKING:
    from gdviz.core import Trajectory

COMMANDS = ("scenes", "trajectories", "bench", "screenshot", "render")
EXIT_USAGE = 2


class UserError(Exception):
    """A failure the user can fix; printed as one line, exit status 2."""


def _add_view_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--view",
        choices=("2d", "3d"),
        default="2d",
        help="which surface view (3d needs OpenGL: X or Xvfb)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gdviz",
        description=(
            "Watch gradient-descent optimizers race across loss surfaces. "
            "With no command, opens the window on SCENE (default: linear-regression)."
        ),
        epilog="gdviz SCENE opens a built-in scene by name or a .toml scene file.",
    )
    parser.add_argument("--version", action="version", version=f"gdviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    window = sub.add_parser("window", help="open the window (the default command)")
    window.add_argument("scene", nargs="?", help="name or .toml path (default: the last one)")

    sub.add_parser("scenes", help="list the built-in scenes")

    traj = sub.add_parser("trajectories", help="write every path of a scene as CSV")
    traj.add_argument("scene", help="built-in scene name or .toml path")
    traj.add_argument("-o", "--output", required=True, help="CSV file to write ('-' for stdout)")
    traj.add_argument("--start", nargs=2, type=float, metavar=("X", "Y"), help="override the start")

    bench = sub.add_parser("bench", help="measure recompute, surface and drawing speed (JSON)")
    which = bench.add_mutually_exclusive_group()
    which.add_argument("--scene", default="linear-regression", help="scene to measure")
    which.add_argument("--all", action="store_true", help="measure every built-in scene")
    bench.add_argument("--repeats", type=int, default=200, help="repeats per median")
    bench.add_argument("--core", action="store_true", help="core figures only (no Qt)")
    bench.add_argument(
        "--platform",
        choices=("offscreen", "xcb"),
        default="offscreen",
        help="Qt platform for the window figures (xcb: under xvfb-run when there is no display)",
    )
    bench.add_argument(
        "--no-startup", action="store_true", help="skip the start-up figures (two fresh launches)"
    )

    shot = sub.add_parser("screenshot", help="render the window to a PNG, offscreen")
    shot.add_argument("scene", nargs="?", default="linear-regression", help="name or .toml path")
    shot.add_argument("-o", "--output", required=True, help="PNG file to write")
    shot.add_argument("--size", default="1600x1000", help="WIDTHxHEIGHT (default 1600x1000)")
    shot.add_argument("--step", type=int, help="playback step to show (default: the last)")
    _add_view_argument(shot)
    render = sub.add_parser("render", help="record a scene to MP4, GIF or PNG, headless")
    render.add_argument("scene", help="built-in scene name or .toml path")
    render.add_argument("-o", "--output", required=True, help="OUT.mp4, OUT.gif or OUT.png")
    render.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    render.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    length = render.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=float, help="length of the video (default: 30 steps/s)")
    length.add_argument("--steps", type=int, help="show only the first N steps")
    render.add_argument("--step", type=int, help="for a PNG: the step to show (default: the last)")
    _add_view_argument(render)
    return parser


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must look like 1600x1000, got {text!r}") from None
    if not (200 <= w <= 7680 and 200 <= h <= 4320):
        raise UserError(f"--size must be between 200x200 and 7680x4320, got {text!r}")
    return w, h


def trajectories_text(paths: Mapping[str, Trajectory]) -> str:
    """The CSV text of paths: ``optimizer,step,x,y,loss`` with floats at full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["optimizer", "step", "x", "y", "loss"])
    for label, path in paths.items():
        for k, ((x, y), loss) in enumerate(
            zip(path.params.tolist(), path.loss.tolist(), strict=True)
        ):
            writer.writerow([label, k, repr(x), repr(y), repr(loss)])
    return buffer.getvalue()


def trajectories_csv(scene_ref: str, start: Sequence[float] | None = None) -> str:
    """The CSV text of every path of a scene (a built-in name or a file)."""
    from gdviz.core import load_scene, simulate

    scene = load_scene(scene_ref)
    if start is not None:
        scene = scene.with_start((start[0], start[1]))
    return trajectories_text(simulate(scene))


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: no partial file on failure."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _cmd_scenes() -> int:
    from gdviz.core.scene import builtin_scene_titles

    titles = builtin_scene_titles()
    width = max(len(n) for n in titles)
    for name, title in titles.items():
        print(f"{name:<{width}}  {title}")
    return 0


def _cmd_trajectories(args: argparse.Namespace) -> int:
    text = trajectories_csv(args.scene, args.start)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_text_atomically(Path(args.output), text)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from gdviz import bench

    if args.repeats < 5:
        raise UserError("--repeats must be at least 5")
    scenes = None if args.all else [args.scene]
    try:
        return bench.main(scenes, args.repeats, args.core, args.platform, not args.no_startup)
    except bench.BenchError as exc:
        raise UserError(str(exc)) from exc


def _cmd_window(args: argparse.Namespace) -> int:
    from gdviz.ui.app import run

    return run(args.scene)


def _cmd_screenshot(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    from gdviz.ui.app import screenshot

    screenshot(args.scene, Path(args.output), size, args.step, args.view)
    return 0


def _progress_bar(done: int, total: int) -> bool:
    if sys.stderr.isatty():
        filled = round(30 * done / total)
        end = "\n" if done == total else ""
        print(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} frames",
            end=end,
            file=sys.stderr,
        )
    elif done == total:
        print(f"{total} frames", file=sys.stderr)
    return True


def _cmd_render(args: argparse.Namespace) -> int:
    import os

    size = parse_size(args.size)
    if not 1 <= args.fps <= 120:
        raise UserError(f"--fps must be between 1 and 120, got {args.fps:g}")
    if args.seconds is not None and not 0.1 <= args.seconds <= 600:
        raise UserError(f"--seconds must be between 0.1 and 600, got {args.seconds:g}")
    from gdviz.core import load_scene

    scene = load_scene(args.scene)
    if args.view == "2d" or not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdviz.export.frames import render
    from gdviz.export.video import ExportError
    from gdviz.ui.app import _application

    _application()
    try:
        count = render(
            scene,
            Path(args.output),
            size,
            args.fps,
            args.seconds,
            args.steps,
            args.step,
            _progress_bar,
            view=args.view,
        )
    except ExportError as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {args.output} ({count} frame{'s' if count != 1 else ''})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gdviz`` console script."""
    from gdviz.core import SceneError

    argv = list(sys.argv[1:] if argv is None else argv)
    # `gdviz` and `gdviz SCENE` open the window: make that the `window` command.
    if not argv or (argv[0] not in COMMANDS + ("window",) and not argv[0].startswith("-")):
        argv = ["window", *argv]
    args = _parser().parse_args(argv)
    handlers = {
        "window": _cmd_window,
        "scenes": lambda a: _cmd_scenes(),
        "trajectories": _cmd_trajectories,
        "bench": _cmd_bench,
        "screenshot": _cmd_screenshot,
        "render": _cmd_render,
    }
    try:
        return handlers[args.command](args)
    except (SceneError, UserError) as exc:
        print(f"gdviz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
