"""A scene's own data points: the :class:`Dataset` value, its limits, and the CSV reader.

A data problem (linear regression, the toy networks) takes its points from a seeded generator, or
from the scene: ``data = [[x, y], ...]`` inline in its ``[problem]`` table, or
``data_csv = "points.csv"`` (read by :func:`load_data_csv`). Either way they become a
:class:`Dataset`: immutable float64 arrays with a content digest, so that a scene holding 10,000
points still compares and hashes (the problem cache's key) in microseconds.

The CSV reader never blocks and never reads without bound: only a regular file is opened (a FIFO,
device or folder is refused at once), at most :data:`MAX_CSV_BYTES` are read, and parsing stops at
the first bad line, which the message names: ``points.csv: line 7: column 2: 'abc' is not a
number``. Pure numpy and the standard library.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdviz.core.files import InputError, read_head
from gdviz.core.specs import SceneError
from gdviz.core.types import NDArray

MAX_POINTS = 10_000
"""The most points a scene's own data may hold (a problem may allow fewer)."""

MAX_DATA_VALUE = 1e6
"""Every coordinate of a data point lies within ±MAX_DATA_VALUE."""

MAX_CSV_BYTES = 2_000_000
"""At most this much of a CSV file is read (10,000 rows of two full-precision numbers take ~0.5 MB)."""


class DataError(SceneError):
    """Data points that cannot be used; the message names the file or key, the line or point,
    and the limit."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Own data points, immutable: ``x`` and ``y`` as read-only float64 arrays.

    Build one with :func:`make_dataset` (which checks the limits). Equality and hashing use a
    digest of the values (and the CSV path), never an element-wise comparison.

    Attributes:
      x, y: ``(n,)`` the points.
      csv: the (absolute) CSV file they were read from, or None (inline or edited data): a scene
        saved with such data names the file again when it still holds these points.
      digest: a BLAKE2 digest of the values.
    """

    x: NDArray
    y: NDArray
    csv: Path | None = None
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        x = np.array(self.x, dtype=np.float64).reshape(-1)
        y = np.array(self.y, dtype=np.float64).reshape(-1)
        x.flags.writeable = False
        y.flags.writeable = False
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        if self.csv is not None:
            object.__setattr__(self, "csv", Path(os.path.abspath(self.csv)))
        h = hashlib.blake2b(digest_size=16)
        h.update(x.tobytes())
        h.update(b"|")
        h.update(y.tobytes())
        object.__setattr__(self, "digest", h.hexdigest())

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (self.digest, self.n, self.csv) == (other.digest, other.n, other.csv)

    def __hash__(self) -> int:
        return hash((self.digest, self.n, self.csv))

    def __repr__(self) -> str:
        source = f", csv={str(self.csv)!r}" if self.csv is not None else ""
        return f"Dataset(n={self.n}{source}, digest={self.digest[:12]})"

    def pairs(self) -> list[list[float]]:
        """``[[x, y], ...]``: the points as a scene file writes them."""
        return [[float(a), float(b)] for a, b in zip(self.x, self.y, strict=True)]

    def inline(self) -> Dataset:
        """The same points, no longer tied to a file (saved inline)."""
        return self if self.csv is None else Dataset(self.x, self.y)


def make_dataset(
    x: object,
    y: object,
    *,
    low: int = 1,
    high: int = MAX_POINTS,
    key: str = "data",
    csv: str | Path | None = None,
) -> Dataset:
    """Checked data points: ``low`` to ``high`` pairs of finite numbers within ±MAX_DATA_VALUE.

    Raises:
      DataError: naming ``key``, the first bad point (0-based, as ``data[4]``) and the limit.
    """
    try:
        xs = np.asarray(x, dtype=np.float64)
        ys = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{key}: x and y must be sequences of numbers") from None
    if xs.ndim != 1 or ys.ndim != 1 or xs.shape != ys.shape:
        raise DataError(
            f"{key}: x and y must be two sequences of one length, got shapes "
            f"{xs.shape} and {ys.shape}"
        )
    _check_count(xs.shape[0], low, high, key)
    _check_values(xs, ys, key)
    return Dataset(xs, ys, csv=csv)


def _check_count(n: int, low: int, high: int, key: str) -> None:
    if not low <= n <= high:
        raise DataError(f"{key}: must hold {low:,} to {high:,} points, got {n:,}")


def _check_values(xs: NDArray, ys: NDArray, key: str) -> None:
    for name, values in (("x", xs), ("y", ys)):
        bad = np.nonzero(~np.isfinite(values))[0]
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{key}[{i}]: {name} is {values[i]}; values must be finite numbers")
        far = np.nonzero(np.abs(values) > MAX_DATA_VALUE)[0]
        if far.size:
            i = int(far[0])
            raise DataError(f"{key}[{i}]: {name} = {values[i]:g} lies outside ±{MAX_DATA_VALUE:g}")


