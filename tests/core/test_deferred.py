"""JAX and optax imported on first use (gdviz.core.deferred): what the window's start-up relies on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

THREADS = """
import sys, threading
import gdviz.core.scene, gdviz.core.simulate, gdviz.core.surface, gdviz.core.basins
import gdviz.core.tune, gdviz.core.weightspace, gdviz.core.status, gdviz.core.teaching
from gdviz.core import problems
simulate = sys.modules["gdviz.core.simulate"]  # (gdviz.core.simulate is the function)
print("jax" in sys.modules, "optax" in sys.modules)
barrier = threading.Barrier(4)
dtypes = []

def first_use():
    barrier.wait()  # four threads touch the stand-ins at once
    dtypes.append(str(problems.jnp.asarray(1.0).dtype))

threads = [threading.Thread(target=first_use) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(",".join(dtypes))
print(problems.jnp is sys.modules["jax.numpy"], simulate.jax is sys.modules["jax"])
import jax
paths = simulate.Paths(np.zeros((3, 1, 4)), np.zeros(1))
print(len(jax.tree_util.tree_leaves(paths)))
"""


def test_the_core_imports_without_jax_and_loads_it_once_from_any_thread() -> None:
    """Every computing module imports without JAX; four threads touching it first at once all
    get it in float64; the modules' stand-ins are rebound to the real modules, and the pytree
    classes registered."""
    code = "import numpy as np\n" + THREADS
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, dtypes, rebound, leaves = out.stdout.strip().splitlines()
    assert before == "False False"
    assert dtypes == ",".join(["float64"] * 4)
    assert rebound == "True True"
    assert leaves == "2"  # Paths: its table and divergence steps, not one opaque leaf


def test_tables_of_functions_call_jax_s_own() -> None:
    import jax
    import jax.numpy as jnp

    from gdviz.core.deferred import function
    from gdviz.core.expression import FUNCTIONS
    from gdviz.core.mlp import ACTIVATIONS
    from gdviz.core.optimizers import RULES

    x = jnp.array([-1.5, 0.25, 2.0])
    np.testing.assert_array_equal(FUNCTIONS["asin"].jax_fn(x / 2), jnp.arcsin(x / 2))
    np.testing.assert_array_equal(FUNCTIONS["erf"].jax_fn(x), jax.lax.erf(x))
    np.testing.assert_array_equal(ACTIVATIONS["relu"](x), jax.nn.relu(x))
    assert FUNCTIONS["sin"].jax_fn.__name__ == "sin"
    tx = RULES["adam"].transform("optax", {"learning_rate": 0.1})
    state = tx.init(x)
    step, _ = tx.update(x, state, x)
    np.testing.assert_allclose(step, -0.1 * jnp.sign(x), rtol=1e-6)  # Adam's first step: -lr·sign
    with pytest.raises(ValueError, match="jax or optax"):
        function("numpy.sin")
