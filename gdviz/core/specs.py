"""Specifications of tunable numbers: problem parameters and optimizer hyperparameters.

A spec carries what a scene file is checked against and what the UI needs to build a control:
the default, the allowed range, integer or real, and whether a slider should be linear or logarithmic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Scale = Literal["linear", "log"]


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
    """

    name: str
    default: float
    low: float
    high: float
    integer: bool = False
    scale: Scale = "linear"
    doc: str = ""

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
