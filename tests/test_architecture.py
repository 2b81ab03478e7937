"""The layers of DESIGN.md, kept: imports run one way (core <- export <- ui <- cli).

Every module under gdviz/ is parsed with ``ast`` and every import in it is read, at module level
and inside functions, classes and ``if TYPE_CHECKING:`` blocks alike (a deferred import is still an
edge). The graph of gdviz-internal edges must break none of these rules:

- core imports nothing of ours outside core, and no module of core imports another in a loop;
- export imports only core and export;
- ui imports no cli;
- nothing imports cli, except ``gdviz/__main__.py``;
- no Qt (PySide6, shiboken6, pyqtgraph, OpenGL) under core or export; no imageio under core
  (export's video writer uses imageio-ffmpeg).

A failure names each forbidden edge as ``file:line imports module``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gdviz

QT = ("PySide6", "pyqtgraph", "shiboken6")
PACKAGE = Path(gdviz.__file__).parent
QT_ROOTS = {"PySide6", "shiboken6", "pyqtgraph", "OpenGL"}
IMAGEIO_ROOTS = {"imageio", "imageio_ffmpeg"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import in the file, absolute, at any depth.

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module of ours, else to ``a.b``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else module))
    return list(dict.fromkeys(found))  # `from a import b, c` is one edge per module


def _layer(module: str) -> str:
    """core, export, ui, cli, or top (gdviz itself, __main__, bench, scenes)."""
    parts = module.split(".")
    if parts[0] != "gdviz":
        return "outside"
    if len(parts) > 1 and parts[1] in ("core", "export", "ui", "cli"):
        return parts[1]
    return "top"


ALLOWED = {
    "core": {"core"},
    "export": {"core", "export"},
    "ui": {"core", "export", "ui", "top"},
    "top": {"core", "export", "ui", "top"},
    "cli": {"core", "export", "ui", "top", "cli"},
}
"""Which layers' modules a layer may import (``cli`` only by ``gdviz.__main__``, checked apart)."""


def _graph() -> dict[str, list[tuple[int, str]]]:
    return {name: _imports(name, path) for name, path in MODULES.items()}


def _where(module: str, line: int) -> str:
    path = MODULES.get(module)
    name = path.relative_to(PACKAGE.parent).as_posix() if path else module.replace(".", "/") + ".py"
    return f"{name}:{line}"


