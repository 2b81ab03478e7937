"""Scenes: what to draw and which optimizers to run, as immutable data read from and written to TOML.

The format is described in DESIGN.md. :func:`scene_from_dict` checks every key and value and raises
one :class:`SceneError` naming the file, the key and what is allowed; nothing else escapes it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gdviz.core.optimizers import CONVENTIONS, GRADIENT_NOISE, RULES, Convention
from gdviz.core.problems import PROBLEMS, Problem, Rect, make_problem
from gdviz.core.specs import ParamSpec

MAX_STEPS = 10_000
"""The cap on ``steps``: 10,000 steps of nine optimizers still recompute in a few ms."""

MAX_COORD = 1e4
"""Start points and view corners must lie within ±MAX_COORD."""

MAX_SEED = 2**31 - 1
MAX_LABEL = 60

_TOP_KEYS = (
    "title",
    "caption",
    "steps",
    "seed",
    "start",
    "convention",
    "problem",
    "view",
    "optimizer",
)
_ENTRY_KEYS = ("name", "label", "batch_size", "start", "color", "visible", "gradient_noise")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class SceneError(ValueError):
    """A scene that cannot be used; the message names the source, the key and what is allowed."""


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
    """

    rule: str
    label: str
    hyperparams: Mapping[str, float] = field(default_factory=dict)
    batch_size: int | None = None
    start: tuple[float, float] | None = None
    color: str | None = None
    visible: bool = True
    gradient_noise: float = 0.0

    def resolved_hyperparams(self, convention: Convention) -> dict[str, float]:
        """Every hyperparameter of the rule: the explicit ones over the convention's defaults."""
        values = RULES[self.rule].defaults(convention)
        values.update(self.hyperparams)
        return values

    def with_hyperparam(self, name: str, value: float) -> OptimizerEntry:
        return dataclasses.replace(self, hyperparams={**self.hyperparams, name: value})


@dataclass(frozen=True)
class Scene:
    """A problem and the optimizer entries to run on it; immutable (edit with ``replace``)."""

    problem: str
    optimizers: tuple[OptimizerEntry, ...]
    problem_params: Mapping[str, float] = field(default_factory=dict)
    title: str = ""
    caption: str = ""
    steps: int = 200
    seed: int = 0
    start: tuple[float, float] = (0.0, 0.0)
    convention: Convention = "optax"
    view: Rect | None = None

    def with_start(self, start: tuple[float, float]) -> Scene:
        """The same scene from another shared start point."""
        return dataclasses.replace(self, start=(float(start[0]), float(start[1])))

    def replace(self, **changes: Any) -> Scene:
        return dataclasses.replace(self, **changes)

    def start_of(self, entry: OptimizerEntry) -> tuple[float, float]:
        return entry.start if entry.start is not None else self.start

    def build_problem(self) -> Problem:
        """The scene's problem (cached: equal parameters give the same object)."""
        return _cached_problem(self.problem, tuple(sorted(self.problem_params.items())))

    def view_rect(self) -> Rect:
        return self.view if self.view is not None else self.build_problem().view

    def entry(self, label: str) -> OptimizerEntry:
        return next(e for e in self.optimizers if e.label == label)


