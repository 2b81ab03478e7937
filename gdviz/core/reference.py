"""Plain-loop numpy forms of every built-in update rule, independent of optax: the oracle.

Written from the papers' and libraries' documented update equations, not from optax's code, and
kept deliberately obvious (the register of ``jax.example_libraries.optimizers``). The tests compare
every rule's optax path with :func:`run` to 1e-9, and ``gdviz bench`` times it as the numpy
baseline. It is the one copy: tests and the bench import it from here.

Notation: ``p`` parameters, ``g`` gradient, ``lr`` learning rate, ``t`` the step counted from 1;
hyperparameters carry optax's names; all state starts at zero unless said otherwise. Every rule
moves ``p ← p − lr · step``, and each rule below says how its ``step`` comes out in each convention:

- ``"optax"``: optax's aliases with their documented defaults.
- ``"pytorch"``: ``torch.optim``'s classes with theirs. The two differ in RMSprop (torch
  ``alpha=0.99``, ``eps`` outside the root), AdaGrad (torch accumulator starting at 0,
  ``eps=1e-10`` outside the root; optax starts at 0.1 with ``eps=1e-7`` inside it), AdamW (torch
  ``weight_decay=1e-2``, applied to θ before the Adam step; optax 1e-4), NAdam (torch's momentum
  schedule ``momentum_decay``) and AMSGrad (torch keeps the max of the raw ν). These were read
  from ``torch/optim/{adamw,nadam,adam}.py`` of torch 2.13 and checked against torch itself
  while writing them (torch is not a dependency of gdviz or its tests).

What every rule shares (:func:`run`): a learning rate per step ``lr_at(k)`` (a schedule), an L2
term (the gradient gains ``l2 · p``), clipping of the gradient to a global norm, and decoupled
weight decay, applied as ``torch.optim.AdamW`` does: ``p ← p − lr · wd · p`` before the rule's
step. Newton's method and the schedule-free rules move ``p`` their own way (:data:`MOVES`).
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
        "adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 1e-4},  # optax.adamw
        "nadam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "momentum_decay": 4e-3},  # optax.nadam
        "amsgrad": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},  # optax.amsgrad
        "lion": {"b1": 0.9, "b2": 0.99, "weight_decay": 1e-3},  # optax.lion
        "sign_descent": {},  # optax.sign_sgd
        "schedule_free_sgd": {"b1": 0.9},  # optax.contrib.schedule_free_sgd
        "schedule_free_adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
        "newton": {"damping": 0.1},  # gdviz's own
        "newton_undamped": {},
    },
    "pytorch": {
        "sgd": {},
        "momentum": {"momentum": 0.9},  # gdviz's choice: torch.optim.SGD has momentum 0
        "nesterov": {"momentum": 0.9},
        "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-10},  # torch.optim.Adagrad
        "adadelta": {"rho": 0.9, "eps": 1e-6},  # torch.optim.Adadelta
        "rmsprop": {"decay": 0.99, "eps": 1e-8},  # torch.optim.RMSprop(alpha=0.99, eps=1e-8)
        "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},  # torch.optim.Adam
        "adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},  # torch AdamW
        "nadam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "momentum_decay": 4e-3},  # torch NAdam
        "amsgrad": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},  # torch.optim.Adam(amsgrad=True)
        # torch.optim has none of these: optax's forms in both conventions.
        "lion": {"b1": 0.9, "b2": 0.99, "weight_decay": 1e-3},
        "sign_descent": {},
        "schedule_free_sgd": {"b1": 0.9},
        "schedule_free_adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
        "newton": {"damping": 0.1},
        "newton_undamped": {},
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


def _nadam(h: Mapping[str, float], convention: str) -> Step:
    b1, b2, eps = h["b1"], h["b2"], h["eps"]
    m, nu = np.zeros(2), np.zeros(2)
    product = 1.0

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal m, nu, product
        m = b1 * m + (1 - b1) * g
        nu = b2 * nu + (1 - b2) * g * g
        denom = np.sqrt(nu / (1 - b2**t)) + eps
        if convention == "optax":
            # Dozat 2016 as optax.nadam writes it: a look-ahead mean with constant b1,
            # m_bar = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t).
            m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
            return m_bar / denom
        # torch.optim.NAdam (torch/optim/nadam.py, _single_tensor_nadam):
        #   mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay)); mu_next likewise at step+1
        #   mu_product *= mu
        #   param -= lr * (1 - mu) / (1 - mu_product) * grad / denom
        #   param -= lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
        psi = h["momentum_decay"]
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        product *= mu
        return ((1 - mu) / (1 - product) * g + mu_next / (1 - product * mu_next) * m) / denom

    return step


def _amsgrad(h: Mapping[str, float], convention: str) -> Step:
    # Reddi et al. 2018 with Adam's bias corrections, as each library places them.
    b1, b2, eps = h["b1"], h["b2"], h["eps"]
    m, nu, nu_max = np.zeros(2), np.zeros(2), np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal m, nu, nu_max
        m = b1 * m + (1 - b1) * g
        nu = b2 * nu + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if convention == "optax":  # optax.amsgrad: the max of the bias-corrected nu
            nu_max = np.maximum(nu_max, nu / (1 - b2**t))
            return m_hat / (np.sqrt(nu_max) + eps)
        # torch (adam.py): torch.maximum(max_exp_avg_sqs, exp_avg_sq), then
        # denom = max_exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
        nu_max = np.maximum(nu_max, nu)
        return m_hat / (np.sqrt(nu_max) / np.sqrt(1 - b2**t) + eps)

    return step


def _lion(h: Mapping[str, float], convention: str) -> Step:
    # Chen et al. 2023, Program 1: update = sign(b1 m + (1 - b1) g), then m = b2 m + (1 - b2) g.
    m = np.zeros(2)

    def step(g: NDArray, t: int) -> NDArray:
        nonlocal m
        c = h["b1"] * m + (1 - h["b1"]) * g
        m = h["b2"] * m + (1 - h["b2"]) * g
        return np.sign(c)

    return step


def _sign_descent(h: Mapping[str, float], convention: str) -> Step:
    # Bernstein et al. 2018: signSGD.
    return lambda g, t: np.sign(g)


STEPS: dict[str, Callable[[Mapping[str, float], str], Step]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": _adam,  # AdamW is Adam plus the decoupled decay every rule may take (see run)
    "nadam": _nadam,
    "amsgrad": _amsgrad,
    "lion": _lion,
    "sign_descent": _sign_descent,
}
"""Each rule's plain form: ``STEPS[rule](hyperparams, convention)`` gives its ``step``."""

