"""Scenes: what to draw and which optimizers to run, as immutable data read from and written to TOML.

The format is described in DESIGN.md. :func:`scene_from_dict` checks every key and value and raises
one :class:`SceneError` naming the file, the key and what is allowed; nothing else escapes it.

A problem's ``[problem]`` table holds its numbers (``ParamSpec``) and its options (``OptionSpec``:
a formula's ``expr``, ``view`` and ``minima``; a data problem's own ``data``), and, for a data
problem, ``data_csv``: a CSV file of points, relative to the scene file's folder. In a
:class:`Scene` every one of them sits in ``problem_params`` as a hashable value (own points as a
:class:`gdviz.core.datafile.Dataset`, which remembers its CSV file); writing a scene names the CSV
file again (relative to the new file) while it still holds the same points, and writes the points
inline otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, Table, Whitespace

from gdviz.core import networks  # noqa: F401  (registers the toy networks: the table is whole)
from gdviz.core.datafile import DataError, Dataset, load_data_csv, make_dataset
from gdviz.core.expression import ExpressionError
from gdviz.core.files import InputError, read_bytes_bounded, write_text_atomically
from gdviz.core.lru import LRU
from gdviz.core.mlp import NETWORKS, Network, make_network, run_size_problem
from gdviz.core.optimizers import (
    CLIP_NORM,
    CONVENTIONS,
    GRADIENT_NOISE,
    L2,
    RULES,
    WEIGHT_DECAY,
    Convention,
    EntryKind,
)
from gdviz.core.plane import PlaneSpec, plane_from_table
from gdviz.core.problems import (
    DEFAULT_EXPR,
    PROBLEMS,
    MinimaMode,
    ParamValue,
    Problem,
    ProblemSpec,
    Rect,
    make_problem,
    with_minima,
)
from gdviz.core.schedules import SCHEDULES
from gdviz.core.specs import MAX_COORD, ParamSpec, SceneError
from gdviz.core.types import NDArray

DataSource = str
"""Where a data problem's points come from: ``"generated"``, ``"inline"`` or ``"csv"``."""


MAX_STEPS = 10_000
"""The cap on ``steps``: 10,000 steps of nine optimizers still recompute in a few ms."""

MAX_SEED = 2**31 - 1
MAX_LABEL = 60
"""Labels are 1 to MAX_LABEL characters (after stripping spaces)."""

MAX_ENTRIES = 32
"""A scene holds 1 to MAX_ENTRIES optimizer entries."""

MAX_SCENE_BYTES = 1_000_000
"""Scene files longer than this are refused before they are parsed."""

ELIDE = 60
"""Values echoed in messages are cut to about this many characters."""

_TOP_KEYS = (
    "title",
    "caption",
    "steps",
    "seed",
    "start",
    "convention",
    "problem",
    "view",
    "plane",
    "optimizer",
)
_ENTRY_KEYS = (
    "name",
    "label",
    "batch_size",
    "start",
    "color",
    "visible",
    "gradient_noise",
    "schedule",
    "l2",
    "clip_norm",
)
_SCHEDULE_KEYS = tuple(sorted({p.name for s in SCHEDULES.values() for p in s.params}))
_COLOR = re.compile(r"\A#[0-9a-fA-F]{6}\Z")  # \Z: "$" would also match before a final newline


def _show(value: object) -> str:
    """``repr(value)`` cut to about ELIDE characters, for messages."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # ints past Python's digit limit, deep nesting
        return f"<{type(value).__name__} too large to show>"
    return (
        text if len(text) <= ELIDE else f"{text[: ELIDE - 15]}…{text[-10:]} ({len(text):,} chars)"
    )


# --- the limits, one rule for every door (file, API, CLI, window) ---------------------------------


def check_start(xy: object, key: str = "start") -> tuple[float, float]:
    """``xy`` as a start point ``(x, y)``: two finite numbers within ±MAX_COORD.

    The loader, ``Scene``/``OptimizerEntry`` construction, ``Scene.with_start`` and the CLI's
    ``--start`` all use this rule; the window clamps with :func:`clamp_start` first.

    Raises:
      SceneError: naming ``key``.
    """
    try:
        x, y = xy  # type: ignore[misc]
        point = (float(x), float(y))
    except (TypeError, ValueError, OverflowError):
        raise SceneError(f"{key}: must be a pair (x, y) of numbers, got {_show(xy)}") from None
    if isinstance(x, bool) or isinstance(y, bool):
        raise SceneError(f"{key}: must be a pair (x, y) of numbers, got {_show(xy)}")
    if not all(math.isfinite(v) for v in point):
        raise SceneError(f"{key}: must be finite numbers, got {_show(xy)}")
    if max(abs(point[0]), abs(point[1])) > MAX_COORD:
        raise SceneError(
            f"{key}: must lie within ±{MAX_COORD:g} on both axes, got ({point[0]:g}, {point[1]:g})"
        )
    return point


def clamp_start(xy: tuple[float, float]) -> tuple[float, float]:
    """The point of the ±MAX_COORD box nearest to ``xy`` (for a drag or click past its edge).

    Raises:
      SceneError: a coordinate is NaN (there is no nearest point).
    """
    x, y = float(xy[0]), float(xy[1])
    if math.isnan(x) or math.isnan(y):
        raise SceneError(f"start: must be finite numbers, got {_show(xy)}")
    return (min(max(x, -MAX_COORD), MAX_COORD), min(max(y, -MAX_COORD), MAX_COORD))


def check_label(label: object, key: str = "label") -> str:
    """``label`` stripped: a string of 1 to MAX_LABEL characters.

    Raises:
      SceneError: naming ``key``.
    """
    if not isinstance(label, str):
        raise SceneError(f"{key}: must be a string, got {_show(label)}")
    label = label.strip()
    if not label:
        raise SceneError(f"{key}: must not be empty")
    if len(label) > MAX_LABEL:
        raise SceneError(f"{key}: must be at most {MAX_LABEL} characters, got {len(label)}")
    return label


def check_entry_count(count: int, key: str = "optimizer") -> int:
    """``count`` if a scene may hold that many entries (1 to MAX_ENTRIES).

    Raises:
      SceneError: too few or too many.
    """
    if count < 1:
        raise SceneError(f"{key}: no optimizer; a scene needs at least one")
    if count > MAX_ENTRIES:
        raise SceneError(f"{key}: at most {MAX_ENTRIES} entries, got {count}")
    return count


def _check_view(view: object, key: str = "view") -> None:
    try:
        (x0, x1), (y0, y1) = view  # type: ignore[misc]
    except (TypeError, ValueError):
        raise SceneError(
            f"{key}: must be ((x_min, x_max), (y_min, y_max)), got {_show(view)}"
        ) from None
    for axis, (lo, hi) in (("x", (x0, x1)), ("y", (y0, y1))):
        check_start((lo, hi), f"{key}.{axis}")
        if not lo < hi:
            raise SceneError(f"{key}.{axis}: must be [min, max] with min < max, got {[lo, hi]}")


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer run in a scene.

    Attributes:
      rule: the update rule (a key of ``RULES``).
      label: unique within the scene.
      hyperparams: values given explicitly; the rest come from the scene's convention.
      batch_size: samples per step on data problems; None is the full batch.
      start: the entry's own start, or None for the scene's.
      color: ``#rrggbb``, or None for the palette's.
      visible: whether views draw it.
      gradient_noise: std of seeded Gaussian noise added to each gradient.
      schedule: the learning-rate schedule's kind (a key of ``SCHEDULES``); the learning rate
        is its peak (or initial) value.
      schedule_params: the schedule's parameters given explicitly (optax's names); the rest
        default, some following the scene's steps (:meth:`resolved_schedule`).
      weight_decay: decoupled weight decay λ (``−η λ θ`` added to each update), for rules without
        their own; AdamW's and Lion's sit in ``hyperparams`` (given here, it moves there).
      l2: an L2 term ``(l2 / 2)·|θ|²`` added to the loss this entry descends (its gradient gains
        ``l2 · θ``). Per entry, so AdamW (decoupled) and Adam + L2 (coupled) can race side by
        side; the surface shows the regularised loss when every visible entry has the same
        ``l2`` (:attr:`Scene.surface_l2`).
      clip_norm: clip each gradient to this global norm before the rule sees it; 0 = off.
    """

    rule: str
    label: str
    hyperparams: Mapping[str, float] = field(default_factory=dict)
    batch_size: int | None = None
    start: tuple[float, float] | None = None
    color: str | None = None
    visible: bool = True
    gradient_noise: float = 0.0
    schedule: str = "constant"
    schedule_params: Mapping[str, float] = field(default_factory=dict)
    weight_decay: float = 0.0
    l2: float = 0.0
    clip_norm: float = 0.0

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise SceneError(f"name: unknown rule {_show(self.rule)}; one of: {', '.join(RULES)}")
        label = check_label(self.label)
        if label != self.label:
            object.__setattr__(self, "label", label)
        rule = RULES[self.rule]
        if self.schedule not in SCHEDULES:
            raise SceneError(
                f"{label}: schedule: unknown schedule {_show(self.schedule)}; "
                f"one of: {', '.join(SCHEDULES)}"
            )
        kind = SCHEDULES[self.schedule]
        for name, value in self.schedule_params.items():
            spec = kind.spec(name)
            if spec is None:
                allowed = ", ".join(p.name for p in kind.params) or "none"
                raise SceneError(
                    f"{label}: {name}: not a parameter of schedule {kind.name!r} "
                    f"(its parameters: {allowed})"
                )
            err = spec.problem_with(value)
            if err:
                raise SceneError(f"{label}: {name}: {err}")
        for spec in (WEIGHT_DECAY, L2, CLIP_NORM):
            err = spec.problem_with(getattr(self, spec.name))
            if err:
                raise SceneError(f"{label}: {spec.name}: {err}")
        if self.weight_decay and rule.own_weight_decay:
            object.__setattr__(
                self, "hyperparams", {**self.hyperparams, "weight_decay": self.weight_decay}
            )
            object.__setattr__(self, "weight_decay", 0.0)
        if self.weight_decay and not rule.takes_weight_decay:
            raise SceneError(
                f"{label}: weight_decay: {rule.title} decays inside its averaged iterate, "
                "not as a term of the update; gdviz leaves it at 0 (use l2 for a penalty)"
            )
        if self.start is not None:
            object.__setattr__(self, "start", check_start(self.start, f"{label}: start"))
        if self.color is not None and not (
            isinstance(self.color, str) and _COLOR.match(self.color)
        ):
            raise SceneError(f'{label}: color: must look like "#0072B2", got {_show(self.color)}')

    def resolved_hyperparams(self, convention: Convention) -> dict[str, float]:
        """Every hyperparameter of the rule: the explicit ones over the convention's defaults."""
        values = RULES[self.rule].defaults(convention)
        values.update(self.hyperparams)
        return values

    def with_hyperparam(self, name: str, value: float) -> OptimizerEntry:
        return dataclasses.replace(self, hyperparams={**self.hyperparams, name: value})

    def resolved_schedule(self, steps: int) -> dict[str, float]:
        """Every parameter of the entry's schedule for a run of ``steps`` steps."""
        return SCHEDULES[self.schedule].resolved(self.schedule_params, steps)

    def with_schedule(self, schedule: str, **params: float) -> OptimizerEntry:
        """The entry with another schedule (its parameters given anew; the rest default).

        Raises:
          SceneError: an unknown schedule or parameter, or a value out of its range.
        """
        return dataclasses.replace(self, schedule=schedule, schedule_params=params)

    def effective_weight_decay(self, convention: Convention) -> float:
        """λ of the decoupled decay in force: the rule's own (AdamW, Lion) or the entry's."""
        if RULES[self.rule].own_weight_decay:
            return float(self.resolved_hyperparams(convention)["weight_decay"])
        return float(self.weight_decay)

    @property
    def kind(self) -> EntryKind:
        """What about this entry shapes the compiled program (see :class:`EntryKind`)."""
        return EntryKind(
            self.rule,
            self.schedule,
            bool(self.weight_decay),
            bool(self.l2),
            bool(self.clip_norm),
        )


