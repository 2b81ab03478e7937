"""Plain-loop numpy references of every update rule and hand-derived gradients.

Written from the papers' and libraries' documented update equations, not from optax's code, and
kept deliberately obvious (the register of ``jax.example_libraries.optimizers``). Each rule states
its convention. Notation: p parameters, g gradient, lr learning rate; all state starts at zero
unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Grad = Callable[[np.ndarray], np.ndarray]

# Defaults of each library, stated here independently of gdviz's table so that the table is tested.
TORCH_DEFAULTS = {
    "rmsprop": {"decay": 0.99, "eps": 1e-8},  # torch.optim.RMSprop(alpha=0.99, eps=1e-8)
    "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-10},  # torch.optim.Adagrad
}
OPTAX_DEFAULTS = {
    "rmsprop": {"decay": 0.9, "eps": 1e-8},  # optax.rmsprop(decay=0.9, eps=1e-8, eps_in_sqrt=True)
    "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},  # optax.adagrad
}


def run(rule: str, convention: str, grad: Grad, start, steps: int, **h: float) -> np.ndarray:
    """Points ``(steps + 1, 2)`` of ``rule`` from ``start``; ``h`` are optax-named hyperparameters."""
    p = np.array(start, dtype=np.float64)
    lr = h["learning_rate"]
    out = [p.copy()]
    z = np.zeros(2)
    a, b = z.copy(), z.copy()  # the rule's state, named per rule below
    if rule == "adagrad":
        a = a + h["initial_accumulator_value"]
    for t in range(1, steps + 1):
        g = grad(p)
        if rule == "sgd":
            step = g
        elif rule == "momentum":
            # Heavy ball as optax.sgd(momentum) and torch.optim.SGD (dampening 0): v = mu v + g.
            a = h["momentum"] * a + g
            step = a
        elif rule == "nesterov":
            # Both libraries' Nesterov: v = mu v + g, then step along g + mu v (the look-ahead form).
            a = h["momentum"] * a + g
            step = g + h["momentum"] * a
        elif rule == "adagrad":
            a = a + g * g  # sum of squares
            if convention == "optax":  # eps inside the root; a zero accumulator gives a zero step
                step = np.where(a > 0, g / np.sqrt(a + h["eps"]), 0.0)
            else:  # torch: eps outside the root
                step = g / (np.sqrt(a) + h["eps"])
        elif rule == "adadelta":
            # Zeiler 2012, as torch.optim.Adadelta and optax.adadelta (eps inside both roots).
            rho, eps = h["rho"], h["eps"]
            a = rho * a + (1 - rho) * g * g  # E[g^2]
            step = np.sqrt(b + eps) / np.sqrt(a + eps) * g
            b = rho * b + (1 - rho) * step * step  # E[dx^2], of the step before lr
        elif rule == "rmsprop":
            a = h["decay"] * a + (1 - h["decay"]) * g * g
            if convention == "optax":
                step = g / np.sqrt(a + h["eps"])
            else:
                step = g / (np.sqrt(a) + h["eps"])
        elif rule == "adam":
            # Kingma & Ba 2015, eps outside the root, bias-corrected: as optax.adam and torch.
            a = h["b1"] * a + (1 - h["b1"]) * g
            b = h["b2"] * b + (1 - h["b2"]) * g * g
            a_hat = a / (1 - h["b1"] ** t)
            b_hat = b / (1 - h["b2"] ** t)
            step = a_hat / (np.sqrt(b_hat) + h["eps"])
        else:
            raise ValueError(rule)
        p = p - lr * step
        out.append(p.copy())
    return np.array(out)


# --- hand-derived gradients -----------------------------------------------------------------------


def rosenbrock_grad(a: float = 1.0, b: float = 100.0) -> Grad:
    def grad(p: np.ndarray) -> np.ndarray:
        x, y = p
        return np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])

    return grad


def quadratic_grad(condition: float) -> Grad:
    return lambda p: np.array([p[0], condition * p[1]])


def mse_grad(x: np.ndarray, y: np.ndarray) -> Grad:
    def grad(p: np.ndarray) -> np.ndarray:
        r = p[0] * x + p[1] - y
        return np.array([2 * np.mean(r * x), 2 * np.mean(r)])

    return grad
