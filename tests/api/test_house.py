"""The house rules of the package's layout: each concept defined once, no import circle, no private name imported
across modules."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from ganprior import data


def test_data_root_rule(monkeypatch, tmp_path):
    """$GANPRIOR_DATA, else ../shared/data beside the checkout; installed (no checkout) without it: an error."""
    monkeypatch.setenv("GANPRIOR_DATA", str(tmp_path))
    assert data.default_data_root() == tmp_path
    monkeypatch.delenv("GANPRIOR_DATA")
    assert data.default_data_root() == REPO_ROOT.parent / "shared" / "data"
    monkeypatch.setattr(data, "_checkout", lambda: None)
    with pytest.raises(FileNotFoundError, match="GANPRIOR_DATA"):
        data.default_data_root()


# ---------------------------------------------------------------------- the import graph
PACKAGE = REPO_ROOT / "ganprior"


def package_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package is its ``__init__.py``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _import_froms(name: str, path: Path, toplevel_only: bool):
    """(target module, imported names, line) of each ``import`` / ``from ... import`` in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in (tree.body if toplevel_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [alias.name for alias in node.names], node.lineno


def import_graph(toplevel_only: bool) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a submodule imported by name counts as itself)."""
    modules = package_modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target, names, _ in _import_froms(name, path, toplevel_only):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            edges.update(subs)
            if target in modules and len(subs) < len(names) or (not names and target in modules):
                edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_no_import_circle_at_import_time():
    """The imports a module runs when it is imported (its top-level statements) form no circle."""
    assert import_circles(import_graph(toplevel_only=True)) == []


def test_operators_have_no_import_circle_even_through_deferred_imports():
    """The bases and the transforms (once ganprior/bases.py and operators/transforms.py, importing each other)
    are one layer: no circle within ganprior.operators counting the imports inside functions too."""
    graph = import_graph(toplevel_only=False)
    inside = {m: {t for t in e if t.startswith("ganprior.operators")} for m, e in graph.items()
              if m.startswith("ganprior.operators")}
    assert import_circles(inside) == []
    assert not {t for t in graph["ganprior.operators.transforms"] if "bases" in t}


def test_no_import_circle_through_deferred_imports():
    """Counting the imports inside functions too, the modules form no circle: a lower layer (the settings, the
    registry, the engine, the priors' recipes) never imports a higher one, not even inside a function."""
    assert import_circles(import_graph(toplevel_only=False)) == []


def test_each_module_imports_first():
    """Every module imports when it is the first ganprior module imported (one interpreter, the package's modules
    dropped from sys.modules before each)."""
    names = sorted(package_modules())
    # each module's bytecode compiled once, into a throw-away folder (with PYTHONDONTWRITEBYTECODE set, as on CI,
    # every round compiled the whole package again: three quarters of this test's 9.5 s)
    code = ("import importlib, sys, tempfile\nsys.dont_write_bytecode = False\nfailed = []\n"
            "with tempfile.TemporaryDirectory() as cache:\n    sys.pycache_prefix = cache\n    for name in %r:\n"
            "        for m in [m for m in sys.modules if m == 'ganprior' or m.startswith('ganprior.')]:\n"
            "            del sys.modules[m]\n"
            "        try:\n            importlib.import_module(name)\n"
            "        except Exception as e:\n            failed.append(f'{name}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(failed))\nsys.exit(1 if failed else 0)\n") % (names,)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]


# ---------------------------------------------------------------------- private names stay in their module
def private_imports() -> list[str]:
    """``module:line: name from target`` for each module-private name (one underscore, not a dunder) that a module
    of the package imports from another of its modules (``from .x import _y``, ``from ganprior.x import _y``);
    a private *module* imported by name (``from . import _convert``) is not one."""
    modules = package_modules()
    found = []
    for name, path in modules.items():
        for target, names, line in _import_froms(name, path, toplevel_only=False):
            if target != "ganprior" and not target.startswith("ganprior."):
                continue
            for imported in names:
                if imported.startswith("_") and not imported.startswith("__") \
                        and f"{target}.{imported}" not in modules:
                    found.append(f"{name}:{line}: {imported} from {target}")
    return found


# the offenders left in modules another change owns (the method registry and its command line)


def test_no_private_import_across_modules():
    """No module imports another module's private name (make a helper public where it is shared)."""
    found = private_imports()
    assert found == [], "private names imported across modules:\n" + "\n".join(found)
