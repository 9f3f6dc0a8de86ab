"""The rooms of the code: core/ is pure torch and numpy, draw_gui/ imports without cycles, the
command line parses without Qt, and the code passes its own lint configuration."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "draw_gui")


def _modules() -> dict[str, Path]:
    """'draw_gui.cli.main' -> its file, for every module of the two packages."""
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `name` imports, at the top or inside a function (a lazy import
    is still a dependency: a cycle through one breaks as soon as the import moves up)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # importing a.b.c runs a/__init__ and a/b/__init__ first: those edges are not choices
        parents = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")))}
        graph[name] = _imports(name, path, known) - parents
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert len(graph) > 60 and "draw_gui.cli.main" in graph["draw_gui.__main__"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_core_imports_neither_qt_nor_draw_gui():
    for name, path in _modules().items():
        if not name.startswith("core"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                assert n.split(".")[0] not in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "draw_gui"), \
                    f"{path.relative_to(REPO)} imports {n}: core/ is pure torch and numpy"


def test_the_command_line_parses_without_importing_qt():
    code = ("import sys; from draw_gui.cli.main import build_parser; "
            "args = build_parser().parse_args(['train', '--num_glimpses', '8', '--maxEpochs', '2']); "
            "import draw_gui.__main__; "
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')); "
            "print(args.epochs, qt)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "[]"]


def test_no_module_docstring_points_outside_the_repository():
    for path in _modules().values():
        text = path.read_text()
        for outside in ("../shared", "shared/docs", "draw-model.md", "style.md", "docs/ui.md"):
            assert outside not in text, f"{path.relative_to(REPO)} refers to {outside}, which a clone lacks"


def test_the_code_passes_its_lint_configuration():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[dev]' installs it)")
    out = subprocess.run([ruff, "check", "--no-cache", "."], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]


def test_every_package_folder_is_installed():
    """pyproject.toml lists the packages a wheel installs: a subpackage missing there works in a
    checkout and is absent from `pip install draw-gui`."""
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(REPO).parts) for package in PACKAGES
               for p in (REPO / package).rglob("__init__.py")}
    assert folders - listed == set(), "add these to [tool.setuptools] packages"
