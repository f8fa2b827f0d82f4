import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None and sys.platform != "linux", reason="ruff missing")
def test_code_is_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def imports_between(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the project's modules it imports (at its top or inside a function; not under
    ``TYPE_CHECKING``), read from the source with ``ast``."""
    import ast

    modules = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (its nodes in order), or [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_the_package_and_the_pages_have_no_import_cycle_and_subpackages_point_one_way():
    """No module imports one that imports it back (even inside a function); among the package's
    subpackages imports run one way (teaching, results, training → models → digits); the package
    never imports Streamlit or a page."""
    graph = imports_between(ROOT, ("denoiser", "ui"))
    assert cycle_in(graph) == []
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check sees one

    def part(module: str) -> str:
        pieces = module.split(".")
        return pieces[1] if pieces[0] == "denoiser" and len(pieces) > 2 else module

    between = {}
    for module, targets in graph.items():
        if module.startswith("denoiser"):
            assert not any(t.startswith("ui") for t in targets), module
            for target in targets:
                if part(module) != part(target):
                    between.setdefault(part(module), set()).add(part(target))
    assert cycle_in(between) == []
    assert between["digits"] <= {"denoiser.fresh"} and between["models"] <= {"digits", "denoiser.fresh",
                                                                               "denoiser.models"}
    package = [p for p in (ROOT / "denoiser").rglob("*.py") if "import streamlit" in p.read_text()]
    assert package == []


def test_no_page_imports_another_page():
    """A page module draws itself when imported: importing one from another drew its widgets on
    the wrong page (Explore's buttons on Train). Shared code lives in ui's helpers or the package."""
    pages = {f"ui.{path.stem}" for path in (ROOT / "ui").glob("*.py")
             if "guarded(view_" in path.read_text() or path.read_text().rstrip().endswith("()")}
    assert {"ui.denoise", "ui.train", "ui.explore", "ui.learn"} <= pages
    graph = imports_between(ROOT, ("ui",))
    crossing = {page: sorted(graph.get(page, set()) & pages) for page in pages}
    assert {page: found for page, found in crossing.items() if found} == {}
    assert not set().union(*(graph[m] for m in graph if m not in pages)) & pages  # nor does a helper
