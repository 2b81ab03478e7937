"""Typed formulas in ``x`` and ``y``: checked against an allow-list, compiled to a JAX loss.

A formula is written as Python and NumPy users write maths: ``(1 - x)**2 + 100*(y - x**2)**2``,
``x**2 + 10*sin(y)**2``, ``log(1 + exp(-x*y))``. The text is parsed by :func:`ast.parse` (which only
builds a syntax tree; nothing of the text is ever run) and every node is checked against a short
list: numbers, ``x``, ``y``, ``pi``, ``e``, ``+ - * / **``, unary minus and plus, parentheses, and
calls of the functions in :data:`FUNCTIONS`, each with a fixed number of arguments. Anything else
(attributes, subscripts, other names, lambdas, comprehensions, keywords, strings, comparisons ...)
is refused with the 1-based column of the offending part: ``expr: column 12: unknown name 'os'``.

What keeps hostile text harmless and quick:

- the text is at most :data:`MAX_LENGTH` characters of printable ASCII, checked before parsing
  (Python's parser would NFKC-normalise look-alikes such as a full-width ``ｘ`` into ``x``);
- the tree has at most :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels, checked without
  recursion before anything recursive walks it;
- constant parts are folded in float64 (never Python integers: ``9**9**9**9`` cannot grow a huge
  int), a constant that is not finite is refused, and a constant exponent is at most
  :data:`MAX_EXPONENT` in absolute value.

The checked tree is a nested tuple (hashable); the JAX loss function is cached on it, so equal
formulas, however spaced or bracketed, give the *same* function object, and the compile caches
(:mod:`gdviz.core.simulate`, :mod:`gdviz.core.surface`) keyed on it never compile one formula
twice. :func:`check_expression` is the as-you-type check: no JAX, tens of microseconds.
"""

from __future__ import annotations

import ast
import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdviz.core.deferred import function, jax, jnp
from gdviz.core.specs import SceneError
from gdviz.core.types import Array, Batch, Consts, LossFn, Params

MAX_LENGTH = 500
"""A formula is at most this many characters."""

MAX_NODES = 300
"""A formula has at most this many parts (numbers, names, operations, calls)."""

MAX_DEPTH = 100
"""Operations nest at most this deep (``x + x + ... + x`` with 100 terms is 100 deep)."""

MAX_EXPONENT = 64.0
"""A constant exponent is at most this in absolute value (``x**64``; ``x**1000`` is refused)."""

VARIABLES = ("x", "y")
"""The two parameters, in the order of ``params``."""

CONSTANTS = {"pi": math.pi, "e": math.e}
"""Named constants a formula may use."""


class ExpressionError(SceneError):
    """A formula that is refused, with the 1-based column of the problem where there is one.

    ``str()`` reads ``expr: column 12: unknown name 'os'``.

    Attributes:
      message: what is wrong, without key or column.
      column: 1-based column in the text as given, or None (too long, too many parts, empty).
      key: what the formula is called in the message (``expr``, or ``scene.toml: problem.expr``).
    """

    def __init__(self, message: str, column: int | None = None, key: str = "expr") -> None:
        self.message, self.column, self.key = message, column, key
        where = f"column {column}: " if column is not None else ""
        super().__init__(f"{key}: {where}{message}")

    def with_key(self, key: str) -> ExpressionError:
        """The same error named by another key (the loader names the file and table)."""
        return ExpressionError(self.message, self.column, key)


@dataclass(frozen=True)
class Function:
    """A function a formula may call.

    Attributes:
      name: its name in formulas (an alias has its own entry).
      arity: how many arguments it takes; 0 means two or more (``min``, ``max``).
      jax_fn: the JAX implementation (used in the loss).
      numpy_fn: a float64 implementation for folding constants (``sqrt(2)``); NaN, never an
        exception, outside its domain.
      doc: a few words for the window's help.
    """

    name: str
    arity: int
    jax_fn: Callable[..., Any]
    numpy_fn: Callable[..., Any]
    doc: str


