"""Test-wide settings: strict ranks in JAX, a headless Qt platform."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The commands the tests start keep their JAX compile cache in a folder of this run, not the
# user's: nothing written to a real home, and no race with a window or another run using it. The
# first process of the run makes it (pytest's own, or xdist's controller, which starts the workers
# after loading this file); the workers inherit it through the environment and share it.
_CACHE = os.environ.get("GDVIZ_TEST_CACHE_ROOT", "")
if not _CACHE:
    _CACHE = tempfile.mkdtemp(prefix="gdviz-test-cache-")
    os.environ["GDVIZ_TEST_CACHE_ROOT"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["XDG_CACHE_HOME"] = _CACHE
# The tests' own compiled programs go to a persistent cache of this run too, and so do those of
# the Python processes they start (JAX reads these variables; the window's commands keep their own
# folder under XDG_CACHE_HOME): a program one worker compiled, or one the simulate LRU evicted,
# loads in ~20 ms instead of compiling again (~1 s). tests/core/test_rules_more.py alone: 53 s of
# CPU without it, 50 s with an empty cache, 14 s with the cache its first run left. A torn read
# (two workers writing one entry) is a JAX warning and a compile.
os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(_CACHE, "jax-tests")
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"

import jax  # noqa: E402

import gdviz.core.scene  # noqa: E402,F401  (JAX in float64, every problem registered, before any test)

# Rank promotion hides shape bugs (a (2,) meeting a (n, 2)); strict dtype promotion is *not* set:
# optax.adam raises under it with x64.
jax.config.update("jax_numpy_rank_promotion", "raise")
