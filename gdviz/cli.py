"""The ``gdviz`` command line.

``gdviz [SCENE]`` opens the window; the subcommands work headless. Qt is imported only inside the
commands that need it, so ``gdviz trajectories`` and ``gdviz bench --core`` run without a display.
Errors a user can cause (a broken scene, an unwritable path) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gdviz import __version__
from gdviz.core.files import OutputError
from gdviz.export.files import UserError, trajectories_text

__all__ = ["UserError", "main", "parse_size", "trajectories_csv", "trajectories_text"]

COMMANDS = (
    "scenes",
    "trajectories",
    "bench",
    "screenshot",
    "render",
    "basins",
    "stability",
    "tune",
)
EXIT_USAGE = 2


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
    traj.add_argument(
        "--start",
        nargs=2,
        type=float,
        metavar=("X", "Y"),
        help="override the start (finite, within ±10000)",
    )
    _add_force_argument(traj)

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

    shot = sub.add_parser("screenshot", help="render the window to a PNG or JPEG, offscreen")
    shot.add_argument("scene", nargs="?", default="linear-regression", help="name or .toml path")
    shot.add_argument("-o", "--output", required=True, help="OUT.png or OUT.jpg")
    shot.add_argument("--size", default="1600x1000", help="WIDTHxHEIGHT (default 1600x1000)")
    shot.add_argument("--step", type=int, help="playback step to show (default: the last)")
    _add_view_argument(shot)
    _add_force_argument(shot)
    render = sub.add_parser(
        "render", help="record a scene to MP4, GIF, PNG, JPEG, or an SVG / PDF figure, headless"
    )
    render.add_argument("scene", help="built-in scene name or .toml path")
    render.add_argument(
        "-o",
        "--output",
        required=True,
        help="OUT.mp4, OUT.gif, a still OUT.png / OUT.jpg, or a vector figure OUT.svg / OUT.pdf",
    )
    render.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    render.add_argument(
        "--size",
        default="1920x1080",
        help="WIDTHxHEIGHT (default 1920x1080; even sides for MP4)",
    )
    length = render.add_mutually_exclusive_group()
    length.add_argument(
        "--seconds",
        type=float,
        help=(
            "whole length of the video, the 1 s hold on the last frame included "
            "(default: 30 steps/s, then the hold)"
        ),
    )
    length.add_argument("--steps", type=int, help="show only the first N steps (1..scene steps)")
    render.add_argument(
        "--step",
        type=int,
        help="for a still image or figure: the step to show (default: the last)",
    )
    _add_view_argument(render)
    _add_force_argument(render)

    basins = sub.add_parser(
        "basins", help="map where every start of the view ends, per optimizer (PNG or NPZ)"
    )
    basins.add_argument("scene", help="built-in scene name or .toml path")
    basins.add_argument(
        "-o", "--output", required=True, help="OUT.png (picture) or OUT.npz (arrays)"
    )
    basins.add_argument("--resolution", type=int, default=256, help="starts per side (default 256)")
    basins.add_argument("--steps", type=int, help="steps per run (default: the scene's)")
    basins.add_argument(
        "--size", default="1920x1080", help="WIDTHxHEIGHT of a PNG (default 1920x1080)"
    )
    _add_force_argument(basins)

    stab = sub.add_parser(
        "stability",
        help="map how one optimizer ends over two of its hyperparameters (PNG or NPZ)",
    )
    stab.add_argument("scene", help="built-in scene name or .toml path")
    stab.add_argument("--optimizer", required=True, help="the entry's label")
    stab.add_argument("-o", "--output", required=True, help="OUT.png (picture) or OUT.npz (arrays)")
    stab.add_argument(
        "--x", default="learning_rate", help="hyperparameter across (default learning_rate)"
    )
    stab.add_argument("--y", default="momentum", help="hyperparameter up (default momentum)")
    stab.add_argument("--x-range", help="LOW,HIGH (default: around the entry's value)")
    stab.add_argument("--y-range", help="LOW,HIGH (default: around the entry's value)")
    stab.add_argument("--resolution", type=int, default=128, help="pixels per side (default 128)")
    stab.add_argument("--steps", type=int, help="steps per run (default: the scene's)")
    stab.add_argument(
        "--size", default="1920x1080", help="WIDTHxHEIGHT of a PNG (default 1920x1080)"
    )
    _add_force_argument(stab)

    tune = sub.add_parser(
        "tune", help="tune each visible entry's learning rate and write the tuned scene (TOML)"
    )
    tune.add_argument("scene", help="built-in scene name or .toml path")
    tune.add_argument("-o", "--output", required=True, help="OUT.toml")
    tune.add_argument(
        "--objective",
        choices=("final_loss", "steps_to"),
        default="final_loss",
        help="minimise the last step's loss (default) or the steps to reach --threshold",
    )
    tune.add_argument("--threshold", type=float, help="the loss to reach, for steps_to")
    tune.add_argument(
        "--optimizer",
        action="append",
        dest="labels",
        help="an entry's label to tune (repeatable; default: every visible entry)",
    )
    _add_force_argument(tune)
    return parser


def _add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--force", action="store_true", help="overwrite an existing file (never a non-file)"
    )


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must look like 1600x1000, got {text!r}") from None
    if not (200 <= w <= 7680 and 200 <= h <= 4320):
        raise UserError(f"--size must be between 200x200 and 7680x4320, got {text!r}")
    return w, h


def trajectories_csv(scene_ref: str, start: Sequence[float] | None = None) -> str:
    """The CSV text of every path of a scene (a built-in name or a file)."""
    from gdviz.core import simulate

    return trajectories_text(simulate(_scene_with_start(scene_ref, start)))


def _scene_with_start(scene_ref: str, start: Sequence[float] | None):  # noqa: ANN202
    from gdviz.core import load_scene
    from gdviz.core.scene import check_start

    scene = load_scene(scene_ref)
    if start is not None:
        scene = scene.with_start(check_start((start[0], start[1]), "--start"))
    return scene


def _say(message: str) -> None:
    """Progress and notices: on stderr, so that stdout carries only data."""
    print(f"gdviz: {message}", file=sys.stderr, flush=True)


def _cmd_scenes() -> int:
    from gdviz.core.scene import builtin_scene_titles

    titles = builtin_scene_titles()
    width = max(len(n) for n in titles)
    for name, title in titles.items():
        print(f"{name:<{width}}  {title}")
    return 0


def _cmd_trajectories(args: argparse.Namespace) -> int:
    from gdviz.core import simulate
    from gdviz.export.files import check_output, write_trajectories

    if args.output != "-":
        check_output(args.output, (".csv",), force=args.force)  # refuse before the work
    scene = _scene_with_start(args.scene, args.start)
    n = len(scene.optimizers)
    _say(f"computing {n} path{'s' if n != 1 else ''} of {scene.steps} steps…")
    paths = simulate(scene)
    if args.output == "-":
        sys.stdout.write(trajectories_text(paths))
        return 0
    rows = write_trajectories(args.output, paths, force=args.force)
    print(f"wrote {args.output} ({rows} rows)")
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
    from gdviz.export.files import IMAGE_FORMATS, check_output

    check_output(args.output, tuple(IMAGE_FORMATS), force=args.force)  # before Qt starts
    from gdviz.core import load_scene
    from gdviz.output import screenshot

    scene = load_scene(args.scene)
    if args.step is not None and not 0 <= args.step <= scene.steps:
        raise UserError(f"--step must be between 0 and {scene.steps}, got {args.step}")
    _say(f"drawing the window at {size[0]}x{size[1]}…")
    screenshot(scene, Path(args.output), size, args.step, args.view, force=args.force)
    print(f"wrote {args.output} ({size[0]}x{size[1]})")
    return 0


def _progress_bar(done: int, total: int) -> bool:
    """Frames done, on stderr: a bar on a terminal, a line every 10% otherwise."""
    if sys.stderr.isatty():
        filled = round(30 * done / total)
        end = "\n" if done == total else ""
        print(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} frames",
            end=end,
            file=sys.stderr,
            flush=True,
        )
    elif done == total or done * 10 // total != (done - 1) * 10 // total:
        _say(f"rendered {done}/{total} frames")
    return True


def _cmd_render(args: argparse.Namespace) -> int:
    import os

    size = parse_size(args.size)
    if not 1 <= args.fps <= 120:
        raise UserError(f"--fps must be between 1 and 120, got {args.fps:g}")
    if args.seconds is not None and not 0.1 <= args.seconds <= 600:
        raise UserError(f"--seconds must be between 0.1 and 600, got {args.seconds:g}")
    from gdviz.core import load_scene
    from gdviz.export.video import check_output

    suffix = check_output(Path(args.output), force=args.force)  # before the long work
    if suffix == ".mp4" and (size[0] % 2 or size[1] % 2):
        raise UserError(
            f"--size {args.size}: MP4 (H.264) needs an even width and height; "
            f"try {size[0] + size[0] % 2}x{size[1] + size[1] % 2}"
        )
    scene = load_scene(args.scene)
    if args.view == "2d" or not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdviz.ui.app import _application
    from gdviz.ui.recording import render

    _say(f"rendering {args.output} at {size[0]}x{size[1]}…")
    _application()
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
        force=args.force,
    )
    if count == 1:
        print(f"wrote {args.output} (1 image, {size[0]}x{size[1]})")
    else:
        print(
            f"wrote {args.output} ({count} frames, {count / args.fps:.1f} s, {size[0]}x{size[1]})"
        )
    return 0


MAP_FORMATS = (".png", ".npz")


def _parse_range(text: str | None, flag: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"{flag} must look like 0.001,0.1, got {text!r}") from None
    return lo, hi


def _map_progress(what: str) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done == total or done * 4 // total != (done - 1) * 4 // total:
            _say(f"{what}: {done}/{total} chunks")

    return progress


def _write_map(output: str, arrays: dict[str, object], image_fn, size, force: bool) -> None:  # noqa: ANN001
    """Write the arrays (.npz) or the picture ``image_fn(size)`` paints (.png), atomically."""
    if output.lower().endswith(".npz"):
        import io

        import numpy as np

        from gdviz.export.files import write_bytes_atomically

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            write_bytes_atomically(output, buffer.getvalue(), force=force)
        except OutputError as exc:
            raise UserError(str(exc)) from None
        print(f"wrote {output} ({', '.join(arrays)})")
        return
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdviz.ui.app import _application
    from gdviz.ui.recording import write_image

    _application()
    write_image(image_fn(size), Path(output), force=force)
    print(f"wrote {output} ({size[0]}x{size[1]})")


def _cmd_basins(args: argparse.Namespace) -> int:
    import numpy as np

    from gdviz.core import load_scene
    from gdviz.core.basins import basins
    from gdviz.export.files import check_output

    size = parse_size(args.size)
    check_output(args.output, MAP_FORMATS, force=args.force)  # before the work
    scene = load_scene(args.scene)
    n = len(scene.optimizers)
    _say(f"running {n} optimizer{'s' if n != 1 else ''} from {args.resolution}² starts…")
    m = basins(scene, args.resolution, args.steps, progress=_map_progress("basins"))
    arrays = {
        "labels": np.asarray(m.labels),
        "outcome": m.outcome,
        "settle_step": m.settle_step,
        "final_loss": m.final_loss,
        "x": m.xs,
        "y": m.ys,
        "minima": m.minima,
        "axis_names": np.asarray(scene.build_problem().axis_names),
        "steps": np.asarray(m.steps),
        "tol": np.asarray(m.tol),
    }

    def paint(size: tuple[int, int]):  # noqa: ANN202
        from gdviz.ui.maps import paint_basins

        return paint_basins(m, scene, size)

    _write_map(args.output, arrays, paint, size, args.force)
    return 0


def _cmd_stability(args: argparse.Namespace) -> int:
    import numpy as np

    from gdviz.core import load_scene
    from gdviz.core.basins import stability
    from gdviz.export.files import check_output

    size = parse_size(args.size)
    ranges = (_parse_range(args.x_range, "--x-range"), _parse_range(args.y_range, "--y-range"))
    check_output(args.output, MAP_FORMATS, force=args.force)  # before the work
    scene = load_scene(args.scene)
    scene.entry(args.optimizer)  # an unknown label is one line, before the work
    _say(f"running {args.optimizer} at {args.resolution}² settings…")
    m = stability(
        scene,
        args.optimizer,
        (args.x, args.y),
        ranges,
        args.resolution,
        steps=args.steps,
        progress=_map_progress("stability"),
    )
    arrays = {
        "outcome": m.outcome,
        "settle_step": m.settle_step,
        "final_loss": m.final_loss,
        "x": m.xs,
        "y": m.ys,
        "axes": np.asarray(m.axes),
        "scales": np.asarray(m.scales),
        "start": np.asarray(m.start),
        "minima": m.minima,
        "steps": np.asarray(m.steps),
        "tol": np.asarray(m.tol),
    }

    def paint(size: tuple[int, int]):  # noqa: ANN202
        from gdviz.ui.maps import paint_stability

        return paint_stability(m, scene, size)

    _write_map(args.output, arrays, paint, size, args.force)
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from gdviz.core import load_scene, save_scene
    from gdviz.core.tune import tune
    from gdviz.export.files import check_output

    check_output(args.output, (".toml",), force=args.force)  # before the work
    if args.objective == "steps_to" and args.threshold is None:
        raise UserError("--objective steps_to needs --threshold LOSS")
    scene = load_scene(args.scene)
    labels = args.labels or [e.label for e in scene.optimizers if e.visible]
    _say(f"tuning {len(labels)} learning rate{'s' if len(labels) != 1 else ''}…")
    result = tune(scene, labels, args.objective, args.threshold)
    save_scene(result.scene, args.output, force=args.force)
    for label, rate in result.rates.items():
        print(f"{label}: learning_rate = {rate:.4g}")
    print(f"wrote {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gdviz`` console script."""
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
        "basins": _cmd_basins,
        "stability": _cmd_stability,
        "tune": _cmd_tune,
    }
    if args.command == "window":
        # Nothing of the core before the window's start-up card: it reports its own errors.
        return _cmd_window(args)
    from gdviz.core import SceneError

    if args.command not in ("scenes", "bench"):  # the bench measures cold and warm itself
        from gdviz.ui.app import _configure_jax_cache

        _configure_jax_cache()
    try:
        return handlers[args.command](args)
    except (SceneError, UserError, OutputError) as exc:
        print(f"gdviz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
