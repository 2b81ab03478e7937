"""JAX, ``jax.numpy`` and optax for the core, imported on their first use (and JAX put in float64).

Every core module takes them from here (``from gdviz.core.deferred import jax, jnp, optax``)
instead of importing them: a module that only defines tables (the rules, schedules, problems,
scenes) then costs no JAX import, and the window is built and on screen before JAX is loaded.
Importing JAX (0.65-0.8 s), its backend (0.12-0.18 s) and optax (0.1-0.14 s) came before the
window's first frame. Measured with ``gdviz bench``'s start-up code, warm compile cache, eight
launches each alternating on a 2-core machine at load ~2: window shown 2.76 -> 1.75 s (2.56 ->
1.28 s with bytecode caches), first paths 3.53 -> 3.48 s (3.30 -> 3.21 s): the same work, the
window first.

Why deferred names rather than a JAX-free "table" half of each core module: the same start-up
(nothing of the window's construction needs JAX) for one import line per module, and no module
split in two whose halves must be kept in step. Each name is a :class:`Deferred` until first
touched; then the real module is imported (``importlib.import_module``, which holds the
module's import lock, so two threads touching it at once both get the finished module: Python
3.11's ``importlib.util.LazyLoader`` is not thread-safe), JAX is switched to float64, and every
gdviz module's global that held the stand-in is rebound to the module itself: later uses cost
nothing, and ``from gdviz.core.deferred import jax`` after that gives the module.

Float64 (``jax_enable_x64``) is switched on before the first use returns, and at once when JAX
was imported before this module: paths are compared with plain-loop references to 1e-9, which
float32 cannot hold. What a module would do with JAX at import waits for it too: pytree classes
(:func:`register_pytree_node_class`), the window's compile cache (:func:`when_loaded`), tables
of JAX functions (:func:`function`), jitted functions made on first use.

Loading JAX on a thread while the window is built does not help on two cores: the imports hold
the GIL (the window's imports took 0.9-1.25 s alone and 1.75-2.35 s beside a thread importing
JAX, which finished no sooner than after them). The window loads it after its first frame.

Type checkers see the real modules (the ``TYPE_CHECKING`` branch).
"""

from __future__ import annotations

import importlib
import operator
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = [
    "function",
    "jax",
    "jnp",
    "load",
    "loaded",
    "optax",
    "ready",
    "register_pytree_node_class",
    "when_loaded",
]

_C = TypeVar("_C", bound=type)

_PENDING: list[Callable[[], None]] = []
"""What waits for JAX (pytree classes to register), run once by the first :func:`load`."""

_LOCK = threading.RLock()


def _float64(jax_module: ModuleType) -> None:
    jax_module.config.update("jax_enable_x64", True)


def load(name: str) -> ModuleType:
    """Import ``name`` (``"jax"``, ``"jax.numpy"`` or ``"optax"``) with JAX in float64, and
    rebind every gdviz module's stand-in for it (and for JAX and ``jax.numpy``, whole once JAX
    is) to the module. Safe from any thread."""
    jax_module = importlib.import_module("jax")
    _float64(jax_module)
    with _LOCK:  # a second thread waits here until the first has run what waited for JAX
        while _PENDING:
            _PENDING.pop(0)()
    module = importlib.import_module(name)
    real = {"jax": jax_module, "jax.numpy": jax_module.numpy, name: module}
    swap = {id(_STAND_INS[n]): m for n, m in real.items()}  # (the stand-ins live for good)
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not (mod_name == "gdviz" or mod_name.startswith("gdviz.")):
            continue
        space = vars(mod)
        for key, value in list(space.items()):
            if id(value) in swap:
                space[key] = swap[id(value)]
    return module


def when_loaded(action: Callable[[ModuleType], object]) -> None:
    """Run ``action(jax)`` once JAX is loaded: at once if it is, else within the first
    :func:`load`, before any use of JAX returns (so before anything is traced or compiled)."""
    with _LOCK:
        _PENDING.append(lambda: action(importlib.import_module("jax")))
    if loaded():
        load("jax")


def register_pytree_node_class(cls: _C) -> _C:
    """``jax.tree_util.register_pytree_node_class`` as a class decorator, done when JAX loads
    (at once if it is loaded): before any JAX function can see an instance."""
    when_loaded(lambda jax: jax.tree_util.register_pytree_node_class(cls))
    return cls


def loaded() -> bool:
    """Whether JAX has been imported in this process (by gdviz or anyone)."""
    return "jax" in sys.modules


def ready() -> bool:
    """Whether JAX, ``jax.numpy`` and optax have been loaded through :func:`load` (each gdviz
    use of them is then the module itself, and costs no import)."""
    space = globals()
    return not any(isinstance(space[name], Deferred) for name in ("jax", "jnp", "optax"))


def function(path: str) -> Callable[..., Any]:
    """The function at ``path`` (``"jax.numpy.tanh"``, ``"optax.adam"``), looked up at each
    call: for tables of functions (a formula's functions, a network's activations, the rules'
    optax factories) that the window reads before JAX is imported. They are called while a
    program is traced, so the lookup costs nothing in compiled code."""
    root, _, rest = path.partition(".")
    if root not in ("jax", "optax"):
        raise ValueError(f"{path!r}: a function of jax or optax")
    get = operator.attrgetter(rest)
    space = globals()

    def call(*args: Any, **kwargs: Any) -> Any:
        return get(space[root])(*args, **kwargs)

    call.__name__ = call.__qualname__ = path.rpartition(".")[2]
    call.__doc__ = f"{path}, imported on first use (gdviz.core.deferred)."
    return call


class Deferred:
    """A stand-in for a module, imported on the first attribute read (see the module's doc)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(load(object.__getattribute__(self, "_name")), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(load(object.__getattribute__(self, "_name")), attr, value)

    def __repr__(self) -> str:
        return f"<deferred module {object.__getattribute__(self, '_name')!r}>"


if TYPE_CHECKING:
    import jax
    import jax.numpy as jnp
    import optax
else:
    jax = Deferred("jax")
    jnp = Deferred("jax.numpy")
    optax = Deferred("optax")

_STAND_INS: dict[str, Any] = {"jax": jax, "jax.numpy": jnp, "optax": optax}

if "jax" in sys.modules:  # imported already (a test, a notebook): float64 now, as before
    _float64(sys.modules["jax"])
