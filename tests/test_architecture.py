"""DESIGN.md's layers as tests: the import-linter contracts hold, and no modules import in a cycle.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``; ``lint-imports`` runs the same
ones in CI). The cycle check covers every import, function-level ones included, except those under
``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter import api
from importlinter.application import use_cases

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
CONTRACTS = [c["id"] for c in api.read_configuration(str(PYPROJECT))["contracts_options"]]


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract_is_kept(contract: str, capsys: pytest.CaptureFixture[str]) -> None:
    kept = use_cases.lint_imports(
        str(PYPROJECT), limit_to_contracts=(contract,), cache_dir=None, no_logo=True
    )
    assert kept, capsys.readouterr().out


def _packages() -> list[str]:
    """``nasforge`` (the facade module) and each of its modules and subpackages, not imported."""
    spec = importlib.util.find_spec("nasforge")
    assert spec is not None and spec.submodule_search_locations is not None
    children = pkgutil.iter_modules(list(spec.submodule_search_locations))
    return ["nasforge", *sorted(f"nasforge.{m.name}" for m in children)]


def _in(module: str, package: str) -> bool:
    return module == package or (package != "nasforge" and module.startswith(package + "."))


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("nasforge", exclude_type_checking_imports=True, cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> Iterator[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    imports = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, todo = work[-1]
            for imported in todo:
                if imported not in index:
                    index[imported] = low[imported] = len(index)
                    stack.append(imported)
                    on_stack.add(imported)
                    work.append((imported, iter(imports[imported])))
                    break
                if imported in on_stack:
                    low[module] = min(low[module], index[imported])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        yield sorted(component)


def _describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    """The imports that close the cycle, with their line numbers."""
    lines = []
    for importer in component:
        for imported in component:
            if graph.direct_import_exists(importer=importer, imported=imported):
                details = graph.get_import_details(importer=importer, imported=imported)
                where = ", ".join(f"l.{d['line_number']}" for d in details)
                lines.append(f"  {importer} -> {imported} ({where})")
    return "\n".join(lines)


@pytest.mark.parametrize("package", _packages())
def test_no_import_cycles(package: str, graph: grimp.ImportGraph) -> None:
    cycles = [c for c in _cycles(graph) if any(_in(m, package) for m in c)]
    assert not cycles, "modules that import each other in a cycle:\n" + "\n".join(
        _describe(graph, c) for c in cycles
    )


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert list(_cycles(graph)) == [["p.a", "p.b", "p.c"]]
