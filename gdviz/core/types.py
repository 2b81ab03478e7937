"""Array aliases shared by the core (in the manner of optax's ``base.py``).

The JAX aliases are written as strings: this module is read by the core's tables (rules,
schedules, problems, scenes), which the window builds itself from before JAX is imported
(:mod:`gdviz.core.deferred`, which also puts JAX in float64).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

if TYPE_CHECKING:
    import jax

Array: TypeAlias = "jax.Array"
"""A JAX array (traced or concrete)."""

Params: TypeAlias = "jax.Array"
"""The two trainable parameters, shape ``(2,)``."""

Consts: TypeAlias = "dict[str, jax.Array]"
"""A problem's scalar constants (condition number, ...): traced, so editing them never recompiles."""

Batch: TypeAlias = "tuple[jax.Array, ...]"
"""``(x, y)`` of a data problem's current mini-batch, or ``()`` for an analytic function."""

LossFn: TypeAlias = "Callable[[Params, Consts, Batch], jax.Array]"
"""``loss(params, consts, batch) -> scalar``: pure and module-level, so it keys the compile cache."""

PredictFn: TypeAlias = "Callable[[Params, Consts, jax.Array], jax.Array]"
"""``predict(params, consts, x) -> y_hat`` for problems whose parameters fit data."""

NDArray: TypeAlias = np.ndarray[Any, np.dtype[Any]]
"""A numpy array handed across the core/UI border."""
