"""Specifications of what a scene may set: tunable numbers, other problem options, and the error.

A :class:`ParamSpec` carries what a scene file is checked against and what the UI needs to build a
control: the default, the allowed range, integer or real, and whether a slider should be linear or
logarithmic. An :class:`OptionSpec` is a problem parameter that is not one number (a formula, a
rectangle, a list of points): it brings its own check. :class:`SceneError` is the one error every
check raises; it lives here, at the bottom of the core's imports, so that every module of the core
can raise it without importing :mod:`gdviz.core.scene` (which re-exports it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

Scale = Literal["linear", "log"]

MAX_COORD = 1e4
"""Start points, view corners and formula views must lie within ±MAX_COORD."""


class SceneError(ValueError):
    """A scene that cannot be used; the message names the source, the key and what is allowed."""


@dataclass(frozen=True)
class ParamSpec:
    """One tunable number.

    Attributes:
      name: the key in a scene file (optax's name for hyperparameters).
      default: the value taken when the scene does not give one.
      low, high: the closed range of allowed values.
      integer: whether only whole numbers are allowed.
      scale: how a slider should move through the range.
      doc: a short phrase for tooltips and error messages.
      dataset: the parameter shapes a generated dataset (``n``, ``noise``, ``data_seed``): a
        scene that gives its own data (``data`` or ``data_csv``) must not give it.
    """

    name: str
    default: float
    low: float
    high: float
    integer: bool = False
    scale: Scale = "linear"
    doc: str = ""
    dataset: bool = False

    def describe_range(self) -> str:
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in [{self.low:g}, {self.high:g}]"

    def problem_with(self, value: object) -> str | None:
        """Why ``value`` is not allowed, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {self.describe_range()}, got {value!r}"
        if self.integer and not float(value).is_integer():
            return f"must be {self.describe_range()}, got {value!r}"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"must be {self.describe_range()}, got {value!r}"
        return None

    def coerce(self, value: float) -> float | int:
        """The value in the spec's own type (int for integer specs)."""
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class OptionSpec:
    """A problem parameter that is not one number: a formula, a rectangle, points.

    Attributes:
      name: the key in a scene file's ``[problem]`` table.
      doc: a short phrase for tooltips and error messages.
      check: ``check(value) -> stored``: the value from a file (TOML lists) or from the API, checked
        and made hashable (tuples, a :class:`gdviz.core.datafile.Dataset`); raises
        :class:`SceneError` whose message names the key. Checking a stored value returns an equal one.
      dump: ``dump(stored) -> TOML value`` (a string, a number or nested lists).
    """

    name: str
    doc: str
    check: Callable[[object], Hashable]
    dump: Callable[[Any], object]