def _np_sigmoid(v: np.float64) -> np.float64:
    return 1.0 / (1.0 + np.exp(-v))


def _minimum(*args: Array) -> Array:
    return functools.reduce(jnp.minimum, args)


def _maximum(*args: Array) -> Array:
    return functools.reduce(jnp.maximum, args)


def _np_erf(v: np.float64) -> np.float64:
    return np.float64(math.erf(v)) if not math.isnan(v) else np.float64(math.nan)


_TABLE: tuple[tuple[tuple[str, ...], int, Callable[..., Any], Callable[..., Any], str], ...] = (
    (("sin",), 1, function("jax.numpy.sin"), np.sin, "sine"),
    (("cos",), 1, function("jax.numpy.cos"), np.cos, "cosine"),
    (("tan",), 1, function("jax.numpy.tan"), np.tan, "tangent"),
    (("arcsin", "asin"), 1, function("jax.numpy.arcsin"), np.arcsin, "inverse sine"),
    (("arccos", "acos"), 1, function("jax.numpy.arccos"), np.arccos, "inverse cosine"),
    (("arctan", "atan"), 1, function("jax.numpy.arctan"), np.arctan, "inverse tangent"),
    (("sinh",), 1, function("jax.numpy.sinh"), np.sinh, "hyperbolic sine"),
    (("cosh",), 1, function("jax.numpy.cosh"), np.cosh, "hyperbolic cosine"),
    (("tanh",), 1, function("jax.numpy.tanh"), np.tanh, "hyperbolic tangent"),
    (("arcsinh", "asinh"), 1, function("jax.numpy.arcsinh"), np.arcsinh, "inverse hyperbolic sine"),
    (
        ("arccosh", "acosh"),
        1,
        function("jax.numpy.arccosh"),
        np.arccosh,
        "inverse hyperbolic cosine",
    ),
    (
        ("arctanh", "atanh"),
        1,
        function("jax.numpy.arctanh"),
        np.arctanh,
        "inverse hyperbolic tangent",
    ),
    (("exp",), 1, function("jax.numpy.exp"), np.exp, "e to the power"),
    (("exp2",), 1, function("jax.numpy.exp2"), np.exp2, "2 to the power"),
    (("expm1",), 1, function("jax.numpy.expm1"), np.expm1, "exp(v) - 1, exact near 0"),
    (("log", "ln"), 1, function("jax.numpy.log"), np.log, "natural logarithm"),
    (("log1p",), 1, function("jax.numpy.log1p"), np.log1p, "log(1 + v), exact near 0"),
    (("log2",), 1, function("jax.numpy.log2"), np.log2, "base-2 logarithm"),
    (("log10",), 1, function("jax.numpy.log10"), np.log10, "base-10 logarithm"),
    (("sqrt",), 1, function("jax.numpy.sqrt"), np.sqrt, "square root"),
    (("cbrt",), 1, function("jax.numpy.cbrt"), np.cbrt, "cube root"),
    (("square",), 1, function("jax.numpy.square"), np.square, "v squared"),
    (("abs",), 1, function("jax.numpy.abs"), np.abs, "absolute value"),
    (("sign",), 1, function("jax.numpy.sign"), np.sign, "-1, 0 or 1"),
    (("floor",), 1, function("jax.numpy.floor"), np.floor, "round down (gradient 0)"),
    (("ceil",), 1, function("jax.numpy.ceil"), np.ceil, "round up (gradient 0)"),
    (("erf",), 1, function("jax.lax.erf"), _np_erf, "error function"),
    (("sigmoid",), 1, function("jax.nn.sigmoid"), _np_sigmoid, "1 / (1 + exp(-v))"),
    (("relu",), 1, function("jax.nn.relu"), lambda v: np.maximum(v, 0.0), "max(v, 0)"),
    (
        ("softplus",),
        1,
        function("jax.nn.softplus"),
        lambda v: np.logaddexp(0.0, v),
        "log(1 + exp(v))",
    ),
    (("hypot",), 2, function("jax.numpy.hypot"), np.hypot, "sqrt(a**2 + b**2)"),
    (
        ("arctan2", "atan2"),
        2,
        function("jax.numpy.arctan2"),
        np.arctan2,
        "angle of the point (b, a)",
    ),
    (
        ("logaddexp",),
        2,
        function("jax.numpy.logaddexp"),
        np.logaddexp,
        "log(exp(a) + exp(b)), stable",
    ),
    (("pow",), 2, function("jax.numpy.power"), np.power, "a**b"),
    (("min",), 0, _minimum, np.minimum, "smallest of two or more"),
    (("max",), 0, _maximum, np.maximum, "largest of two or more"),
)