def forbidden_edges(graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    """Every import that breaks a layer rule, as readable sentences."""
    bad = []
    for module, imports in graph.items():
        layer = _layer(module)
        for line, target in imports:
            root = target.split(".")[0]
            where = f"{_where(module, line)} imports {target}"
            if root == "gdviz":
                if target.startswith("gdviz.cli") and module != "gdviz.__main__":
                    bad.append(f"{where}: nothing imports cli (only gdviz/__main__.py)")
                elif _layer(target) not in ALLOWED[layer] and _layer(target) != "cli":
                    bad.append(f"{where}: {layer} must not import {_layer(target)}")
            elif layer in ("core", "export") and root in QT_ROOTS:
                bad.append(f"{where}: no Qt under {layer}")
            elif layer == "core" and root in IMAGEIO_ROOTS:
                bad.append(f"{where}: no imageio under core")
    return bad


def core_cycles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Import loops among the modules of gdviz.core (the package's own __init__ included)."""
    core = {m for m in graph if _layer(m) == "core"}
    edges = {m: sorted({t for _, t in graph[m] if t in core and t != m}) for m in core}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == 1:
                cycles.append([*stack[stack.index(t) :], t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(core):
        if m not in state:
            visit(m)
    return cycles


def test_the_parser_sees_deferred_and_relative_imports() -> None:
    graph = _graph()
    cli = {t for _, t in graph["gdviz.cli"]}
    assert "gdviz.ui.app" in cli  # imported inside a function
    assert "gdviz.bench" in cli  # `from gdviz import bench` is the module
    assert "gdviz" in cli  # `from gdviz import __version__` is the package
    assert "gdviz.cli" in {t for _, t in graph["gdviz.__main__"]}
    assert len(graph) > 30


def test_the_rules_catch_what_they_name() -> None:
    made_up = {
        "gdviz.core.a": [(3, "gdviz.ui.theme"), (4, "PySide6.QtCore"), (5, "gdviz.core.b")],
        "gdviz.core.b": [(9, "gdviz.core.a"), (10, "imageio_ffmpeg")],
        "gdviz.export.video": [(7, "imageio_ffmpeg"), (8, "gdviz.ui.items")],
        "gdviz.ui.app": [(2, "gdviz.cli")],
    }
    bad = forbidden_edges({m: made_up.get(m, []) for m in MODULES} | made_up)
    assert any("imports gdviz.ui.theme: core must not import ui" in b for b in bad)
    assert any("PySide6.QtCore: no Qt under core" in b for b in bad)
    assert any("imageio_ffmpeg: no imageio under core" in b for b in bad)
    assert any("gdviz.ui.items: export must not import ui" in b for b in bad)
    assert any("imports gdviz.cli: nothing imports cli" in b for b in bad)
    assert not any("gdviz/export/video.py:7" in b for b in bad)
    assert core_cycles(made_up) == [["gdviz.core.a", "gdviz.core.b", "gdviz.core.a"]]


def test_imports_run_one_way() -> None:
    bad = forbidden_edges(_graph())
    assert not bad, "imports that DESIGN.md forbids:\n  " + "\n  ".join(bad)


def test_no_import_loops_in_the_core() -> None:
    loops = core_cycles(_graph())
    assert not loops, "import loops in gdviz.core:\n  " + "\n  ".join(" -> ".join(c) for c in loops)


@pytest.mark.parametrize("module", ["gdviz", "gdviz.core", "gdviz.cli", "gdviz.bench"])
def test_importing_loads_no_qt(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_sources_do_not_name_qt_or_the_ui() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        text = path.read_text()
        for word in ("PySide6", "pyqtgraph", "gdviz.ui", "imageio"):
            assert f"import {word}" not in text and f"from {word}" not in text, (path, word)


JAX_ROOTS = {"jax", "jaxlib", "optax"}


def test_the_core_takes_jax_and_optax_only_through_the_deferred_names() -> None:
    """The window is built from the core's tables before JAX is imported: no core module but
    :mod:`gdviz.core.deferred` (which also switches JAX to float64) imports JAX or optax at
    module level; inside a function (a submodule, once JAX is loaded) and for type checkers
    (``if TYPE_CHECKING:``) is fine."""
    eager = []
    for name, path in MODULES.items():
        if not name.startswith("gdviz.core.") or name == "gdviz.core.deferred":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            roots = []
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            if any(r in JAX_ROOTS for r in roots):
                eager.append(f"{name}:{node.lineno}")
    assert not eager, f"import JAX or optax at module level (use gdviz.core.deferred): {eager}"


def test_the_window_command_reaches_its_start_up_card_without_jax_or_pyqtgraph() -> None:
    """What runs before the card is shown: a JAX import there would delay it by ~1.4 s. (The
    Qt mirrors gdviz.ui puts in place for pyqtgraph are modules, but import nothing.)"""
    code = (
        "import sys, gdviz, gdviz.cli, gdviz.ui.app, gdviz.ui.splash, gdviz.core.files,"
        " gdviz.export.files\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('jax', 'optax', 'pyqtgraph') and type(sys.modules[m]).__name__ != '_Mirror')))\n"
        "import gdviz.core.problems, jax.numpy as jnp\n"
        "gdviz.core.problems.make_problem('quadratic').loss((1.0, 2.0))\n"
        "print(jnp.zeros(1).dtype)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, dtype = out.stdout.rstrip("\n").split("\n")
    assert heavy == ""
    assert dtype == "float64"  # the core's first computation switched JAX to float64


def test_the_api_names_stay_functions_after_their_modules_are_imported() -> None:
    code = (
        "import gdviz, gdviz.core.simulate, gdviz.core.surface\n"
        "from gdviz.core import simulate, surface\n"
        "import gdviz.core as core\n"
        "print(callable(simulate), callable(surface), callable(core.simulate),"
        " callable(gdviz.simulate), callable(gdviz.surface))\n"
        "print(len(gdviz.simulate(gdviz.load_scene('saddle-point'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, paths = out.stdout.split("\n")[:2]
    assert names == "True True True True True"
    assert int(paths) >= 2