Hess = Callable[[NDArray], NDArray]
"""``hess(p)``: the 2x2 Hessian of the loss at ``p``."""

Move = Callable[[NDArray, NDArray, int, Callable[[int], float], NDArray | None], NDArray]
"""``move(p, g, t, lr_at, H) -> new p`` for rules that are not ``p - lr * step`` (keeps state)."""


def _newton(h: Mapping[str, float], convention: str, damped: bool = True) -> Move:
    # Newton's method with the Hessian shifted by the least multiple of I that lifts its
    # eigenvalues to `damping` (Nocedal & Wright 3.4); undamped: the textbook H^-1 g.
    def move(
        p: NDArray, g: NDArray, t: int, lr_at: Callable[[int], float], H: NDArray | None
    ) -> NDArray:
        assert H is not None
        M = (H + H.T) / 2
        if damped:
            shift = max(0.0, h["damping"] - float(np.linalg.eigvalsh(M)[0]))
            M = M + shift * np.eye(2)
        return p - lr_at(t - 1) * np.linalg.solve(M, g)

    return move


def _schedule_free(h: Mapping[str, float], convention: str, adam: bool) -> Move:
    # Defazio et al. 2024, "The Road Less Scheduled", with optax.contrib's weighting:
    #   y = (1 - b1) z + b1 x   (where the gradient is taken: what run() records)
    #   z <- z - lr_t * d_t     (d = g for SGD; g / (sqrt(nu / (1 - b2^t)) + eps) for AdamW)
    #   x <- (1 - c) x + c z,   c = w_t / sum(w),  w_t = max(lr_1..lr_t)^2, lr counted from 1
    b1 = h["b1"]
    z = x = None
    nu = np.zeros(2)
    weights = 0.0
    top = 0.0

    def move(
        p: NDArray, g: NDArray, t: int, lr_at: Callable[[int], float], H: NDArray | None
    ) -> NDArray:
        nonlocal z, x, nu, weights, top
        if z is None:
            z, x = p.copy(), p.copy()
        d = g
        if adam:
            nu = h["b2"] * nu + (1 - h["b2"]) * g * g
            d = g / (np.sqrt(nu / (1 - h["b2"] ** t)) + h["eps"])
        z = z - lr_at(t - 1) * d
        top = max(top, lr_at(t))
        weights += top**2
        c = top**2 / weights if weights > 0 else 0.0
        x = (1 - c) * x + c * z
        return (1 - b1) * z + b1 * x

    return move


