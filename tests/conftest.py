"""Test-wide settings: strict ranks in JAX, a headless Qt platform."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The commands the tests start keep their JAX compile cache in a folder of this run, not the
# user's: nothing written to a real home, and no race with a window or another run using it.
_CACHE = tempfile.mkdtemp(prefix="gdviz-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import jax  # noqa: E402

import gdviz.core.scene  # noqa: E402,F401  (JAX in float64, every problem registered, before any test)

# Rank promotion hides shape bugs (a (2,) meeting a (n, 2)); strict dtype promotion is *not* set:
# optax.adam raises under it with x64.
jax.config.update("jax_numpy_rank_promotion", "raise")
