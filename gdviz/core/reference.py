"""Plain-loop numpy forms of every built-in update rule, independent of optax: the oracle.

Written from the papers' and libraries' documented update equations, not from optax's code, and
kept deliberately obvious (the register of ``jax.example_libraries.optimizers``). The tests compare
every rule's optax path with :func:`run` to 1e-9, and ``gdviz bench`` times it as the numpy
baseline. It is the one copy: tests and the bench import it from here.

Notation: ``p`` parameters, ``g`` gradient, ``lr`` learning rate, ``t`` the step counted from 1;
hyperparameters carry optax's names; all state starts at zero unless said otherwise. Every rule
moves ``p ← p − lr · step``, and each rule below says how its ``step`` comes out in each convention:

- ``"optax"``: optax's aliases with their documented defaults.
- ``"pytorch"``: ``torch.optim``'s classes with theirs. The two differ only in RMSprop (torch
  ``alpha=0.99``, ``eps`` outside the root) and AdaGrad (torch accumulator starting at 0,
  ``eps=1e-10`` outside the root; optax starts at 0.1 with ``eps=1e-7`` inside it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from gdviz.core.types import NDArray

Grad = Callable[[NDArray], NDArray]
"""``grad(p)``: the gradient at ``p`` for the next step (called once per step, in order)."""

Step = Callable[[NDArray, int], NDArray]
"""``step(g, t)``: the rule's ``step`` at step ``t`` (from 1), so that ``p ← p − lr · step``;
keeps the rule's state between calls."""

LIBRARY_DEFAULTS: dict[str, dict[str, dict[str, float]]] = {
    # Stated here from the libraries' documentation, independently of gdviz's rule table, so that
    # the table is tested against them.
    "optax": {
        "sgd": {},
        "momentum": {"momentum": 0.9},
        "nesterov": {"momentum": 0.9},
        "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},  # optax.adagrad
        "adadelta": {"rho": 0.9, "eps": 1e-6},  # optax.adadelta
        "rmsprop": {"decay": 0.9, "eps": 1e-8},  # optax.rmsprop(decay=0.9, eps_in_sqrt=True)
        "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},  # optax.adam
    },
    "pytorch": {
        "sgd": {},
        "momentum": {"momentum": 0.9},  # gdviz's choice: torch.optim.SGD has momentum 0
        "nesterov": {"momentum": 0.9},
        "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-10},  # torch.optim.Adagrad
        "adadelta": {"rho": 0.9, "eps": 1e-6},  # torch.optim.Adadelta
        "rmsprop": {"decay": 0.99, "eps": 1e-8},  # torch.optim.RMSprop(alpha=0.99, eps=1e-8)
        "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},  # torch.optim.Adam
    },
}
"""Each library's defaults per rule (learning rates aside), by optax's names."""


def _sgd(h: Mapping[str, float], convention: str) -> Step:
    return lambda g, t: g


def _momentum(h: Mapping[str, float], convention: str) -> Step:
    # Heavy ball as optax.sgd(momentum) and torch.optim.SGD (dampening 0): v = mu v + g.
    v = np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal v
        v = h["momentum"] * v + g
        return v

    return step


def _nesterov(h: Mapping[str, float], convention: str) -> Step:
    # Both libraries' Nesterov: v = mu v + g, then step along g + mu v (the look-ahead form).
    v = np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal v
        v = h["momentum"] * v + g
        return g + h["momentum"] * v

    return step


def _adagrad(h: Mapping[str, float], convention: str) -> Step:
    # Duchi et al. 2011: s = s + g^2, step g / sqrt(s) with eps where each library puts it.
    s = np.zeros(2) + h["initial_accumulator_value"]

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal s
        s = s + g * g
        if convention == "optax":  # eps inside the root; a zero accumulator gives a zero step
            return np.where(s > 0, g / np.sqrt(s + h["eps"]), 0.0)
        return g / (np.sqrt(s) + h["eps"])  # torch: eps outside the root

    return step