@dataclass(frozen=True, eq=False)
class SourceDocument:
    """The TOML text a scene was read from, so that a save changes only what the user changed.

    Attributes:
      text: the file's text, as read.
      folder: where its relative ``data_csv`` was found (None: the current folder).
      baseline: :func:`scene_to_dict` of the scene as read (with ``folder``): what the text meant,
        so that a key the text leaves out (a default) stays out while its value is unchanged.
    """

    text: str
    folder: Path | None
    baseline: Mapping[str, Any]


@dataclass(frozen=True)
class Scene:
    """A problem and the optimizer entries to run on it; immutable (edit with ``replace``).

    ``problem_params`` holds the problem's numbers and options by key, as given (defaults are not
    filled in): ``{"n": 40}``, ``{"expr": "x**2 + y**2", "view": (-2.0, 2.0, -2.0, 2.0)}``,
    ``{"data": Dataset(...)}``. Every value is hashable.

    A network scene (``problem = "mlp"``, :attr:`is_network`) trains every weight of a small
    network (:mod:`gdviz.core.mlp`, :mod:`gdviz.core.weightspace`) and shows it on a plane
    through weight space (``plane``; None: the default :class:`gdviz.core.plane.PlaneSpec`).
    Its entries start from the seeded initial weights (no ``start``), and its ``view``, when
    given, is a rectangle of plane coordinates. It has no two-parameter problem:
    :meth:`build_problem` refuses it; :meth:`build_network` builds it.
    """

    problem: str
    optimizers: tuple[OptimizerEntry, ...]
    problem_params: Mapping[str, ParamValue] = field(default_factory=dict)
    title: str = ""
    caption: str = ""
    steps: int = 200
    seed: int = 0
    start: tuple[float, float] = (0.0, 0.0)
    convention: Convention = "optax"
    view: Rect | None = None
    plane: PlaneSpec | None = None
    source: SourceDocument | None = field(default=None, compare=False, repr=False)
    """The text the scene was read from (:func:`parse_scene`); every edit keeps it, and it takes
    no part in equality. :func:`dumps_scene` updates it rather than writing afresh."""

    def __post_init__(self) -> None:
        if self.problem not in PROBLEMS and self.problem not in NETWORKS:
            raise SceneError(f"problem.name: unknown problem {_show(self.problem)}")
        object.__setattr__(self, "start", check_start(self.start))
        if (
            isinstance(self.steps, bool)
            or not isinstance(self.steps, int)
            or not 1 <= self.steps <= MAX_STEPS
        ):
            raise SceneError(
                f"steps: must be an integer in [1, {MAX_STEPS}], got {_show(self.steps)}"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            raise SceneError(f"seed: must be an integer in [0, {MAX_SEED}], got {_show(self.seed)}")
        check_entry_count(len(self.optimizers))
        labels = [e.label for e in self.optimizers]
        if len(set(labels)) != len(labels):
            twice = next(x for x in labels if labels.count(x) > 1)
            raise SceneError(f"optimizer: {_show(twice)} is used twice; labels must be unique")
        if self.view is not None:
            _check_view(self.view)
        if self.is_network:
            _check_network_scene(self)
        elif self.plane is not None:
            raise SceneError("plane: only a network scene (problem mlp) has a plane")

    def with_start(self, start: tuple[float, float]) -> Scene:
        """The same scene from another shared start point.

        Raises:
          SceneError: the start is not finite or lies outside ±MAX_COORD (see :func:`check_start`).
        """
        return dataclasses.replace(self, start=check_start(start))

    def with_entry_start(self, label: str, start: tuple[float, float] | None) -> Scene:
        """The same scene with entry ``label`` starting at ``start`` (None: the shared start).

        Raises:
          SceneError: as :meth:`with_start`.
        """
        point = None if start is None else check_start(start, f"{label}: start")
        return dataclasses.replace(
            self,
            optimizers=tuple(
                dataclasses.replace(e, start=point) if e.label == label else e
                for e in self.optimizers
            ),
        )

    @property
    def surface_l2(self) -> float:
        """The L2 coefficient the surface should add, ``(l2 / 2)·|θ|²``: the ``l2`` every visible
        entry shares, or 0 when they differ (or none is visible): a surface is one loss, and
        paths that descend different losses are drawn over the unregularised one."""
        values = {e.l2 for e in self.optimizers if e.visible}
        return values.pop() if len(values) == 1 else 0.0

    def can_add_entry(self) -> bool:
        """Whether one more entry fits (MAX_ENTRIES); adding past it raises SceneError."""
        return len(self.optimizers) < MAX_ENTRIES

    def replace(self, **changes: Any) -> Scene:
        return dataclasses.replace(self, **changes)

    # --- edits: what the window (or a script) does to a scene, each a new valid scene ---------
    # Every one raises SceneError for what the loader would refuse, so whatever is edited saves
    # to a file that reopens.

    def unique_label(self, base: str) -> str:
        """``base``, or ``base 2``, ``base 3``, …: the first that no entry uses (within MAX_LABEL)."""
        taken = {e.label for e in self.optimizers}
        base = check_label(base)
        label, k = base, 2
        while label in taken:
            suffix = f" {k}"
            label, k = base[: MAX_LABEL - len(suffix)].rstrip() + suffix, k + 1
        return label

    def replace_entry(self, which: str, /, **changes: Any) -> Scene:
        """The scene with entry ``which``'s fields changed (hyperparams, batch_size, label, …).

        Raises:
          SceneError: as the loader would: a batch larger than the dataset (or on a problem with
            no data), or an invalid field.
        """
        self.entry(which)  # an unknown label is a SceneError
        batch = changes.get("batch_size")
        if batch is not None:
            problem = self.build_network() if self.is_network else self.build_problem("defer")
            key = f"{which}: batch_size"
            if not problem.has_data:
                raise SceneError(f"{key}: problem {problem.name!r} has no data to batch")
            if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= problem.n:
                raise SceneError(
                    f"{key}: must be an integer in [1, {problem.n}], got {_show(batch)}"
                )
        return self.replace(
            optimizers=tuple(
                dataclasses.replace(e, **changes) if e.label == which else e
                for e in self.optimizers
            )
        )

    def with_entry_added(self, rule: str) -> tuple[Scene, str]:
        """The scene with a new entry of ``rule`` at the end, and that entry's label."""
        if rule not in RULES:
            raise SceneError(f"optimizer.name: unknown rule {_show(rule)}")
        check_entry_count(len(self.optimizers) + 1)
        label = self.unique_label(RULES[rule].title)
        return self.replace(optimizers=(*self.optimizers, OptimizerEntry(rule, label))), label

    def with_entry_duplicated(self, label: str) -> tuple[Scene, str]:
        """The scene with a copy of entry ``label`` right after it (palette colour), and its label."""
        check_entry_count(len(self.optimizers) + 1)
        source = self.entry(label)
        copy = dataclasses.replace(source, label=self.unique_label(label), color=None)
        entries = list(self.optimizers)
        entries.insert(entries.index(source) + 1, copy)
        return self.replace(optimizers=tuple(entries)), copy.label

    def with_entry_renamed(self, label: str, new_label: str) -> Scene:
        """The scene with entry ``label`` called ``new_label`` (stripped; unique; ≤ MAX_LABEL)."""
        new_label = check_label(new_label)
        if new_label != label and any(e.label == new_label for e in self.optimizers):
            raise SceneError(f"label: another optimizer is already called {_show(new_label)}")
        return self.replace_entry(label, label=new_label)

    def without_entry(self, label: str) -> Scene:
        """The scene without entry ``label`` (a scene keeps at least one)."""
        self.entry(label)
        check_entry_count(len(self.optimizers) - 1)
        return self.replace(optimizers=tuple(e for e in self.optimizers if e.label != label))

    def with_problem_param(self, name: str, value: float) -> Scene:
        """The scene with one problem parameter changed; batches shrink with a smaller dataset.

        Raises:
          SceneError: the value is outside the parameter's range, or the problem it makes cannot
            be drawn (e.g. its minimum lies outside ±MAX_COORD).
        """
        spec = _problem_spec(self.problem).param(name)
        if spec is None:
            raise SceneError(f"problem.{name}: {self.problem} has no such parameter")
        if spec.dataset and "data" in self.problem_params:
            raise SceneError(
                f"problem.{name}: the scene has its own data points, so none are generated; "
                "go back to generated data first (without_data)"
            )
        problem = spec.problem_with(value)
        if problem is not None:
            raise SceneError(f"problem.{name}: {problem}")
        value = spec.coerce(value)
        scene = self.replace(problem_params={**self.problem_params, name: value})
        if name == "n":  # keep every batch within the new dataset
            scene = scene._with_batches_within(int(value))
        if not scene.is_network:
            scene.build_problem(minima="defer")  # refuses a problem whose view leaves the box
        return scene

    def _with_batches_within(self, n: int | None) -> Scene:
        """Every batch size at most ``n`` (None: no data, so no batches)."""
        return self.replace(
            optimizers=tuple(
                dataclasses.replace(e, batch_size=None if n is None else min(e.batch_size, n))
                if e.batch_size is not None
                else e
                for e in self.optimizers
            )
        )

    # --- a typed formula ----------------------------------------------------------------------

    def with_expression(
        self, text: str, view: tuple[float, float, float, float] | None = None
    ) -> Scene:
        """The scene on the typed formula ``text`` (problem ``expression``).

        From another problem the scene switches to the formula (batch sizes are dropped: a
        formula has no data) and keeps its view, start and entries. A new formula drops the old
        one's ``minima`` hints. ``view`` (``[xmin, xmax, ymin, ymax]``), when given, becomes the
        formula's own view and the scene's ``[view]`` is cleared so that it shows. A title that
        was the old problem's own becomes the new one's (``f(x, y) = ...``).

        The problem is built with its minima deferred (no search yet), so this takes about the
        time of one grid evaluation, plus its compile for a new formula.

        Raises:
          ExpressionError (a SceneError): the formula is refused; ``.column`` says where
            (``expr: column 12: unknown name 'os'``); or it is not finite anywhere in the view.
          SceneError: a bad ``view``.
        """
        spec = PROBLEMS["expression"]
        expr = spec.option("expr").check(text)  # type: ignore[union-attr]
        params: dict[str, ParamValue] = (
            dict(self.problem_params) if self.problem == "expression" else {}
        )
        if params.get("expr") != expr:
            params.pop("minima", None)
        params["expr"] = expr
        if view is not None:
            params["view"] = spec.option("view").check(view)  # type: ignore[union-attr]
        old_title = self.build_problem(minima="defer").title
        scene = self.replace(
            problem="expression",
            problem_params=params,
            view=None if view is not None else self.view,
        )._with_batches_within(None)
        problem = scene.build_problem(minima="defer")
        if self.title in ("", old_title):
            scene = scene.replace(title=problem.title)
        return scene

    @property
    def expression(self) -> str | None:
        """The typed formula of an ``expression`` scene (None for other problems)."""
        if self.problem != "expression":
            return None
        return str(self.problem_params.get("expr", DEFAULT_EXPR))

    # --- own data -----------------------------------------------------------------------------

    @property
    def data_source(self) -> DataSource | None:
        """Where the points come from: ``"generated"`` (from ``n``, ``noise``, ``data_seed``),
        ``"inline"`` (``data`` in the scene: typed, edited, or loaded and then changed) or
        ``"csv"`` (``data_csv``, a file that :attr:`data_csv` names); None without data."""
        if not _problem_spec(self.problem).has_data:
            return None
        data = self.problem_params.get("data")
        if not isinstance(data, Dataset):
            return "generated"
        return "inline" if data.csv is None else "csv"

    @property
    def data_csv(self) -> Path | None:
        """The CSV file the points were read from (absolute), if they still are that file's."""
        data = self.problem_params.get("data")
        return data.csv if isinstance(data, Dataset) else None

    def points(self) -> tuple[NDArray, NDArray]:
        """``(x, y)``: the problem's data points, own or generated (read-only arrays).

        Raises:
          SceneError: the problem has no data.
        """
        problem = self.build_problem(minima="defer")
        if problem.x is None or problem.y is None:
            raise SceneError(f"problem {self.problem!r} has no data points")
        return problem.x, problem.y

    def with_data(
        self, x: Sequence[float] | NDArray, y: Sequence[float] | NDArray, *, csv: Path | None = None
    ) -> Scene:
        """The scene on its own data points ``(x, y)`` (a data problem only).

        The parameters that generated data (``n``, ``noise``, ``data_seed``, ...) are dropped;
        every batch size larger than the new number of points shrinks to it (the mini-batch
        schedules depend on ``(n, batch_size, steps, seed)``: still seeded, still valid).
        ``csv`` records the file the points came from (see :meth:`with_data_csv`); edited
        points have none and are saved inline.

        Cost: the points are checked and hashed (~10 us for 100 points) and the problem is built
        with its minima deferred (linear regression's least squares, exact, is always there; a
        network's numerical search waits for ``build_problem()``). Moving a point keeps every
        shape, so nothing recompiles; a new number of points is a new shape.

        Raises:
          DataError (a SceneError): not a data problem, too few or too many points (linear
            regression 2, the networks 1, at most 10,000), a value not finite or beyond ±1e6.
          SceneError: the best fit lies outside ±MAX_COORD.
        """
        spec = _problem_spec(self.problem)
        option = spec.option("data")
        if option is None:
            raise DataError(f"data: problem {self.problem!r} takes no data points")
        dataset = option.check(make_dataset(x, y, csv=csv))
        params = {
            k: v
            for k, v in self.problem_params.items()
            if not ((p := spec.param(k)) is not None and p.dataset)
        }
        params["data"] = dataset
        scene = self.replace(problem_params=params)._with_batches_within(dataset.n)  # type: ignore[union-attr]
        scene.build_problem(minima="defer")
        return scene

    def with_data_csv(self, path: str | Path) -> Scene:
        """The scene on the points of the CSV file at ``path`` (see
        :func:`gdviz.core.datafile.load_data_csv`); saved scenes name the file again.

        Raises:
          DataError (a SceneError): naming the file and the line; the scene is unchanged.
        """
        x, y = load_data_csv(path)
        return self.with_data(x, y, csv=Path(path))

    def with_point_moved(self, i: int, x: float, y: float) -> Scene:
        """The scene with data point ``i`` at ``(x, y)`` (generated points become own ones).

        Raises:
          DataError: ``i`` out of range, or the point is refused (see :meth:`with_data`).
        """
        xs, ys = self._editable_points(i)
        xs[i], ys[i] = x, y
        return self.with_data(xs, ys)

    def with_point_added(self, x: float, y: float) -> Scene:
        """The scene with one more data point ``(x, y)`` at the end (a new shape: see
        :meth:`with_data`).

        Raises:
          DataError: already at the most points, or the point is refused.
        """
        xs, ys = self._editable_points(None)
        return self.with_data(np.append(xs, x), np.append(ys, y))

    def with_point_removed(self, i: int) -> Scene:
        """The scene without data point ``i``; batch sizes shrink with the data.

        Raises:
          DataError: ``i`` out of range, or too few points would be left.
        """
        xs, ys = self._editable_points(i)
        return self.with_data(np.delete(xs, i), np.delete(ys, i))

    def _editable_points(self, i: int | None) -> tuple[NDArray, NDArray]:
        if not _problem_spec(self.problem).has_data:
            raise DataError(f"data: problem {self.problem!r} takes no data points")
        x, y = self.points()
        if i is not None and not (
            isinstance(i, int | np.integer) and not isinstance(i, bool) and 0 <= i < len(x)
        ):
            raise DataError(f"data: no point {_show(i)}; there are {len(x)} (0 to {len(x) - 1})")
        return np.array(x), np.array(y)

    def without_data(self) -> Scene:
        """The scene back on generated data (the parameters' defaults); batches shrink to fit.

        Raises:
          SceneError: the problem has no data.
        """
        if not _problem_spec(self.problem).has_data:
            raise SceneError(f"problem {self.problem!r} has no data")
        params = {k: v for k, v in self.problem_params.items() if k != "data"}
        scene = self.replace(problem_params=params)
        return scene._with_batches_within(scene.build_problem(minima="defer").n)

    def with_separate_starts(self, on: bool) -> Scene:
        """Every entry with its own start (at the shared one), or all back on the shared one."""
        start = self.start if on else None
        return self.replace(
            optimizers=tuple(dataclasses.replace(e, start=start) for e in self.optimizers)
        )

    def start_of(self, entry: OptimizerEntry) -> tuple[float, float]:
        return entry.start if entry.start is not None else self.start

    def build_problem(self, minima: MinimaMode = "find") -> Problem:
        """The scene's problem (cached: equal parameters give the same object).

        ``minima="defer"`` returns it without searching minima that have no closed form (the
        toy networks, typed formulas): ``problem.minima_pending`` is then True and ``minima``
        empty, unless the full problem is cached already. For edits that must be fast (dragging
        a data point: the search takes ~0.1-1 s); call ``build_problem()`` when the edit ends.

        Raises:
          SceneError: a network scene (see :meth:`build_network`): it has no two-parameter
            surface, so the 2-D views and tools (simulate, surface, the window) refuse it.
        """
        if self.is_network:
            raise SceneError(
                f"problem.name: {self.problem!r} trains a network in full weight space: it has "
                "no two-parameter loss surface, so the window and the 2-D tools cannot show it "
                "yet (gdviz.core.weightspace trains it and draws it on a plane)"
            )
        return _cached_problem(self.problem, tuple(sorted(self.problem_params.items())), minima)

    @property
    def is_network(self) -> bool:
        """Whether the problem is a network trained in full weight space (``mlp``)."""
        return self.problem in NETWORKS

    @property
    def plane_spec(self) -> PlaneSpec:
        """The plane a network scene is shown on (the default one when it names none)."""
        return self.plane if self.plane is not None else PlaneSpec()

    def build_network(self) -> Network:
        """The network scene's network and data (cached: equal parameters, one object).

        Raises:
          SceneError: not a network scene, or a parameter refused.
        """
        if not self.is_network:
            raise SceneError(f"problem {self.problem!r} is not a network; use build_problem()")
        return make_network(self.problem_params)

    def view_rect(self) -> Rect:
        return self.view if self.view is not None else self.build_problem().view

    def entry(self, label: str) -> OptimizerEntry:
        for e in self.optimizers:
            if e.label == label:
                return e
        raise SceneError(f"optimizer: no entry called {_show(label)}")


def _problem_spec(name: str) -> ProblemSpec:
    """The registry entry of a two-parameter problem or of a network (``mlp``)."""
    return PROBLEMS[name] if name in PROBLEMS else NETWORKS[name]


def _check_network_scene(scene: Scene) -> None:
    """What a network scene must not hold: a start point, Newton's rules, gradient noise,
    labels its plane does not find, or a run too big to record. Its parameters are kept as
    checked (``hidden`` a tuple), as a file gives them."""
    network = scene.build_network()
    object.__setattr__(scene, "problem_params", dict(network.params))
    if scene.start != (0.0, 0.0):
        raise SceneError(
            "start: a network starts from its seeded initial weights (problem.init_seed), "
            "not from a point; remove start"
        )
    for e in scene.optimizers:
        rule = RULES[e.rule]
        if e.start is not None:
            raise SceneError(f"{e.label}: start: every entry starts from the initial weights")
        if rule.needs_hessian:
            raise SceneError(
                f"{e.label}: name: {rule.title} solves with the 2x2 Hessian of two parameters; "
                f"the network has {network.n_weights}: choose another rule"
            )
        if e.gradient_noise:
            raise SceneError(
                f"{e.label}: gradient_noise: a network has data; use batch_size for a "
                "stochastic run"
            )
        if e.batch_size is not None and not 1 <= e.batch_size <= network.n:
            raise SceneError(f"{e.label}: batch_size: must be in [1, {network.n}]")
    labels = {e.label for e in scene.optimizers}
    for label in scene.plane_spec.labels():
        if label not in labels:
            raise SceneError(f"plane: no entry called {_show(label)}")
    batches = {e.batch_size for e in scene.optimizers if e.batch_size and e.batch_size < network.n}
    too_big = run_size_problem(scene.problem_params, len(scene.optimizers), scene.steps, batches)
    if too_big:
        raise SceneError(f"steps: {too_big}")


_PROBLEM_CACHE = 32
"""Problems kept per kind (built with minima, and deferred), least recently used first out."""

_problems: LRU[tuple[object, ...], Problem] = LRU(lambda: 2 * _PROBLEM_CACHE)


def _cached_problem(
    name: str, params: tuple[tuple[str, ParamValue], ...], minima: MinimaMode = "find"
) -> Problem:
    """The problem, built once for equal parameters (an LRU of 2 x 32 problems).

    A deferred build (``minima="defer"``) is cached apart; a later full build of the same
    parameters reuses it and only runs the minima search.

    Raises:
      SceneError: the parameters are out of range, or they make a problem whose view or default
        start lies outside ±MAX_COORD (e.g. two nearly equal x values with noise put the best
        line's slope in the millions).
    """
    full = _lookup((name, params, "find"))
    if full is not None:
        return full
    deferred = _lookup((name, params, "defer"))
    if deferred is None:
        try:
            deferred = _built_problem(name, params)
        except (KeyError, ValueError) as exc:
            if isinstance(exc, SceneError):
                raise
            raise SceneError(f"problem: {exc}") from None
        _store((name, params, "defer"), deferred)
    if minima == "defer":
        return deferred
    full = with_minima(deferred)
    _store((name, params, "find"), full)
    return full


def _lookup(key: tuple[object, ...]) -> Problem | None:
    return _problems.get(key)


def _store(key: tuple[object, ...], problem: Problem) -> None:
    _problems.put(key, problem)


def _built_problem(name: str, params: tuple[tuple[str, ParamValue], ...]) -> Problem:
    problem = make_problem(name, dict(params), minima="defer")
    (x0, x1), (y0, y1) = problem.view
    if not all(math.isfinite(v) and abs(v) <= MAX_COORD for v in (x0, x1, y0, y1)):
        where = ""
        if problem.minima:
            mx, my = problem.minima[0].point
            a, b = problem.axis_names
            where = f" put the best fit at ({a}, {b}) = ({mx:.3g}, {my:.3g}), which"
        if any(k == "data" for k, _ in params):
            raise SceneError(
                f"problem: these data points{where} lie outside ±{MAX_COORD:g}; "
                "move or add points (x values spread apart)"
            )
        given = ", ".join(f"{k} = {v:g}" for k, v in params) or "the defaults"
        raise SceneError(
            f"problem: these parameters ({given}){where} lie outside ±{MAX_COORD:g}; "
            "choose other data (more points, less noise or another data_seed)"
        )
    return problem


# --- reading --------------------------------------------------------------------------------------


class _Checker:
    """Collects the source name so that every message says where it comes from."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> SceneError:
        return SceneError(
            f"{self.source}: {key}: {message}" if key else f"{self.source}: {message}"
        )

    def table(self, value: object, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a table, got {_kind(value)}")
        return value

    def string(self, value: object, key: str, max_len: int = 2000) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_kind(value)}")
        if len(value) > max_len:
            raise self.fail(key, f"must be at most {max_len} characters")
        return value

    def integer(self, value: object, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be an integer in [{low}, {high}], got {_show(value)}")
        return value

    def number(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            raise self.fail(key, f"must be a finite number, got {_show(value)}")
        return float(value)

    def point(self, value: object, key: str) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(key, f"must be a pair [x, y] of numbers, got {_show(value)}")
        x, y = (self.number(v, f"{key}[{i}]") for i, v in enumerate(value))
        try:
            return check_start((x, y), key)
        except SceneError as exc:
            raise self.fail("", str(exc)) from None

    def specced(
        self, table: Mapping[str, Any], specs: tuple[ParamSpec, ...], where: str
    ) -> dict[str, float]:
        """The values ``table`` gives for ``specs``, each checked against its range."""
        values: dict[str, float] = {}
        for spec in specs:
            if spec.name in table:
                value = table[spec.name]
                if isinstance(value, int) and not _finite(value):
                    err = f"must be {spec.describe_range()}, got {_show(value)}"
                else:
                    err = spec.problem_with(value)
                if err:
                    if not isinstance(value, int | float):
                        err = err.replace(repr(value), _show(value))
                    raise self.fail(f"{where}.{spec.name}", err)
                values[spec.name] = spec.coerce(table[spec.name])
        return values

    def unknown(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            prefix = f"{where}." if where else ""
            raise self.fail(
                f"{prefix}{_elide(extra[0], ELIDE)}",
                f"unknown key; allowed here: {', '.join(allowed)}",
            )


def _finite(value: int | float) -> bool:
    """Whether ``value`` is a finite float, or an int that a float can hold."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float's range (a 400-digit number)
        return False


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _default_label(rule: str, batch_size: int | None) -> str:
    title = RULES[rule].title
    if rule == "sgd":
        if batch_size is None:
            return "GD"
        return "SGD" if batch_size == 1 else f"Mini-batch GD ({batch_size})"
    return title if batch_size is None else f"{title} (batch {batch_size})"


def _read_entry(
    ck: _Checker, raw: object, i: int, problem: Problem | Network
) -> tuple[OptimizerEntry, bool]:
    where = f"optimizer[{i}]"
    table = ck.table(raw, where)
    if "name" not in table:
        raise ck.fail(f"{where}.name", f"missing; one of: {', '.join(RULES)}")
    rule_name = ck.string(table["name"], f"{where}.name")
    if rule_name not in RULES:
        raise ck.fail(
            f"{where}.name", f"unknown rule {_show(rule_name)}; one of: {', '.join(RULES)}"
        )
    rule = RULES[rule_name]
    schedule_name = "constant"
    if "schedule" in table:
        schedule_name = ck.string(table["schedule"], f"{where}.schedule")
        if schedule_name not in SCHEDULES:
            raise ck.fail(
                f"{where}.schedule",
                f"unknown schedule {_show(schedule_name)}; one of: {', '.join(SCHEDULES)}",
            )
    kind = SCHEDULES[schedule_name]
    for key in table:
        if key in _SCHEDULE_KEYS and kind.spec(key) is None and rule.spec(key) is None:
            allowed = ", ".join(p.name for p in kind.params) or "none"
            raise ck.fail(
                f"{where}.{key}",
                f"not a parameter of schedule {schedule_name!r} (its parameters: {allowed}); "
                "set schedule first",
            )
    decay_key = () if not rule.takes_weight_decay or rule.own_weight_decay else ("weight_decay",)
    if "weight_decay" in table and not rule.takes_weight_decay:
        raise ck.fail(
            f"{where}.weight_decay",
            f"{rule.title} decays inside its averaged iterate, not as a term of the update; "
            "gdviz leaves it at 0 (use l2 for a penalty)",
        )
    ck.unknown(
        table,
        _ENTRY_KEYS
        + decay_key
        + tuple(h.name for h in rule.hyperparams)
        + tuple(p.name for p in kind.params),
        where,
    )

    hyper = {k: float(v) for k, v in ck.specced(table, rule.hyperparams, where).items()}
    schedule_params = ck.specced(table, kind.params, where)
    modifiers = ck.specced(table, (*((WEIGHT_DECAY,) if decay_key else ()), L2, CLIP_NORM), where)

    batch_size = None
    if "batch_size" in table:
        if not problem.has_data:
            raise ck.fail(
                f"{where}.batch_size",
                f"problem {problem.name!r} has no data to batch; remove batch_size "
                "(use gradient_noise for a stochastic run)",
            )
        batch_size = ck.integer(table["batch_size"], f"{where}.batch_size", 1, problem.n)

    gradient_noise = 0.0
    if "gradient_noise" in table:
        err = GRADIENT_NOISE.problem_with(table["gradient_noise"])
        if err:
            raise ck.fail(f"{where}.gradient_noise", err)
        gradient_noise = float(table["gradient_noise"])

    start = ck.point(table["start"], f"{where}.start") if "start" in table else None
    color = None
    if "color" in table:
        color = ck.string(table["color"], f"{where}.color")
        if not _COLOR.match(color):
            raise ck.fail(f"{where}.color", f'must look like "#0072B2", got {_show(color)}')
        color = color.upper()
    visible = True
    if "visible" in table:
        visible = table["visible"]
        if not isinstance(visible, bool):
            raise ck.fail(f"{where}.visible", f"must be true or false, got {_show(visible)}")

    explicit = "label" in table
    if explicit:
        label = ck.string(table["label"], f"{where}.label", MAX_LABEL).strip()
        if not label:
            raise ck.fail(f"{where}.label", "must not be empty")
    else:
        label = _default_label(rule_name, batch_size)
    entry = OptimizerEntry(
        rule=rule_name,
        label=label,
        hyperparams=hyper,
        batch_size=batch_size,
        start=start,
        color=color,
        visible=visible,
        gradient_noise=gradient_noise,
        schedule=schedule_name,
        schedule_params=schedule_params,
        **{k: float(v) for k, v in modifiers.items()},
    )
    return entry, explicit


def _read_view(ck: _Checker, raw: object) -> Rect:
    table = ck.table(raw, "view")
    ck.unknown(table, ("x", "y"), "view")
    axes = []
    for axis in ("x", "y"):
        if axis not in table:
            raise ck.fail(f"view.{axis}", "missing; give [min, max]")
        lo, hi = ck.point(table[axis], f"view.{axis}")
        if not lo < hi:
            raise ck.fail(f"view.{axis}", f"must be [min, max] with min < max, got {[lo, hi]}")
        axes.append((lo, hi))
    return (axes[0], axes[1])


def _read_problem(
    ck: _Checker, ptable: Mapping[str, Any], folder: Path | None
) -> tuple[str, dict[str, ParamValue]]:
    """The ``[problem]`` table's name and parameters, each checked and named in messages."""
    if "name" not in ptable:
        raise ck.fail("problem.name", f"missing; one of: {', '.join(PROBLEMS)}")
    pname = ck.string(ptable["name"], "problem.name")
    if pname not in PROBLEMS and pname not in NETWORKS:
        known = ", ".join([*PROBLEMS, *NETWORKS])
        raise ck.fail("problem.name", f"unknown problem {_show(pname)}; one of: {known}")
    pspec = _problem_spec(pname)
    data_option = pspec.option("data")
    ck.unknown(ptable, ("name", *pspec.keys, *(("data_csv",) if data_option else ())), "problem")
    pparams: dict[str, ParamValue] = dict(ck.specced(ptable, pspec.params, "problem"))
    for option in pspec.options:
        if option.name in ptable:
            try:
                pparams[option.name] = option.check(ptable[option.name])
            except ExpressionError as exc:
                raise exc.with_key(f"{ck.source}: problem.{option.name}") from None
            except SceneError as exc:
                raise ck.fail("", f"problem.{exc}") from None
    if data_option is not None and "data_csv" in ptable:
        if "data" in ptable:
            raise ck.fail("problem.data_csv", "give data or data_csv, not both")
        name = ck.string(ptable["data_csv"], "problem.data_csv", 4096)
        try:
            path = Path(name) if folder is None else Path(folder) / name
            x, y = load_data_csv(path)
            pparams["data"] = data_option.check(make_dataset(x, y, csv=path))
        except (SceneError, ValueError, OSError) as exc:
            raise ck.fail("problem.data_csv", _elide(str(exc))) from None
    if "data" in pparams:
        given = [p.name for p in pspec.params if p.dataset and p.name in pparams]
        if given:
            key = "data_csv" if "data_csv" in ptable else "data"
            raise ck.fail(
                f"problem.{given[0]}",
                f"the scene gives its own points ({key}), so none are generated; remove {given[0]}",
            )
    return pname, pparams


def scene_from_dict(
    data: Mapping[str, Any], source: str = "<scene>", folder: str | Path | None = None
) -> Scene:
    """Check ``data`` (a parsed TOML document) and build the scene.

    Args:
      data: the document.
      source: what messages call it (the file's name).
      folder: where a relative ``data_csv`` is found (the scene file's folder); the current
        folder when None.

    Raises:
      SceneError: on any unknown key, wrong type or out-of-range value, with the key in the message.
    """
    ck = _Checker(source)
    data = ck.table(data, "")
    ck.unknown(data, _TOP_KEYS, "")

    if "problem" not in data:
        raise ck.fail("problem", "missing; add a [problem] table with a name")
    ptable = ck.table(data["problem"], "problem")
    pname, pparams = _read_problem(ck, ptable, None if folder is None else Path(folder))
    problem: Problem | Network
    try:
        if pname in NETWORKS:
            problem = make_network(pparams)
        else:
            problem = _cached_problem(pname, tuple(sorted(pparams.items())))
    except ExpressionError as exc:
        raise exc.with_key(f"{source}: problem.{exc.key}") from None
    except SceneError as exc:
        raise ck.fail("", f"problem.{exc}" if pname in NETWORKS else str(exc)) from None
    plane = None
    if "plane" in data:
        if pname not in NETWORKS:
            raise ck.fail("plane", "only a network scene (problem mlp) has a plane")
        try:
            plane = plane_from_table(data["plane"])
        except SceneError as exc:
            raise ck.fail("", str(exc)) from None

    title = ck.string(data.get("title", problem.title), "title", 200)
    caption = ck.string(data.get("caption", ""), "caption")
    steps = ck.integer(data.get("steps", 200), "steps", 1, MAX_STEPS)
    seed = ck.integer(data.get("seed", 0), "seed", 0, MAX_SEED)
    if isinstance(problem, Network):
        if "start" in data:
            raise ck.fail(
                "start",
                "a network starts from its seeded initial weights (problem.init_seed); "
                "remove start",
            )
        start = (0.0, 0.0)
    else:
        start = ck.point(data["start"], "start") if "start" in data else _default_start(problem)
    convention = data.get("convention", "optax")
    if convention not in CONVENTIONS:
        raise ck.fail(
            "convention", f"must be one of {', '.join(CONVENTIONS)}, got {_show(convention)}"
        )
    view = _read_view(ck, data["view"]) if "view" in data else None

    raw_entries = data.get("optimizer")
    if raw_entries is None or (isinstance(raw_entries, list) and not raw_entries):
        raise ck.fail("optimizer", "no optimizer; add at least one [[optimizer]] table")
    if not isinstance(raw_entries, list):
        raise ck.fail(
            "optimizer", f"must be an array of tables ([[optimizer]]), got {_kind(raw_entries)}"
        )
    try:
        check_entry_count(len(raw_entries))
    except SceneError as exc:
        raise ck.fail("", str(exc)) from None
    read = [_read_entry(ck, raw, i, problem) for i, raw in enumerate(raw_entries)]
    entries = _unique_labels(ck, read)
    return _scene(
        ck,
        problem=pname,
        problem_params=pparams,
        optimizers=entries,
        title=title,
        caption=caption,
        steps=steps,
        seed=seed,
        start=start,
        convention=convention,
        view=view,
        plane=plane,
    )


def _scene(ck: _Checker, **fields: Any) -> Scene:
    try:
        return Scene(**fields)
    except SceneError as exc:  # the checks above should have caught it; name the source anyway
        raise ck.fail("", str(exc)) from None


def _default_start(problem: Problem) -> tuple[float, float]:
    (x0, x1), (y0, y1) = problem.view
    return (x0 + 0.2 * (x1 - x0), y0 + 0.8 * (y1 - y0))


def _unique_labels(
    ck: _Checker, read: list[tuple[OptimizerEntry, bool]]
) -> tuple[OptimizerEntry, ...]:
    """Explicit labels must be unique; default labels get " 2", " 3", ... where they would clash."""
    taken: set[str] = set()
    for i, (entry, explicit) in enumerate(read):
        if explicit:
            if entry.label in taken:
                raise ck.fail(
                    f"optimizer[{i}].label", f"{entry.label!r} is used twice; labels must be unique"
                )
            taken.add(entry.label)
    out = []
    for entry, explicit in read:
        if not explicit:
            label, k = entry.label, 2
            while label in taken:
                label, k = f"{entry.label} {k}", k + 1
            taken.add(label)
            entry = dataclasses.replace(entry, label=label)
        out.append(entry)
    return tuple(out)


def parse_scene(text: str, source: str = "<scene>", folder: str | Path | None = None) -> Scene:
    """Parse TOML text into a scene (``folder``: where a relative ``data_csv`` is found; the
    current folder when None).

    Raises:
      SceneError: and nothing else, whatever the text (deep nesting, huge numbers included).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(f"{source}: not valid TOML: {_elide(str(exc))}") from None
    except RecursionError:
        raise SceneError(f"{source}: not usable TOML: nested too deeply") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. an integer of 4,301 digits
        raise SceneError(f"{source}: not usable TOML: {_elide(str(exc))}") from None
    try:
        scene = scene_from_dict(data, source, folder)
    except SceneError:
        raise
    except RecursionError:
        raise SceneError(f"{source}: not a usable scene: nested too deeply") from None
    except (ValueError, OverflowError, TypeError, KeyError) as exc:
        raise SceneError(f"{source}: not a usable scene: {_elide(str(exc))}") from None
    where = None if folder is None else Path(folder)
    return scene.replace(source=SourceDocument(text, where, scene_to_dict(scene, where)))


def _elide(text: str, limit: int = 4 * ELIDE) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}… ({len(text):,} chars)"


def builtin_scene_names() -> list[str]:
    """Names of the scenes shipped with gdviz, sorted."""
    folder = resources.files("gdviz.scenes")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


@functools.lru_cache(maxsize=1)
def builtin_scene_titles() -> dict[str, str]:
    """``{name: title}`` of the built-in scenes, read without building their problems.

    Loading a scene builds its problem (a network's minima search compiles for about a second);
    a menu of titles needs none of that.
    """
    folder = resources.files("gdviz.scenes")
    return {
        name: str(
            tomllib.loads(folder.joinpath(f"{name}.toml").read_text("utf-8")).get("title", name)
        )
        for name in builtin_scene_names()
    }


def load_scene(name_or_path: str | Path) -> Scene:
    """A built-in scene by name (``"linear-regression"``), or a scene file by path.

    Raises:
      SceneError: unknown name, unreadable file, or an invalid scene.
    """
    text_name = str(name_or_path)
    if isinstance(name_or_path, str) and text_name in builtin_scene_names():
        text = resources.files("gdviz.scenes").joinpath(f"{text_name}.toml").read_text("utf-8")
        return parse_scene(text, f"{text_name} (built-in)")
    try:
        path = Path(name_or_path)
        exists = os.path.lexists(path)
    except (TypeError, ValueError):  # not a path at all, or a NUL inside it
        raise SceneError(f"{_show(name_or_path)}: not a scene name or file path") from None
    shown = _elide(str(path), 2 * ELIDE)
    if not exists:
        if path.suffix or len(path.parts) > 1:  # meant as a file: the list would bury the path
            raise SceneError(
                f"{shown}: no such scene file (`gdviz scenes` lists the built-in ones)"
            )
        raise SceneError(
            f"{shown}: no such scene file, and not a built-in scene "
            f"(built-in: {', '.join(builtin_scene_names())})"
        )
    try:
        raw = read_bytes_bounded(path, MAX_SCENE_BYTES)
    except InputError as exc:
        raise SceneError(_elide(str(exc))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_scene(text, shown, path.parent)


# --- writing --------------------------------------------------------------------------------------


def _problem_table(scene: Scene, folder: Path | None) -> dict[str, Any]:
    """The ``[problem]`` table: numbers as they are, options through their ``dump``; own points
    read from a CSV file name that file (relative to ``folder`` where possible) while it still
    holds exactly these points, and are written inline otherwise."""
    spec = _problem_spec(scene.problem)
    table: dict[str, Any] = {"name": scene.problem}
    for key, value in scene.problem_params.items():
        option = spec.option(key)
        if option is None:
            table[key] = value
        elif isinstance(value, Dataset) and value.csv is not None and _still_holds(value):
            where = str(value.csv)
            if folder is not None:
                with contextlib.suppress(ValueError):  # another drive (Windows): stays absolute
                    where = os.path.relpath(value.csv, os.path.abspath(folder))
            table["data_csv"] = where
        else:
            table[key] = option.dump(value)
    return table


def _still_holds(data: Dataset) -> bool:
    """Whether ``data``'s CSV file still holds exactly its points."""
    try:
        x, y = load_data_csv(data.csv)  # type: ignore[arg-type]
    except SceneError:
        return False
    return Dataset(x, y).digest == data.digest


def scene_to_dict(scene: Scene, folder: str | Path | None = None) -> dict[str, Any]:
    """The TOML document of ``scene``; ``scene_from_dict(scene_to_dict(s, f), folder=f) == s``.

    ``folder``: where the document will be saved, for a relative ``data_csv`` (absolute when
    None).
    """
    doc: dict[str, Any] = {
        "title": scene.title,
        "caption": scene.caption,
        "steps": scene.steps,
        "seed": scene.seed,
        "start": list(scene.start),
        "convention": scene.convention,
        "problem": _problem_table(scene, None if folder is None else Path(folder)),
    }
    if scene.is_network:  # a network starts from its initial weights, not a point
        del doc["start"]
    if scene.view is not None:
        doc["view"] = {"x": list(scene.view[0]), "y": list(scene.view[1])}
    if scene.plane is not None:
        doc["plane"] = scene.plane.to_table()
    entries = []
    for e in scene.optimizers:
        t: dict[str, Any] = {"name": e.rule, "label": e.label, **e.hyperparams}
        if e.batch_size is not None:
            t["batch_size"] = e.batch_size
        if e.gradient_noise:
            t["gradient_noise"] = e.gradient_noise
        if e.schedule != "constant":
            t["schedule"] = e.schedule
            t.update(e.schedule_params)
        for key in ("weight_decay", "l2", "clip_norm"):
            if getattr(e, key):
                t[key] = getattr(e, key)
        if e.start is not None:
            t["start"] = list(e.start)
        if e.color is not None:
            t["color"] = e.color
        if not e.visible:
            t["visible"] = False
        entries.append(t)
    doc["optimizer"] = entries
    return doc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        # JSON escapes the C0 controls as TOML wants; TOML also forbids a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        if len(value) > 4 and all(isinstance(v, list | tuple) for v in value):
            # Points, one per line: a file a person can read and edit.
            return "[\n" + "".join(f"  {_toml_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_scene(scene: Scene, folder: str | Path | None = None) -> str:
    """The scene as TOML text (``folder``: see :func:`scene_to_dict`).

    A scene read from text (:attr:`Scene.source`) is written as that text with only what changed
    changed: values in place (their comments, the layout of arrays spread over lines kept), keys
    that are gone removed, new keys at the end of their table, ``[[optimizer]]`` tables matched
    to entries by label (then by rule, for a renamed one), a removed entry's table dropped with
    the comments above it. Whatever the text, the result reads back as ``scene``; where an
    update cannot promise that (a text whose shape it does not follow), the scene is written
    afresh, in the order of DESIGN.md.
    """
    if scene.source is not None:
        text = _updated_source(scene, scene.source, folder)
        if text is not None:
            return text
    return _dumps_clean(scene, folder)


def _dumps_clean(scene: Scene, folder: str | Path | None) -> str:
    doc = scene_to_dict(scene, folder)
    lines = []
    for key in ("title", "caption", "steps", "seed", "start", "convention"):
        if key in doc:
            lines.append(f"{key} = {_toml_value(doc[key])}")
    for table in ("problem", "view", "plane"):
        if table in doc:
            lines += ["", f"[{table}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in doc[table].items()]
    for entry in doc["optimizer"]:
        lines += ["", "[[optimizer]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


# --- updating the text a scene came from ----------------------------------------------------------

_MISSING: Any = object()


class _Unfollowed(Exception):
    """The source text has a shape the update does not follow (the scene is written afresh)."""


def _updated_source(scene: Scene, source: SourceDocument, folder: str | Path | None) -> str | None:
    """``source.text`` updated to say ``scene``, or None where no update reads back as ``scene``.

    First only what differs from ``source.baseline`` (what the text meant) is written; should
    that not read back equal (labels the text left to their defaults, which a removed entry
    renumbers), every value is written, still in place; then None.
    """
    new = _plain(scene_to_dict(scene, folder))
    for every in (False, True):
        try:
            doc = tomlkit.parse(source.text)
            _merge_entries(doc, new["optimizer"], source.baseline.get("optimizer", []), every)
            _merge_table(doc, new, source.baseline, every, skip="optimizer")
            text = doc.as_string()
        except (TOMLKitError, _Unfollowed, ValueError, TypeError, KeyError, IndexError):
            continue
        if _reads_back(text, scene, folder):
            return text
    return None


def _reads_back(text: str, scene: Scene, folder: str | Path | None) -> bool:
    try:
        return scene_from_dict(tomllib.loads(text), "<saved>", folder) == scene
    except (tomllib.TOMLDecodeError, SceneError, ValueError, TypeError, RecursionError):
        return False


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists and numpy numbers as Python's (what TOML holds)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unwrap(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same(a: Any, b: Any) -> bool:
    """Equal as TOML values (``1 == 1.0``; a bool is not a number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return (type(a) is type(b) or numbers) and a == b


def _merge_table(
    table: Any, new: Mapping[str, Any], base: Mapping[str, Any], every: bool, skip: str = ""
) -> None:
    """Make ``table`` (a tomlkit table, inline table or document) hold ``new``.

    A key whose value is as in ``base`` (what the text meant when read) is left as written, or
    left out, unless ``every``; a changed value is set in place; a key that is gone is removed;
    a new key goes at the end of the table.
    """
    for key, value in new.items():
        if key == skip:
            continue
        was = base.get(key, _MISSING)
        if isinstance(value, Mapping) and key in table and isinstance(table[key], Mapping):
            _merge_table(table[key], value, was if isinstance(was, Mapping) else {}, every)
        elif key in table:
            if every or not _same(value, was):
                _set_in_place(table, key, value)
        elif every or not _same(value, was):
            table[key] = value
    for key in [k for k in table if k not in new and k != skip]:
        if every or key in base:
            del table[key]


def _set_in_place(container: Any, key: Any, value: Any) -> None:
    """``container[key] = value``, element by element into an array of the same length (so an
    array spread over lines, with comments beside its elements, keeps its layout)."""
    old = container[key]
    if _same(_unwrap(old), value):
        return
    if isinstance(value, list) and isinstance(old, list) and len(old) == len(value):
        for i, v in enumerate(value):
            _set_in_place(old, i, v)
    elif isinstance(value, Mapping) and isinstance(old, Mapping):
        _merge_table(old, value, {}, True)
    else:
        container[key] = value


def _merge_entries(doc: Any, new: list[Any], base: Sequence[Any], every: bool) -> None:
    """Make the document's ``[[optimizer]]`` tables hold the entries ``new``.

    Each entry keeps the table of its label when it was read (a renamed one: the first table
    left of its rule); tables follow the entries' order, each with the comments above its
    header; a removed entry's table goes with its comments; a new entry's table goes at the end.
    """
    aot = doc.get("optimizer")
    if not isinstance(aot, AoT) or len(aot) != len(base):
        raise _Unfollowed("optimizer: not one [[optimizer]] table per entry")
    tables: list[Table] = list(aot)
    labels = [str(b.get("label")) for b in base]
    match: list[int | None] = []
    for entry in new:
        j = labels.index(entry["label"]) if entry["label"] in labels else None
        match.append(j)
    for i, entry in enumerate(new):
        if match[i] is None:
            free = [
                j
                for j in range(len(base))
                if j not in match and base[j].get("name") == entry.get("name")
            ]
            if free:
                match[i] = free[0]
    # Comments and blank lines above a header are the end of the table before it in tomlkit's
    # tree: take them off, so that they travel with the table they describe.
    above = [_take_trailing(t) for t in tables[:-1]]
    end = _take_trailing(tables[-1])
    before = _previous_table(doc, aot)
    first_above = None
    if before is not None and match[:1] != [0]:
        # Of the lines above the first header, the comment right above it travels with the
        # table; what is before a blank line (a section's heading) stays.
        trailing = _take_trailing(before)
        k = len(trailing)
        while k and isinstance(trailing[k - 1][1], Comment):
            k -= 1
        before.value.body.extend(trailing[:k])
        first_above = trailing[k:]
    above.insert(0, first_above or [])
    blank = [(None, Whitespace("\n"))]
    order: list[tuple[Table, list[Any]]] = []
    for i, entry in enumerate(new):
        j = match[i]
        if j is None:
            table = tomlkit.table()
            for key, value in entry.items():
                table[key] = value
            order.append((table, blank))
        else:
            _merge_table(tables[j], entry, base[j], every)
            order.append((tables[j], above[j]))
    rebuilt = AoT([], name="optimizer", parsed=True)  # parsed: append adds no blank lines
    for k, (table, trivia) in enumerate(order):
        if k == 0:
            if first_above is not None and before is not None:
                before.value.body.extend(t for t in trivia if isinstance(t[1], Comment))
        else:
            if not trivia or not isinstance(trivia[0][1], Whitespace):
                trivia = [*blank, *trivia]
            order[k - 1][0].value.body.extend(trivia)
        rebuilt.append(table)
    order[-1][0].value.body.extend(end)
    doc["optimizer"] = rebuilt


def _take_trailing(table: Table) -> list[Any]:
    """Remove and return the comments and blank lines that end ``table``'s body."""
    body = table.value.body
    k = len(body)
    while k and body[k - 1][0] is None and isinstance(body[k - 1][1], Comment | Whitespace):
        k -= 1
    trailing = body[k:]
    del body[k:]
    return trailing


def _previous_table(doc: Any, aot: AoT) -> Table | None:
    """The table just before ``aot`` in the document (which holds the comments above its first
    header), or None when something else is."""
    items = [item for _, item in doc.body]
    at = next((i for i, item in enumerate(items) if item is aot), 0)
    return items[at - 1] if at and isinstance(items[at - 1], Table) else None


def save_scene(scene: Scene, path: str | Path, *, force: bool = True) -> None:
    """Write ``scene`` as TOML through :func:`gdviz.core.files.atomic_write`.

    The file is replaced only once the text is complete and only if it is a regular file (a
    symlink's target is written; a folder, FIFO or device is refused). ``force=True`` (the default,
    "Save" over the scene's own file) overwrites an existing file; ``force=False`` refuses to.
    Every scene that exists passes the loader's checks, so what is saved always reopens. Points
    read from a CSV file are saved as ``data_csv``, relative to the new file, while that file
    still holds them; inline otherwise.

    Raises:
      OutputError (an OSError): the folder is missing or not writable, the target is not a
        regular file, or it exists and ``force`` is False.
    """
    folder = Path(os.path.abspath(path)).parent
    write_text_atomically(path, dumps_scene(scene, folder), force=force)