MOVES: dict[str, Callable[[Mapping[str, float], str], Move]] = {
    "newton": _newton,
    "newton_undamped": lambda h, c: _newton(h, c, damped=False),
    "schedule_free_sgd": lambda h, c: _schedule_free(h, c, adam=False),
    "schedule_free_adamw": lambda h, c: _schedule_free(h, c, adam=True),
}
"""Rules that move ``p`` their own way: ``MOVES[rule](hyperparams, convention)``."""


def run(
    rule: str,
    convention: str,
    grad: Grad,
    start: Sequence[float],
    steps: int,
    *,
    hess: Hess | None = None,
    lr_at: Callable[[int], float] | None = None,
    l2: float = 0.0,
    clip_norm: float = 0.0,
    **h: float,
) -> NDArray:
    """Points ``(steps + 1, 2)`` of ``rule`` from ``start``; ``h`` are optax-named hyperparameters
    (``learning_rate`` and the rule's others, all given; ``weight_decay`` for decoupled decay).

    Args:
      hess: the Hessian, for Newton's rules.
      lr_at: the learning rate of step ``k`` (from 0), a schedule; ``learning_rate`` otherwise.
      l2: the loss gains ``(l2 / 2)|p|²``: the gradient ``l2 p``, the Hessian ``l2 I``.
      clip_norm: clip each gradient (after the L2 term) to this norm; 0 = off.

    Raises:
      KeyError: ``rule`` has no plain form here.
    """
    h = dict(h)
    wd = h.pop("weight_decay", 0.0)
    lr = h["learning_rate"]
    lr_of = lr_at or (lambda k: lr)
    move = MOVES[rule](h, convention) if rule in MOVES else None
    step = None if move else STEPS[rule](h, convention)
    p = np.array(start, dtype=np.float64)
    out = np.empty((steps + 1, 2))
    out[0] = p
    for t in range(1, steps + 1):
        g = grad(p) + l2 * p
        if clip_norm:
            norm = float(np.sqrt(np.sum(g * g)))
            g = g if norm < clip_norm else g * clip_norm / norm
        if move is not None:
            H = None if hess is None else hess(p) + l2 * np.eye(2)
            p = move(p, g, t, lr_of, H)
        else:
            p = p - lr_of(t - 1) * wd * p  # decoupled decay first, as torch.optim.AdamW
            p = p - lr_of(t - 1) * step(g, t)  # type: ignore[misc]
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


def quadratic_hess(condition: float) -> Hess:
    """Of ``(x² + condition · y²) / 2``."""
    return lambda p: np.diag([1.0, condition])


def rosenbrock_hess(a: float = 1.0, b: float = 100.0) -> Hess:
    """Of ``(a − x)² + b (y − x²)²``."""

    def hess(p: NDArray) -> NDArray:
        x, y = p
        hxy = -4 * b * x
        return np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, hxy], [hxy, 2 * b]])

    return hess


def saddle_grad() -> Grad:
    """Of ``x² − y²``."""
    return lambda p: np.array([2 * p[0], -2 * p[1]])


def saddle_hess() -> Hess:
    """Of ``x² − y²``."""
    return lambda p: np.diag([2.0, -2.0])


def mse_hess(x: NDArray) -> Hess:
    """Of :func:`mse` (constant: the data's second moments)."""
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return lambda p: H


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