FUNCTIONS: dict[str, Function] = {
    name: Function(name, arity, jax_fn, numpy_fn, doc)
    for names, arity, jax_fn, numpy_fn, doc in _TABLE
    for name in names
}
"""Every function a formula may call, by name (aliases such as ``asin`` and ``ln`` included)."""

EXAMPLES: tuple[tuple[str, str, tuple[float, float, float, float]], ...] = (
    ("Rosenbrock", "(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0, -1.0, 3.0)),
    ("Bowl", "x**2 + 10*y**2", (-4.0, 4.0, -4.0, 4.0)),
    ("Ripples", "x**2 + 10*sin(y)**2", (-4.0, 4.0, -4.0, 4.0)),
    ("Logistic loss", "log(1 + exp(-x*y))", (-4.0, 4.0, -4.0, 4.0)),
    ("Himmelblau", "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (-6.0, 6.0, -6.0, 6.0)),
    ("Two wells", "(x**2 - 1)**2 + 0.3*x + y**2", (-2.0, 2.0, -2.0, 2.0)),
    ("Absolute value", "abs(x) + 2*abs(y)", (-3.0, 3.0, -3.0, 3.0)),
)
"""``(name, formula, view)`` examples for a menu: each parses and is finite over its view."""

Node = tuple[Any, ...]
"""A checked formula: ``("num", v)``, ``("var", i)``, ``("neg", a)``, ``(op, a, b)`` with op one of
``add sub mul div pow``, or ``("call", name, (args...))`` (canonical names, aliases resolved)."""

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
}
_OP_TEXT: dict[type[ast.operator], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed (a comma outside a function call?)",
    ast.Set: "sets are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and' / 'or' are not allowed",
    ast.IfExp: "'if ... else' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.FormattedValue: "strings are not allowed",
    ast.Starred: "'*' arguments are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Slice: "slices are not allowed",
}


def _functions_hint() -> str:
    return "functions: " + ", ".join(sorted(set(_CANONICAL.values())))


def _prepare(text: object) -> tuple[str, int]:
    """The text to parse and the number of leading spaces removed (columns count from the text
    as given). Checks type, length and characters before the parser sees anything."""
    if not isinstance(text, str):
        raise ExpressionError(f"must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the formula is {len(text):,} characters long; at most {MAX_LENGTH}",
            MAX_LENGTH + 1,
        )
    for i, ch in enumerate(text):
        code = ord(ch)
        if code > 0x7E:
            raise ExpressionError(
                f"only ASCII characters are allowed, got {ch!r} (U+{code:04X})", i + 1
            )
        if code < 0x20 and ch != "\t":
            what = "a formula is one line" if ch in "\r\n" else f"control character U+{code:04X}"
            raise ExpressionError(f"{what}; not allowed", i + 1)
    body = text.replace("\t", " ").rstrip()
    stripped = body.lstrip()
    if not stripped:
        raise ExpressionError("the formula is empty; type one in x and y, e.g. x**2 + y**2")
    return stripped, len(body) - len(stripped)


def _parse(text: str, lead: int) -> ast.expr:
    """The syntax tree of ``text`` (never run), after the size checks."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings ("'int' object is not callable")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        column = None
        if exc.offset is not None and exc.lineno == 1:
            column = min(max(exc.offset, 1), len(text) + 1) + lead
        raise ExpressionError(f"not a formula: {exc.msg}", column) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("not a formula: nested too deeply or too large") from None
    body = tree.body
    count = 0
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:  # iterative: nothing recursive touches the tree before its depth is known
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"too many parts (more than {MAX_NODES}); shorten it")
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"nested more than {MAX_DEPTH} deep; shorten it", _column(node, lead)
                )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return body


def _column(node: ast.AST, lead: int) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else offset + 1 + lead


class _Lowering:
    """Turns a checked-size syntax tree into a :data:`Node`, folding constant parts."""

    def __init__(self, text: str, lead: int) -> None:
        self.text, self.lead = text, lead

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, _column(node, self.lead))

    def segment(self, node: ast.AST) -> str:
        part = ast.get_source_segment(self.text, node) or "this part"
        return part if len(part) <= 40 else part[:37] + "..."

    def constant(self, node: ast.AST, value: float) -> Node:
        if not math.isfinite(value):
            what = "is not a real number" if math.isnan(value) else "is not a finite number"
            raise self.fail(node, f"{self.segment(node)} {what}")
        return ("num", float(value))

    def lower(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            if node.id in VARIABLES:
                return ("var", VARIABLES.index(node.id))
            if node.id in CONSTANTS:
                return ("num", CONSTANTS[node.id])
            if node.id in FUNCTIONS:
                raise self.fail(node, f"{node.id} is a function; call it: {node.id}(...)")
            raise self.fail(node, f"unknown name {node.id!r}; a formula uses x, y, pi and e")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.lower(node.operand)
            if isinstance(node.op, ast.USub):
                a = self.lower(node.operand)
                if a[0] == "num":
                    return ("num", -a[1])
                return ("neg", a)
            word = "not" if isinstance(node.op, ast.Not) else "~"
            raise self.fail(node, f"'{word}' is not allowed")
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        message = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
        raise self.fail(node, message)

    def number(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = {str: "strings are", bytes: "bytes are", complex: "complex numbers are"}.get(
                type(value), f"{value!r} is"
            )
            raise self.fail(node, f"{kind} not allowed; only real numbers")
        try:
            as_float = float(value)
        except OverflowError:
            as_float = math.inf
        return self.constant(node, as_float)

    def binop(self, node: ast.BinOp) -> Node:
        op = type(node.op)
        if op is ast.BitXor:
            raise self.fail(node, "'^' is not a power here; write ** (x**2)")
        if op not in _BINOPS:
            raise self.fail(node, f"'{_OP_TEXT.get(op, op.__name__)}' is not allowed")
        a, b = self.lower(node.left), self.lower(node.right)
        kind = _BINOPS[op]
        if kind == "pow":
            self.check_exponent(node.right, b)
        if a[0] == "num" and b[0] == "num":
            with np.errstate(all="ignore"):
                value = _NUMPY_OPS[kind](np.float64(a[1]), np.float64(b[1]))
            return self.constant(node, float(value))
        return (kind, a, b)

    def check_exponent(self, node: ast.AST, b: Node) -> None:
        if b[0] == "num" and abs(b[1]) > MAX_EXPONENT:
            raise self.fail(
                node, f"exponent {b[1]:g} is too large; at most {MAX_EXPONENT:g} in absolute value"
            )

    def call(self, node: ast.Call) -> Node:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail(node, f"only named functions can be called; {_functions_hint()}")
        name = func.id
        if name not in FUNCTIONS:
            if name in VARIABLES or name in CONSTANTS:
                raise self.fail(func, f"{name} is not a function; write {name}*(...) for a product")
            raise self.fail(func, f"unknown function {name!r}; {_functions_hint()}")
        if node.keywords:
            raise self.fail(node.keywords[0], "keyword arguments are not allowed")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, "'*' arguments are not allowed")
        spec = FUNCTIONS[name]
        count = len(node.args)
        if spec.arity == 0 and count < 2:
            raise self.fail(node, f"{name} takes two or more arguments, got {count}")
        if spec.arity and count != spec.arity:
            want = "one argument" if spec.arity == 1 else f"{spec.arity} arguments"
            raise self.fail(node, f"{name} takes {want}, got {count}")
        args = tuple(self.lower(arg) for arg in node.args)
        canonical = _CANONICAL[name]
        if canonical == "pow":
            self.check_exponent(node.args[1], args[1])
            if all(a[0] == "num" for a in args):
                with np.errstate(all="ignore"):
                    return self.constant(node, float(np.power(args[0][1], args[1][1])))
            return ("pow", args[0], args[1])
        if all(a[0] == "num" for a in args):
            with np.errstate(all="ignore"):
                values = [np.float64(a[1]) for a in args]
                if spec.arity == 0:
                    value = functools.reduce(spec.numpy_fn, values)
                else:
                    value = spec.numpy_fn(*values)
            return self.constant(node, float(value))
        return ("call", canonical, args)


_NUMPY_OPS: dict[str, Callable[[np.float64, np.float64], np.float64]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
}

_CANONICAL: dict[str, str] = {name: names[0] for names, *_ in _TABLE for name in names}
"""Each function name (aliases included) to its first name: ``asin`` and ``arcsin`` are one."""


@dataclass(frozen=True)
class Formula:
    """A checked formula.

    Attributes:
      text: the formula as given, without surrounding spaces.
      tree: the checked, constant-folded tree: equal formulas give equal trees, whatever their
        spacing, brackets, aliases or how their constants are written (``2*pi`` and ``6.283...``).
    """

    text: str
    tree: Node

    @property
    def loss_fn(self) -> LossFn:
        """``loss(params, consts, batch)``: the same object for every formula with this tree."""
        return _loss_fn(self.tree)

    def is_constant(self) -> bool:
        return self.tree[0] == "num"


@functools.lru_cache(maxsize=512)
def parse_expression(text: str) -> Formula:
    """Check ``text`` and return the :class:`Formula`.

    Raises:
      ExpressionError (a SceneError): the formula is refused; ``.column`` says where.
    """
    stripped, lead = _prepare(text)
    body = _parse(stripped, lead)
    return Formula(stripped, _Lowering(stripped, lead).lower(body))


def check_expression(text: str) -> ExpressionError | None:
    """Why ``text`` is refused (an :class:`ExpressionError` with ``.column`` and ``.message``),
    or None when it is a valid formula. For checking as the user types: no JAX, no compile.

    A valid formula may still be refused when a problem is built from it: one that is not a
    finite number anywhere in the view.
    """
    try:
        parse_expression(text)
    except ExpressionError as exc:
        return exc
    return None


def _evaluate(node: Node, x: Array, y: Array) -> Array | float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        return x if node[1] == 0 else y
    if kind == "neg":
        return -_evaluate(node[1], x, y)
    if kind == "call":
        fn = FUNCTIONS[node[1]].jax_fn
        return fn(*(_evaluate(a, x, y) for a in node[2]))
    a, b = node[1], node[2]
    left = _evaluate(a, x, y)
    if kind == "pow":
        if b[0] == "num":
            if float(b[1]).is_integer():
                # x**2 as jnp writes it (lax.integer_pow): exact, and fine for negative x.
                return jax.lax.integer_pow(jnp.asarray(left), int(b[1]))
            return jnp.power(left, b[1])
        return jnp.power(left, _evaluate(b, x, y))
    right = _evaluate(b, x, y)
    if kind == "add":
        return left + right
    if kind == "sub":
        return left - right
    if kind == "mul":
        return left * right
    return left / right


@functools.lru_cache(maxsize=256)
def _loss_fn(tree: Node) -> LossFn:
    """The loss function of a checked tree, one object per tree (the compile caches key on it)."""
    if tree[0] == "num":
        value = tree[1]

        def constant_loss(p: Params, c: Consts, batch: Batch) -> Array:
            del c, batch
            return jnp.full_like(p[0], value)

        return constant_loss

    def expression_loss(p: Params, c: Consts, batch: Batch) -> Array:
        del c, batch
        return jnp.asarray(_evaluate(tree, p[0], p[1]))

    return expression_loss