def _adadelta(h: Mapping[str, float], convention: str) -> Step:
    # Zeiler 2012, as torch.optim.Adadelta and optax.adadelta (eps inside both roots).
    rho, eps = h["rho"], h["eps"]
    e_g, e_x = np.zeros(2), np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal e_g, e_x
        e_g = rho * e_g + (1 - rho) * g * g
        delta = np.sqrt(e_x + eps) / np.sqrt(e_g + eps) * g
        e_x = rho * e_x + (1 - rho) * delta * delta  # of the step before lr
        return delta

    return step


def _rmsprop(h: Mapping[str, float], convention: str) -> Step:
    # Hinton's lecture 6e: nu = decay nu + (1 - decay) g^2, step g / sqrt(nu), eps as each library.
    nu = np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal nu
        nu = h["decay"] * nu + (1 - h["decay"]) * g * g
        if convention == "optax":
            return g / np.sqrt(nu + h["eps"])
        return g / (np.sqrt(nu) + h["eps"])

    return step


def _adam(h: Mapping[str, float], convention: str) -> Step:
    # Kingma & Ba 2015, eps outside the root, bias-corrected: as optax.adam and torch.optim.Adam.
    m, nu = np.zeros(2), np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal m, nu
        m = h["b1"] * m + (1 - h["b1"]) * g
        nu = h["b2"] * nu + (1 - h["b2"]) * g * g
        m_hat = m / (1 - h["b1"] ** t)
        nu_hat = nu / (1 - h["b2"] ** t)
        return m_hat / (np.sqrt(nu_hat) + h["eps"])

    return step


STEPS: dict[str, Callable[[Mapping[str, float], str], Step]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
    "adam": _adam,
}
"""Each built-in rule's plain form: ``STEPS[rule](hyperparams, convention)`` gives its ``step``."""


def run(
    rule: str, convention: str, grad: Grad, start: Sequence[float], steps: int, **h: float
) -> NDArray:
    """Points ``(steps + 1, 2)`` of ``rule`` from ``start``; ``h`` are optax-named hyperparameters
    (``learning_rate`` and the rule's others, all given).

    Raises:
      KeyError: ``rule`` has no plain form here.
    """
    step = STEPS[rule](h, convention)
    lr = h["learning_rate"]
    p = np.array(start, dtype=np.float64)
    out = np.empty((steps + 1, 2))
    out[0] = p
    for t in range(1, steps + 1):
        p = p - lr * step(grad(p), t)
        out[t] = p
    return out


# --- hand-derived gradients -----------------------------------------------------------------------


def rosenbrock_grad(a: float = 1.0, b: float = 100.0) -> Grad:
    """Of ``(a − x)² + b (y − x²)²``."""

    def grad(p: NDArray) -> NDArray:
        x, y = p
        return np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])

    return grad


def quadratic_grad(condition: float) -> Grad:
    """Of ``(x² + condition · y²) / 2``."""
    return lambda p: np.array([p[0], condition * p[1]])


def mse(p: NDArray, x: NDArray, y: NDArray) -> float:
    """The mean squared error of the line ``y = p[0] x + p[1]``."""
    return float(np.mean((p[0] * x + p[1] - y) ** 2))


def mse_grad(x: NDArray, y: NDArray, batches: Sequence[NDArray] | None = None) -> Grad:
    """Of :func:`mse` over ``(x, y)``; with ``batches``, the ``k``-th call uses only the samples
    ``batches[k]`` (a mini-batch schedule, one row per step)."""
    calls = 0

    def grad(p: NDArray) -> NDArray:
        nonlocal calls
        bx, by = x, y
        if batches is not None:
            rows = batches[calls]
            bx, by = x[rows], y[rows]
        calls += 1
        r = p[0] * bx + p[1] - by
        return np.array([2 * np.mean(r * bx), 2 * np.mean(r)])

    return grad
