"""The package's shape: no import cycle, the runtime loads no lab code, nothing runs at import."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import livekey

PACKAGE = Path(livekey.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Module-level imports, ``if TYPE_CHECKING`` ones too (a cycle through type hints is still a
    cycle to the reader); not the lazy ones inside functions."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [n for h in node.handlers for n in h.body]
    return found


def import_graph() -> dict[str, set[str]]:
    """{module: the livekey modules it imports at import time}."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, set())
        for node in _top_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:  # from PKG import MODULE depends on the module; from MODULE import NAME on the module
                submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                whole = len(submodules) < len(node.names)
                targets = submodules + ([node.module] if whole else [])
            edges |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "livekey.runtime.pipeline" in graph and "livekey.media.sinks" in graph
    assert find_cycle(graph) is None, find_cycle(graph)


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_runtime_imports_no_lab_module_and_runs_nothing_at_import():
    """In a fresh interpreter: the command line (with its parser built), the pipeline, the window
    and the engine load no ``livekey.lab`` module, set no OpenMP policy and check no kernel cache."""
    code = ("import os, sys\n"
            "import livekey.cli, livekey.runtime.pipeline, livekey.runtime.startup, livekey.ui.window\n"
            "import livekey.engine.keyer, livekey.media.sources, livekey.media.backdrops, livekey.media.sinks\n"
            "livekey.cli.build_parser()\n"
            "from livekey.engine import kernel_cache\n"
            "print(sorted(m for m in sys.modules if m.startswith('livekey.lab')))\n"
            "print(os.environ.get('OMP_WAIT_POLICY'), kernel_cache._checked)\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | {"QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    lab, side_effects = out.stdout.splitlines()
    assert lab == "[]" and side_effects == "None False", out.stdout


def test_the_top_level_exports_what_a_library_user_builds_lazily():
    code = ("import sys, livekey\n"
            "print(sorted(m for m in ('numba', 'cv2', 'PyQt5') if m in sys.modules))\n"
            "from livekey import Keyer, MaskLayer, MaskStack, Pipeline, Profile, Settings\n"
            "from livekey.engine.keyer import Keyer as K\n"
            "print(Keyer is K, 'PyQt5' in sys.modules, sorted(livekey.__all__))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]", out
    assert out[1].startswith("True False ['Keyer', 'LivekeyError', 'MaskLayer', 'MaskStack', 'Pipeline'"), out
    assert livekey.__getattr__("Settings").__module__ == "livekey.config.settings"
