"""Colours, fonts and sizes, chosen for a projector in a lecture hall.

Optimizer colours are Okabe & Ito's colour-blind-safe palette (2008), the same colour for an
optimizer in every view. The surface is drawn in a quiet light-to-dark grey-blue so that the
saturated trail colours stand out on it, with a dark halo under each trail for the light ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

# Okabe-Ito, ordered so that the first few are the most distinct on a washed-out beamer.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
    "#8C564B",  # brown (beyond Okabe-Ito's eight)
)


# On a dark background black disappears: white takes its place.
DARK_PALETTE = tuple("#FFFFFF" if c == "#000000" else c for c in PALETTE)


def entry_color(index: int, explicit: str | None, theme: Theme | None = None) -> str:
    """The colour of the entry at ``index``: its own, or the theme's palette's."""
    palette = theme.palette if theme is not None else PALETTE
    return explicit or palette[index % len(palette)]


@dataclass(frozen=True)
class Theme:
    """Sizes and colours of one look (normal or presenter)."""

    name: str
    background: str
    foreground: str
    panel_font_pt: int
    plot_font_pt: int
    trail_width: float
    halo_width: float
    head_size: int
    handle_size: int
    contour_color: tuple[int, int, int, int]
    surface_stops: tuple[str, ...]
    palette: tuple[str, ...] = PALETTE
    halo_color: tuple[int, int, int, int] = (20, 20, 30, 170)
    dark: bool = False

    def needs_halo(self, color: str) -> bool:
        """Whether a trail colour is too close to the surface's colours to read without a halo."""
        r, g, b = rgb(color)
        luminance = 0.299 * r + 0.587 * g + 0.114 * b
        return luminance < 70 if self.dark else luminance > 170

    def scaled(self, name: str, factor: float) -> Theme:
        """The same look with type and lines ``factor`` times larger (presenter mode, videos)."""
        return dataclasses.replace(
            self,
            name=name,
            panel_font_pt=round(self.panel_font_pt * factor),
            plot_font_pt=round(self.plot_font_pt * factor),
            trail_width=self.trail_width * factor,
            halo_width=self.halo_width * factor,
            head_size=round(self.head_size * factor),
            handle_size=round(self.handle_size * factor),
        )

    def surface_lut(self, n: int = 256) -> np.ndarray:
        """A ``(n, 4)`` uint8 lookup table through ``surface_stops`` (low loss first)."""
        stops = np.array([rgb(c) for c in self.surface_stops], dtype=float)
        pos = np.linspace(0.0, 1.0, len(stops))
        t = np.linspace(0.0, 1.0, n)
        channels = np.stack([np.interp(t, pos, stops[:, i]) for i in range(3)], axis=1)
        return np.concatenate([channels, np.full((n, 1), 255.0)], axis=1).astype(np.uint8)


def rgb(hex_color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as three 0-255 integers (the one place colours are parsed)."""
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


LIGHT = Theme(
    name="light",
    background="#FFFFFF",
    foreground="#202020",
    panel_font_pt=11,
    plot_font_pt=13,
    trail_width=3.5,
    halo_width=6.5,
    head_size=17,
    handle_size=26,
    contour_color=(40, 40, 60, 110),
    surface_stops=("#FFFFFF", "#E4E9F0", "#B9C4D4", "#7D8CA6", "#45506A"),
)

DARK = dataclasses.replace(
    LIGHT,
    name="dark",
    background="#111318",
    foreground="#E8E8E8",
    contour_color=(220, 225, 235, 90),
    surface_stops=("#0A0C10", "#18202E", "#2A3850", "#4A5E80", "#8394B4"),
    palette=DARK_PALETTE,
    halo_color=(235, 235, 240, 170),
    dark=True,
)
"""The light theme's sizes, with dark colours."""

THEMES = {"light": LIGHT, "dark": DARK}
PRESENTER_SCALE = 1.45
