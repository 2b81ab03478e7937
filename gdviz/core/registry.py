"""The one table of problems: every problem gdviz knows, by name, in the order it was registered.

:mod:`gdviz.core.problems` (the analytic functions and linear regression) and
:mod:`gdviz.core.networks` (the toy networks) each feed it with :func:`register`; everything that
lists, checks or builds problems reads :data:`PROBLEMS`. This module imports nothing of the
problems, so the feeders import it and never each other's registry code: no import loop.
:mod:`gdviz.core.scene` imports both feeders, and every name of ``gdviz.core`` loads the scene
module first, so the table is whole before a scene or a caller of the package reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gdviz.core.specs import OptionSpec, ParamSpec

__all__ = ["PROBLEMS", "ProblemSpec", "register"]


@dataclass(frozen=True)
class ProblemSpec:
    """A registry entry: how to build a problem and which parameters it takes.

    Attributes:
      name: the registry name (snake_case), the ``[problem] name`` of a scene file.
      summary: one line for ``gdviz scenes`` and tooltips.
      params: the problem's own parameters, with defaults and ranges.
      build: ``build(**params) -> Problem`` (a :class:`gdviz.core.problems.Problem`).
      has_data: whether the problem has a dataset (mini-batches, a data view).
      options: its parameters that are not one number (a formula, a view, own data points), each
        with its own check; a data problem's ``data`` option takes a scene's own points.
    """

    name: str
    summary: str
    params: tuple[ParamSpec, ...]
    build: Callable[..., Any]
    has_data: bool = False
    options: tuple[OptionSpec, ...] = ()

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key its ``[problem]`` table may hold besides ``name``."""
        return tuple(p.name for p in self.params) + tuple(o.name for o in self.options)


PROBLEMS: dict[str, ProblemSpec] = {}
"""Every registered problem by name, in registration order (the analytic ones first)."""


def register(*specs: ProblemSpec) -> None:
    """Add problems to the table.

    Raises:
      ValueError: a name is already registered (two problems must not share a name).
    """
    for spec in specs:
        if spec.name in PROBLEMS:
            raise ValueError(f"problem {spec.name!r} is already registered")
        PROBLEMS[spec.name] = spec