def dataset_from_pairs(
    value: object, *, low: int = 1, high: int = MAX_POINTS, key: str = "data"
) -> Dataset:
    """``[[x, y], ...]`` (a scene file's ``data``) as a checked :class:`Dataset`.

    A :class:`Dataset` is checked against the limits and returned as it is.

    Raises:
      DataError: not a list of pairs of numbers, or outside the limits (naming ``key[i]``).
    """
    if isinstance(value, Dataset):
        _check_count(value.n, low, high, key)
        return value
    if not isinstance(value, list | tuple):
        raise DataError(f"{key}: must be an array of [x, y] pairs, got {type(value).__name__}")
    _check_count(len(value), low, high, key)
    xs = np.empty(len(value))
    ys = np.empty(len(value))
    for i, pair in enumerate(value):
        ok = isinstance(pair, list | tuple) and len(pair) == 2
        if ok:
            a, b = pair
            ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        if not ok:
            shown = repr(pair)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise DataError(f"{key}[{i}]: must be a pair [x, y] of numbers, got {shown}")
        try:
            xs[i], ys[i] = float(a), float(b)
        except OverflowError:  # an integer past float's range
            raise DataError(f"{key}[{i}]: values must be finite numbers") from None
    _check_values(xs, ys, key)
    return Dataset(xs, ys)


def load_data_csv(path: str | Path, *, max_points: int = MAX_POINTS) -> tuple[NDArray, NDArray]:
    """The points of a CSV file: two numeric columns, x and y, with or without a header line.

    Columns are separated by commas, semicolons or spaces (one kind per file, taken from the first
    line that is not blank); blank lines and lines starting with ``#`` are skipped; a first line
    with no number in it is a header. Values may be quoted. At most ``max_points`` rows and
    :data:`MAX_CSV_BYTES` bytes are read.

    Raises:
      DataError: naming the file and, where there is one, the line: unreadable, not a regular file
        (a FIFO is refused without waiting), not UTF-8, one column or more than two, a missing
        value, text in a column, NaN or inf, more than ``max_points`` rows, or no rows at all.
    """
    shown = _shown(path)
    try:
        raw, complete = read_head(path, MAX_CSV_BYTES)
    except InputError as exc:
        raise DataError(str(exc)) from None
    if not complete:  # parse what was read: a row past the limit names its line
        raw = raw[: raw.rfind(b"\n") + 1]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{shown}: line {line}: not UTF-8 text") from None
    xs: list[float] = []
    ys: list[float] = []
    delimiter: str | None = None
    first = True
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if first:
            delimiter = ";" if ";" in line else "," if "," in line else None
        fields = [_unquote(f) for f in (line.split(delimiter) if delimiter else line.split())]
        if first:
            first = False
            if not any(_is_number(f) for f in fields):
                continue  # a header
        where = f"{shown}: line {number:,}"
        if len(fields) == 1:
            raise DataError(
                f"{where}: one column; two are needed (x and y), separated by a comma, "
                "a semicolon or spaces"
            )
        if len(fields) > 2:
            raise DataError(f"{where}: {len(fields)} columns; exactly two are needed (x and y)")
        row = []
        for col, f in enumerate(fields, 1):
            if not f:
                raise DataError(f"{where}: column {col} is empty (a missing value)")
            try:
                v = float(f)
            except ValueError:
                f_shown = f if len(f) <= 30 else f[:27] + "..."
                hint = " (write decimals with a point)" if _is_number(f.replace(",", ".")) else ""
                raise DataError(
                    f"{where}: column {col}: {f_shown!r} is not a number{hint}"
                ) from None
            if not math.isfinite(v) or abs(v) > MAX_DATA_VALUE:
                what = (
                    "values must be finite numbers"
                    if not math.isfinite(v)
                    else (f"values must lie within ±{MAX_DATA_VALUE:g}")
                )
                raise DataError(f"{where}: column {col}: {f!r}: {what}")
            row.append(v)
        if len(xs) >= max_points:
            raise DataError(f"{where}: more than {max_points:,} points; at most {max_points:,}")
        xs.append(row[0])
        ys.append(row[1])
    if not complete:
        raise DataError(
            f"{shown}: too large (more than {MAX_CSV_BYTES:,} bytes); a data file holds at most "
            f"{max_points:,} points"
        )
    if not xs:
        raise DataError(f"{shown}: no data points; give two columns of numbers, x and y")
    return np.asarray(xs), np.asarray(ys)


def _unquote(field: str) -> str:
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] and field[0] in "\"'":
        field = field[1:-1].strip()
    return field


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shown(path: str | Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"…{text[-100:]}"
