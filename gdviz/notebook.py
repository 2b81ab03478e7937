"""Scenes in Jupyter: a scene at the end of a cell plays as an inline, looping animation.

``import gdviz`` inside IPython registers :func:`scene_html` as the HTML form of
:class:`gdviz.core.Scene` through IPython's display formatter, by the class's module and name,
so neither IPython's import nor the core's happens early and ``gdviz.core.scene`` needs no
display method of its own. Outside IPython nothing is registered (the extension can also be
loaded by hand: ``%load_ext gdviz.notebook``). :func:`gdviz.show` gives the same animation
with options.

The video is made on first display, offscreen (see :mod:`gdviz.output`), and kept for the same
scene content and options: a cell run again, or the same scene shown twice, costs nothing. It is
an MP4 (H.264) in an HTML5 ``<video autoplay loop muted playsinline>``, inline as base64 so the
saved notebook carries it; a GIF ``<img>`` when ffmpeg is missing.
"""

from __future__ import annotations

import base64
import html
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdviz.core import Scene

__all__ = ["Animation", "clear_cache", "load_ipython_extension", "register", "scene_html"]

MAX_SECONDS = 10.0
"""The default length of a notebook animation is the scene's own, at most this."""

CACHE_SIZE = 16
"""Animations kept (each a few hundred kB of video), the least recently shown dropped first."""

_cache: OrderedDict[tuple[object, ...], tuple[str, bytes]] = OrderedDict()


def clear_cache() -> None:
    """Forget every rendered animation."""
    _cache.clear()


def _scene_key(scene: Scene) -> str:
    """The scene's whole content as text: equal scenes, equal keys (Scene is not hashable)."""
    from gdviz.core.scene import dumps_scene

    try:
        return dumps_scene(scene)
    except (TypeError, ValueError, OSError):  # something the TOML writer cannot say
        return repr(scene)


class Animation:
    """A scene's animation that IPython displays inline (made by :func:`gdviz.show`).

    Nothing is rendered until it is shown or :meth:`data` is asked for.
    """

    def __init__(
        self,
        scene: Scene,
        seconds: float | None = None,
        size: tuple[int, int] = (960, 540),
        fps: float = 20.0,
        view: str = "2d",
        theme: str = "light",
        fmt: str = "auto",
    ) -> None:
        if fmt not in ("auto", "mp4", "gif"):
            raise ValueError(f"fmt must be 'auto', 'mp4' or 'gif', got {fmt!r}")
        self.scene = scene
        self.seconds = seconds
        self.size = (int(size[0]) // 2 * 2, int(size[1]) // 2 * 2)  # H.264 wants even sides
        self.fps = float(fps)
        self.view = view
        self.theme = theme
        self.fmt = fmt

    def __repr__(self) -> str:
        w, h = self.size
        return f"<gdviz animation of {self.scene.title or self.scene.problem!r}: {w}x{h}, {self.fps:g} fps>"

    def _format(self) -> str:
        if self.fmt != "auto":
            return self.fmt
        from gdviz.export.video import ffmpeg_available

        return "mp4" if ffmpeg_available() else "gif"

    def _length(self) -> float:
        if self.seconds is not None:
            return float(self.seconds)
        from gdviz.export.video import HOLD_SECONDS
        from gdviz.ui.controller import BASE_STEPS_PER_SECOND

        return min(MAX_SECONDS, self.scene.steps / BASE_STEPS_PER_SECOND + HOLD_SECONDS)

    def data(self) -> tuple[str, bytes]:
        """``(mime type, bytes)`` of the animation, rendered on first use and then cached."""
        fmt = self._format()
        key = (
            _scene_key(self.scene),
            self.seconds,
            self.size,
            self.fps,
            self.view,
            self.theme,
            fmt,
        )
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        from gdviz.output import render

        with tempfile.TemporaryDirectory(prefix="gdviz-") as folder:
            path = Path(folder) / f"animation.{fmt}"
            render(
                self.scene,
                path,
                self.size,
                self.fps,
                self._length(),
                view=self.view,  # type: ignore[arg-type]
                theme=self.theme,  # type: ignore[arg-type]
            )
            result = (f"video/{fmt}" if fmt == "mp4" else "image/gif", path.read_bytes())
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return result

    def html(self) -> str:
        """A ``<figure>``: the looping animation, then the scene's title and caption."""
        from gdviz.export.files import UserError

        try:
            mime, payload = self.data()
        except UserError as exc:  # said in the notebook, not as a formatter traceback
            return f'<pre class="gdviz-error">gdviz: {html.escape(str(exc))}</pre>'
        encoded = base64.b64encode(payload).decode("ascii")
        width = self.size[0]
        title = html.escape(self.scene.title or self.scene.problem)
        if mime == "video/mp4":
            media = (
                f'<video autoplay loop muted playsinline controls width="{width}" '
                f'style="max-width:100%;height:auto" title="{title}">'
                f'<source type="video/mp4" src="data:video/mp4;base64,{encoded}"></video>'
            )
        else:
            media = (
                f'<img src="data:image/gif;base64,{encoded}" width="{width}" '
                f'style="max-width:100%;height:auto" alt="{title}">'
            )
        caption = f"<strong>{title}</strong>"
        if self.scene.caption:
            caption += f"<br>{html.escape(self.scene.caption)}"
        return (
            f'<figure class="gdviz" style="margin:0 0 1em 0;max-width:{width}px">{media}'
            f'<figcaption style="font-size:0.95em;margin-top:0.3em">{caption}</figcaption>'
            "</figure>"
        )

    def _repr_html_(self) -> str:  # IPython's rich display protocol
        return self.html()


def scene_html(scene: Scene) -> str:
    """The HTML IPython shows for a scene: its animation with the default options."""
    return Animation(scene).html()


def register(ipython: Any = None) -> bool:
    """Make IPython show every :class:`~gdviz.core.Scene` as its animation; True if it did.

    Registered by the class's module and name: the core is not imported until a scene exists.
    Without a running IPython (a plain script) nothing happens.
    """
    if ipython is None:
        module = sys.modules.get("IPython")
        get_ipython = getattr(module, "get_ipython", None)
        ipython = get_ipython() if get_ipython is not None else None
    formatter = getattr(getattr(ipython, "display_formatter", None), "formatters", {}).get(
        "text/html"
    )
    if formatter is None:
        return False
    formatter.for_type_by_name("gdviz.core.scene", "Scene", scene_html)
    return True


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gdviz.notebook``: the same registration as ``import gdviz`` makes."""
    register(ipython)
