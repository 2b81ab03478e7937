"""Typed formulas: values and gradients, the allow-list against hostile text, minima, caching."""

from __future__ import annotations

import math
import time

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from gdviz.core import SceneError, load_scene, make_problem, save_scene, simulate
from gdviz.core.expression import (
    EXAMPLES,
    FUNCTIONS,
    MAX_LENGTH,
    ExpressionError,
    check_expression,
    parse_expression,
)
from gdviz.core.scene import dumps_scene, parse_scene
from gdviz.core.simulate import is_compiled

POINTS = [(0.3, -0.7), (1.1, 0.4), (-0.8, 1.9), (2.0, -1.5)]

VALID = [
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("x**2 + 10*sin(y)**2", lambda x, y: x**2 + 10 * jnp.sin(y) ** 2),
    ("log(1 + exp(-x*y))", lambda x, y: jnp.log(1 + jnp.exp(-x * y))),
    (
        "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    ),
    ("-x + +y", lambda x, y: -x + y),
    ("x**-2 + y**0.5*0 + 1", lambda x, y: x**-2 + y**0.5 * 0 + 1),
    ("2**x + (1 + x**2)**y", lambda x, y: 2.0**x + (1 + x**2) ** y),
    ("sqrt(x**2 + 1) / cbrt(y + 3)", lambda x, y: jnp.sqrt(x**2 + 1) / jnp.cbrt(y + 3)),
    (
        "tanh(x) * sigmoid(y) + relu(x - y) + softplus(y)",
        lambda x, y: jnp.tanh(x) * jax.nn.sigmoid(y) + jax.nn.relu(x - y) + jax.nn.softplus(y),
    ),
    (
        "hypot(x, y) + arctan2(y, 2) + atan2(x, 3)",
        lambda x, y: jnp.hypot(x, y) + jnp.arctan2(y, 2.0) + jnp.arctan2(x, 3.0),
    ),
    (
        "min(x, y, 0.5) + max(x**2, y**2)",
        lambda x, y: jnp.minimum(jnp.minimum(x, y), 0.5) + jnp.maximum(x**2, y**2),
    ),
    (
        "exp2(x) + expm1(y) + log1p(x**2) + log2(2 + y) + log10(3 + x)",
        lambda x, y: (
            jnp.exp2(x) + jnp.expm1(y) + jnp.log1p(x**2) + jnp.log2(2 + y) + jnp.log10(3 + x)
        ),
    ),
    (
        "sinh(x/3) + cosh(y/3) + asinh(x) + arctanh(y/3) + acosh(2 + x**2)",
        lambda x, y: (
            jnp.sinh(x / 3)
            + jnp.cosh(y / 3)
            + jnp.arcsinh(x)
            + jnp.arctanh(y / 3)
            + jnp.arccosh(2 + x**2)
        ),
    ),
    (
        "asin(x/3) + arccos(y/3) + atan(x) + tan(y/3)",
        lambda x, y: jnp.arcsin(x / 3) + jnp.arccos(y / 3) + jnp.arctan(x) + jnp.tan(y / 3),
    ),
    (
        "abs(x) + square(y) + logaddexp(x, y) + erf(x) + pow(y, 2)",
        lambda x, y: jnp.abs(x) + jnp.square(y) + jnp.logaddexp(x, y) + jax.lax.erf(x) + y**2,
    ),
    ("2*pi*x + e*y + ln(e)", lambda x, y: 2 * math.pi * x + math.e * y + 1.0),
    ("sign(x)*floor(y)*0 + ceil(2.5) + 1_000 * 1e-3", lambda x, y: 0 * x + 4.0),
]


@pytest.mark.parametrize(("text", "reference"), VALID, ids=[t for t, _ in VALID])
def test_values_and_gradients_match_hand_written_jax(text: str, reference) -> None:  # noqa: ANN001
    loss = parse_expression(text).loss_fn
    points = jnp.asarray(POINTS)
    # Every point at once (vmap), op by op: no compile per formula.
    value, grad = jax.vmap(jax.value_and_grad(loss), in_axes=(0, None, None))(points, {}, ())
    ref_value, ref_grad = jax.vmap(jax.value_and_grad(lambda p: reference(p[0], p[1])))(points)
    finite = np.isfinite(np.asarray(ref_value))
    np.testing.assert_array_equal(np.isfinite(np.asarray(value)), finite)
    np.testing.assert_allclose(
        np.asarray(value)[finite], np.asarray(ref_value)[finite], rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(grad)[finite], np.asarray(ref_grad)[finite], rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("text", ["x**2*y + sin(x*y) + log(1 + exp(-x*y)) + hypot(x, 2*y)"])
def test_gradients_match_central_differences(text: str) -> None:
    loss = jax.vmap(parse_expression(text).loss_fn, in_axes=(0, None, None))
    h = 1e-6
    p = np.asarray(POINTS)
    steps = [
        p + d
        for d in (np.array([h, 0.0]), np.array([-h, 0.0]), np.array([0.0, h]), np.array([0.0, -h]))
    ]
    f = [np.asarray(loss(jnp.asarray(q), {}, ())) for q in steps]
    fd = np.stack([(f[0] - f[1]) / (2 * h), (f[2] - f[3]) / (2 * h)], axis=1)
    g = np.asarray(
        jax.vmap(jax.grad(parse_expression(text).loss_fn), in_axes=(0, None, None))(
            jnp.asarray(p), {}, ()
        )
    )
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_equal_formulas_give_one_function_and_never_recompile() -> None:
    a = parse_expression("(1 - x)**2 + 100*(y - x**2)**2")
    b = parse_expression("  (1-x) ** 2+100 * ((y - x**2))**2 ")
    c = parse_expression("(1 - x)**2 + 100*(y - x^2)**2".replace("^", "**"))
    assert a.loss_fn is b.loss_fn is c.loss_fn
    assert parse_expression("asin(x) + y").loss_fn is parse_expression("arcsin(x) + y").loss_fn
    assert parse_expression("x + y").loss_fn is not parse_expression("x - y").loss_fn
    scene = load_scene("rosenbrock").with_expression("(1 - x)**2 + 100*(y - x**2)**2")
    simulate(scene)
    again = scene.with_expression("(1-x)**2 + 100*(y-x**2)**2")
    assert is_compiled(again)


# (text, column or None, words in the message)
HOSTILE = [
    ("__import__('os')", 1, "unknown function '__import__'"),
    ("x.__class__", 1, "attribute"),
    ("().__class__.__bases__", 1, "attribute"),
    ("open('f')", 1, "unknown function 'open'"),
    ("lambda: 1", 1, "lambda"),
    ("[i for i in x]", 1, "comprehension"),
    ("x[0]", 1, "indexing"),
    ("9**9**9**9", 7, "exponent"),
    ("x**100", 4, "exponent 100"),
    ("x**(-65)", 5, "exponent -65"),
    ("nan", 1, "unknown name 'nan'"),
    ("inf", 1, "unknown name 'inf'"),
    ("1e999", 1, "not a finite number"),
    ("x + 1" + "0" * 400, 5, "not a finite number"),
    ("1/0 + x", 1, "not a finite number"),
    ("sqrt(-1) + x", 1, "not a real number"),
    ("f'{x}'", 1, "string"),
    ("'abc'", 1, "string"),
    ("(y := 1)", 2, ":="),
    ("exec('1')", 1, "unknown function 'exec'"),
    ("eval('x')", 1, "unknown function 'eval'"),
    ("x + os", 5, "unknown name 'os'"),
    ("sys", 1, "unknown name 'sys'"),
    ("x ^ 2", 1, "'^' is not a power"),
    ("x % 2", 1, "'%'"),
    ("x if y else 1", 1, "if"),
    ("x < y", 1, "comparison"),
    ("x and y", 1, "and"),
    ("not x", 1, "not"),
    ("sin(x=1)", 5, "keyword"),
    ("max(*x)", 5, "'*'"),
    ("sin(x, y)", 1, "one argument"),
    ("min(x)", 1, "two or more"),
    ("x(2)", 1, "not a function"),
    ("sin", 1, "call it"),
    ("True + x", 1, "True"),
    ("1j * x", 1, "complex"),
    ("{x: 1}", 1, "dictionar"),
    ("x, y", 1, "tuple"),
    ("x +", None, "not a formula"),
    ("2x", 1, "not a formula"),
    ("x\n+ y", 2, "one line"),
    ("ｘ**2", 1, "U+FF58"),  # full-width x: Python's parser would read it as x
    ("x + ｙ", 5, "ASCII"),
    ("x\x00", 2, "control character"),
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("-" * 200 + "x", 101, "nested more than"),
    ("+".join(["x"] * 200), None, "more than"),
    ("(" * 100_000 + "x" + ")" * 100_000, MAX_LENGTH + 1, "at most 500"),
    ("x" * 1_000_000, MAX_LENGTH + 1, "at most 500"),
    ("(" * 240 + "x" + ")" * 240, None, "not a formula"),
]


@pytest.mark.parametrize(
    ("text", "column", "words"), HOSTILE, ids=[repr(t[:24]) for t, *_ in HOSTILE]
)
def test_hostile_formulas_are_refused_quickly_with_their_column(
    text: str, column: int | None, words: str
) -> None:
    t0 = time.perf_counter()
    err = check_expression(text)
    with pytest.raises(SceneError) as raised:
        make_problem("expression", {"expr": text})
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(err, ExpressionError)
    assert words in err.message, err.message
    if column is not None:
        assert err.column == column, str(err)
        assert f"column {column}: " in str(raised.value)
    assert str(raised.value).startswith("expr: ")


def test_the_message_names_the_key_and_the_column() -> None:
    err = check_expression("x**2 + 10*os")
    assert (
        err is not None
        and str(err) == "expr: column 11: unknown name 'os'; a formula uses x, y, pi and e"
    )
    with pytest.raises(ExpressionError, match=r"^expr: column 11: unknown name 'os'"):
        load_scene("rosenbrock").with_expression("x**2 + 10*os")


def test_a_scene_file_names_the_file_table_and_column(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "bad.toml"
    path.write_text(
        '[problem]\nname = "expression"\nexpr = "x + __import__(1)"\n\n[[optimizer]]\nname = "sgd"\n'
    )
    with pytest.raises(ExpressionError) as raised:
        load_scene(path)
    assert raised.value.column == 5
    assert "bad.toml: problem.expr: column 5: unknown function '__import__'" in str(raised.value)


def test_nothing_of_the_text_runs() -> None:
    # A name that exists in this module and in builtins is still unknown to a formula.
    for name in ("print", "globals", "math", "np", "jnp", "__builtins__", "breakpoint"):
        assert check_expression(f"{name}(1)") is not None
        assert check_expression(name) is not None


def test_a_formula_not_finite_anywhere_in_the_view_is_refused() -> None:
    with pytest.raises(SceneError, match="not a finite number anywhere in the view"):
        make_problem("expression", {"expr": "sqrt(-1 - x**2 - y**2)"})
    with pytest.raises(SceneError, match="not a finite number anywhere"):
        make_problem("expression", {"expr": "log(x)", "view": [-3, -1, -1, 1]})
    # Non-finite in part of the view is fine: paths there are stopped as diverged.
    assert make_problem("expression", {"expr": "log(x) + y**2", "view": [-1, 3, -1, 1]})


def test_views_and_hints_are_checked() -> None:
    for view in ([0, 1, 0], [1, 0, 0, 1], [0, 1, 0, float("nan")], [0, 2e4, 0, 1], "abc"):
        with pytest.raises(SceneError, match="view"):
            make_problem("expression", {"expr": "x**2 + y**2", "view": view})
    for hints in ([[0, 0, 0]], [[0, "a"]], [[1e5, 0]], [[0, 0]] * 17, 3):
        with pytest.raises(SceneError, match="minima"):
            make_problem("expression", {"expr": "x**2 + y**2", "minima": hints})


def test_minima_are_found_on_the_grid_and_polished() -> None:
    rosen = make_problem(
        "expression", {"expr": "(1 - x)**2 + 100*(y - x**2)**2", "view": [-2, 2, -1, 3]}
    )
    assert len(rosen.minima) == 1 and rosen.minima[0].kind == "global"
    np.testing.assert_allclose(rosen.minima[0].point, (1.0, 1.0), atol=1e-8)
    assert rosen.title == "f(x, y) = (1 - x)**2 + 100*(y - x**2)**2"
    himmelblau = make_problem(
        "expression", {"expr": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", "view": [-6, 6, -6, 6]}
    )
    assert len(himmelblau.minima) == 4
    assert all(m.kind == "global" and abs(m.loss) < 1e-12 for m in himmelblau.minima)
    assert make_problem("expression", {"expr": "x**2 - y**2"}).minima == ()  # a saddle


def test_a_hint_finds_a_minimum_the_grid_misses() -> None:
    # A well 0.002 wide at (2, 2): no grid point (spacing 0.08) sees it.
    expr = "x**2 + y**2 - 20*exp(-((x - 2)**2 + (y - 2)**2)/0.00001)"
    plain = make_problem("expression", {"expr": expr})
    assert [m.point for m in plain.minima] == [pytest.approx((0.0, 0.0), abs=1e-9)]
    hinted = make_problem("expression", {"expr": expr, "minima": [[2.001, 1.999]]})
    best = hinted.minima[0]
    assert best.kind == "global" and best.loss < -11
    np.testing.assert_allclose(best.point, (2.0, 2.0), atol=1e-3)
    assert hinted.minima[1].kind == "local"


@pytest.mark.parametrize(("name", "text", "view"), EXAMPLES, ids=[n for n, *_ in EXAMPLES])
def test_the_examples_parse_and_are_finite_over_their_views(name: str, text: str, view) -> None:  # noqa: ANN001
    del name
    assert check_expression(text) is None
    problem = make_problem("expression", {"expr": text, "view": list(view)}, minima="defer")
    (x0, x1), (y0, y1) = problem.view
    for x in np.linspace(x0, x1, 7):
        for y in np.linspace(y0, y1, 7):
            assert math.isfinite(problem.loss((x, y)))


# --- random formulas: nothing but SceneError, whatever the text ----------------------------------

_LEAVES = st.sampled_from(["x", "y", "pi", "e", "0", "1", "2.5", "1e3", "1e308", "-3", "0.0"])
_NAMES = sorted(FUNCTIONS) + ["os", "open", "nan", "x", "lambda"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binop = st.tuples(
        children, st.sampled_from(["+", "-", "*", "/", "**", "^", "%", "//"]), children
    )
    call = st.tuples(st.sampled_from(_NAMES), st.lists(children, min_size=0, max_size=3))
    return st.one_of(
        binop.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        call.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        children.map(lambda c: f"-{c}"),
    )


TREES = st.recursive(_LEAVES, _combine, max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_random_formula_trees_parse_trace_or_fail_with_scene_error(text: str) -> None:
    try:
        formula = parse_expression(text)
    except SceneError as exc:
        assert isinstance(exc, ExpressionError)
        return
    # Tracing (no XLA compile) exercises every operation the loss would run.
    jaxpr = jax.make_jaxpr(jax.grad(formula.loss_fn))(jnp.asarray([0.5, -0.25]), {}, ())
    assert jaxpr is not None


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("xy()+-*/^.,:[]'\"_ 019eEjpisnqrtl=<!@#λｘ\t\n")), max_size=40
    )
)
def test_random_text_is_a_formula_or_a_scene_error(text: str) -> None:
    err = check_expression(text)
    if err is not None:
        assert isinstance(err, SceneError) and err.message
        assert err.column is None or 1 <= err.column <= len(text) + 1


def test_with_expression_switches_problems_and_the_scene_round_trips(tmp_path) -> None:  # noqa: ANN001
    base = load_scene("linear-regression")
    assert any(e.batch_size for e in base.optimizers)
    scene = base.replace(title="").with_expression("\tx**2 + 10*sin(y)**2 ", view=(-3, 3, -2, 2))
    assert scene.problem == "expression" and scene.expression == "x**2 + 10*sin(y)**2"
    assert all(e.batch_size is None for e in scene.optimizers)  # a formula has no data
    assert scene.view is None and scene.view_rect() == ((-3.0, 3.0), (-2.0, 2.0))
    assert scene.title == "f(x, y) = x**2 + 10*sin(y)**2"
    hinted = scene.replace(problem_params={**scene.problem_params, "minima": ((0.0, 0.0),)})
    assert "minima" in hinted.with_expression("x**2 + 10*sin(y)**2").problem_params
    assert "minima" not in hinted.with_expression("x**2 + 9*sin(y)**2").problem_params
    path = tmp_path / "formula.toml"
    save_scene(hinted, path)
    text = path.read_text()
    assert 'expr = "x**2 + 10*sin(y)**2"' in text and "minima = [[0.0, 0.0]]" in text
    assert load_scene(path) == hinted == parse_scene(dumps_scene(hinted))
    with pytest.raises(SceneError, match="view"):
        scene.with_expression("x + y", view=(-2e4, 0, 0, 1))