@functools.lru_cache(maxsize=32)
def _cached_problem(name: str, params: tuple[tuple[str, float], ...]) -> Problem:
    return make_problem(name, dict(params))


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
            raise self.fail(key, f"must be an integer in [{low}, {high}], got {value!r}")
        return value

    def number(self, value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(key, f"must be a finite number, got {value!r}")
        return float(value)

    def point(self, value: object, key: str) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(key, f"must be a pair [x, y] of numbers, got {value!r}")
        x, y = (self.number(v, f"{key}[{i}]") for i, v in enumerate(value))
        if max(abs(x), abs(y)) > MAX_COORD:
            raise self.fail(key, f"must lie within ±{MAX_COORD:g}, got {value!r}")
        return (x, y)

    def specced(
        self, table: Mapping[str, Any], specs: tuple[ParamSpec, ...], where: str
    ) -> dict[str, float]:
        """The values ``table`` gives for ``specs``, each checked against its range."""
        values: dict[str, float] = {}
        for spec in specs:
            if spec.name in table:
                err = spec.problem_with(table[spec.name])
                if err:
                    raise self.fail(f"{where}.{spec.name}", err)
                values[spec.name] = spec.coerce(table[spec.name])
        return values

    def unknown(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            prefix = f"{where}." if where else ""
            raise self.fail(
                f"{prefix}{extra[0]}", f"unknown key; allowed here: {', '.join(allowed)}"
            )


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


def _read_entry(ck: _Checker, raw: object, i: int, problem: Problem) -> tuple[OptimizerEntry, bool]:
    where = f"optimizer[{i}]"
    table = ck.table(raw, where)
    if "name" not in table:
        raise ck.fail(f"{where}.name", f"missing; one of: {', '.join(RULES)}")
    rule_name = ck.string(table["name"], f"{where}.name")
    if rule_name not in RULES:
        raise ck.fail(f"{where}.name", f"unknown rule {rule_name!r}; one of: {', '.join(RULES)}")
    rule = RULES[rule_name]
    ck.unknown(table, _ENTRY_KEYS + tuple(h.name for h in rule.hyperparams), where)

    hyper = {k: float(v) for k, v in ck.specced(table, rule.hyperparams, where).items()}

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
            raise ck.fail(f"{where}.color", f'must look like "#0072B2", got {color!r}')
        color = color.upper()
    visible = True
    if "visible" in table:
        visible = table["visible"]
        if not isinstance(visible, bool):
            raise ck.fail(f"{where}.visible", f"must be true or false, got {visible!r}")

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


def scene_from_dict(data: Mapping[str, Any], source: str = "<scene>") -> Scene:
    """Check ``data`` (a parsed TOML document) and build the scene.

    Raises:
      SceneError: on any unknown key, wrong type or out-of-range value, with the key in the message.
    """
    ck = _Checker(source)
    data = ck.table(data, "")
    ck.unknown(data, _TOP_KEYS, "")

    if "problem" not in data:
        raise ck.fail("problem", "missing; add a [problem] table with a name")
    ptable = ck.table(data["problem"], "problem")
    if "name" not in ptable:
        raise ck.fail("problem.name", f"missing; one of: {', '.join(PROBLEMS)}")
    pname = ck.string(ptable["name"], "problem.name")
    if pname not in PROBLEMS:
        raise ck.fail("problem.name", f"unknown problem {pname!r}; one of: {', '.join(PROBLEMS)}")
    pspec = PROBLEMS[pname]
    ck.unknown(ptable, ("name",) + tuple(p.name for p in pspec.params), "problem")
    pparams = ck.specced(ptable, pspec.params, "problem")
    problem = _cached_problem(pname, tuple(sorted(pparams.items())))

    title = ck.string(data.get("title", problem.title), "title", 200)
    caption = ck.string(data.get("caption", ""), "caption")
    steps = ck.integer(data.get("steps", 200), "steps", 1, MAX_STEPS)
    seed = ck.integer(data.get("seed", 0), "seed", 0, MAX_SEED)
    start = ck.point(data["start"], "start") if "start" in data else _default_start(problem)
    convention = data.get("convention", "optax")
    if convention not in CONVENTIONS:
        raise ck.fail("convention", f"must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
    view = _read_view(ck, data["view"]) if "view" in data else None

    raw_entries = data.get("optimizer")
    if raw_entries is None or (isinstance(raw_entries, list) and not raw_entries):
        raise ck.fail("optimizer", "no optimizer; add at least one [[optimizer]] table")
    if not isinstance(raw_entries, list):
        raise ck.fail(
            "optimizer", f"must be an array of tables ([[optimizer]]), got {_kind(raw_entries)}"
        )
    if len(raw_entries) > 32:
        raise ck.fail("optimizer", f"at most 32 entries, got {len(raw_entries)}")
    read = [_read_entry(ck, raw, i, problem) for i, raw in enumerate(raw_entries)]
    entries = _unique_labels(ck, read)
    return Scene(
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
    )


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


def parse_scene(text: str, source: str = "<scene>") -> Scene:
    """Parse TOML text into a scene."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(f"{source}: not valid TOML: {exc}") from None
    return scene_from_dict(data, source)


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
    path = Path(name_or_path)
    if not path.exists():
        raise SceneError(
            f"{text_name}: no such scene file, and not a built-in scene "
            f"(built-in: {', '.join(builtin_scene_names())})"
        )
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneError(f"{path}: cannot read: {exc}") from None
    return parse_scene(text, str(path))


# --- writing --------------------------------------------------------------------------------------


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """The TOML document of ``scene``; ``scene_from_dict(scene_to_dict(s)) == s``."""
    doc: dict[str, Any] = {
        "title": scene.title,
        "caption": scene.caption,
        "steps": scene.steps,
        "seed": scene.seed,
        "start": list(scene.start),
        "convention": scene.convention,
        "problem": {"name": scene.problem, **scene.problem_params},
    }
    if scene.view is not None:
        doc["view"] = {"x": list(scene.view[0]), "y": list(scene.view[1])}
    entries = []
    for e in scene.optimizers:
        t: dict[str, Any] = {"name": e.rule, "label": e.label, **e.hyperparams}
        if e.batch_size is not None:
            t["batch_size"] = e.batch_size
        if e.gradient_noise:
            t["gradient_noise"] = e.gradient_noise
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
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_scene(scene: Scene) -> str:
    """The scene as TOML text, in the order of DESIGN.md."""
    doc = scene_to_dict(scene)
    lines = []
    for key in ("title", "caption", "steps", "seed", "start", "convention"):
        lines.append(f"{key} = {_toml_value(doc[key])}")
    for table in ("problem", "view"):
        if table in doc:
            lines += ["", f"[{table}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in doc[table].items()]
    for entry in doc["optimizer"]:
        lines += ["", "[[optimizer]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def save_scene(scene: Scene, path: str | Path) -> None:
    """Write ``scene`` as TOML; the file is replaced only once the text is complete.

    Raises:
      OSError: the folder is missing or not writable.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(dumps_scene(scene), "utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
