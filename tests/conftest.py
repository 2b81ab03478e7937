"""Test-wide settings: strict ranks in JAX, a headless Qt platform."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import jax  # noqa: E402

import gdviz.core  # noqa: E402,F401  (switches JAX to float64 before any test builds arrays)

# Rank promotion hides shape bugs (a (2,) meeting a (n, 2)); strict dtype promotion is *not* set:
# optax.adam raises under it with x64.
jax.config.update("jax_numpy_rank_promotion", "raise")
