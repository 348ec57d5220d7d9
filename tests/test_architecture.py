"""The import graph of `src/lut` follows docs/ARCHITECTURE.md: no cycles, every import points down the layers."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

# Imports that point up or sideways on purpose: (importing module, imported module) -> why. Each must be a lazy
# import (inside a function) with a comment beside it in the source; an entry that no longer matches an import
# fails the test, so the list stays exact.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def layer_table(text: str) -> dict[str, int]:
    """Package -> layer number, from the table between the `layers` markers of docs/ARCHITECTURE.md."""
    block = text.split("<!-- layers:", 1)[1].split("<!-- end of layers -->", 1)[0]
    layers = {}
    for row in re.findall(r"^\| (\d+) \| ([^|]+) \|", block, flags=re.MULTILINE):
        for package in re.findall(r"`([a-z_]+)`", row[1]):
            layers[package] = int(row[0])
    return layers


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module under src/lut (a package by its `__init__.py`)."""
    modules = {}
    for path in sorted((SOURCE / "lut").rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_names(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """(dotted name, line, inside a function) of every `lut` import in a module; `from A import b` gives `A.b`."""
    package = module if is_package else module.rpartition(".")[0]
    lazy_lines = {node.lineno for function in ast.walk(tree)
                  if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
                  for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)}
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno, node.lineno in lazy_lines) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names += [(f"{base}.{alias.name}", node.lineno, node.lineno in lazy_lines) for alias in node.names]
    return [(name, line, lazy) for name, line, lazy in names if name == "lut" or name.startswith("lut.")]


def import_graph() -> dict[str, dict[str, tuple[int, bool]]]:
    """Importing module -> {imported module: (line, lazy)}, over modules of src/lut (an imported name that is
    not a module counts as its module)."""
    modules = module_files()
    graph: dict[str, dict[str, tuple[int, bool]]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: dict[str, tuple[int, bool]] = {}
        for name, line, lazy in imported_names(tree, module, path.name == "__init__.py"):
            while name not in modules:
                name = name.rpartition(".")[0]
            if name != module and not (name in edges and not edges[name][1]):
                edges[name] = (line, lazy)
        graph[module] = edges
    return graph


def package_of(module: str) -> str:
    """`lut.data.shards` -> `data`, `lut.cli` -> `cli`, `lut` -> `lut`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(graph: dict[str, dict[str, tuple[int, bool]]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, tuple[int, bool]]]:
    return import_graph()


def test_layer_table_names_every_package_once():
    text = ARCHITECTURE.read_text()
    table = text.split("<!-- layers:", 1)[1].split("<!-- end of layers -->", 1)[0]
    named = [package for row in re.findall(r"^\| \d+ \| ([^|]+) \|", table, flags=re.MULTILINE)
             for package in re.findall(r"`([a-z_]+)`", row)]
    assert sorted(named) == sorted({package_of(module) for module in module_files()})
    assert layer_table(text)["cli"] == 1 and layer_table(text)["errors"] == max(layer_table(text).values())


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_cycle_finder_finds_a_planted_cycle():
    planted = {"a": {"b": (1, False)}, "b": {"c": (1, False)}, "c": {"a": (1, True)}, "d": {"a": (1, False)}}
    assert cycles(planted) == [["a", "b", "c"]]


def wrong_imports(graph: dict[str, dict[str, tuple[int, bool]]], layers: dict[str, int],
                  allowed: dict[tuple[str, str], str]) -> list[str]:
    """Every import into another package of the same or a higher layer, unless allowed (and lazy)."""
    wrong = []
    for module, edges in graph.items():
        for imported, (line, lazy) in edges.items():
            source, target = package_of(module), package_of(imported)
            if source == target or layers[target] > layers[source] or ((module, imported) in allowed and lazy):
                continue
            wrong.append(f"{module}:{line} imports {imported} (layer {layers[source]} -> {layers[target]})")
    return wrong


def test_imports_point_down_the_layers(graph):
    assert wrong_imports(graph, layer_table(ARCHITECTURE.read_text()), ALLOWED_UPWARD) == []


def test_upward_sideways_and_unexplained_lazy_imports_are_found():
    layers = {"commands": 2, "training": 5, "segmentation": 5, "evaluation": 7}
    planted = {
        "lut.evaluation.knn": {"lut.training.pretrain": (3, False)},  # up
        "lut.training.pretrain": {"lut.segmentation.model": (4, True),  # sideways, lazy but not allowed
                                  "lut.training.teacher": (5, False), "lut.evaluation.knn": (6, False)},
        "lut.segmentation.model": {"lut.commands.segment": (7, True)},  # up, lazy and allowed
        "lut.commands.segment": {"lut.segmentation.model": (8, False)},
    }
    allowed = {("lut.segmentation.model", "lut.commands.segment"): "the reason"}
    assert wrong_imports(planted, layers, allowed) == [
        "lut.evaluation.knn:3 imports lut.training.pretrain (layer 7 -> 5)",
        "lut.training.pretrain:4 imports lut.segmentation.model (layer 5 -> 5)",
    ]


def test_allowed_upward_imports_are_still_there_and_lazy(graph):
    for (module, imported), why in ALLOWED_UPWARD.items():
        assert why
        assert imported in graph[module], f"{module} no longer imports {imported}: drop it from ALLOWED_UPWARD"
        assert graph[module][imported][1], f"{module} imports {imported} at module level"


def test_relative_and_from_imports_resolve_to_modules():
    tree = ast.parse("from lut.data.shards import expand_shards\nfrom . import held_out\n"
                     "def f():\n    import lut.errors\n")
    names = imported_names(tree, "lut.data.sources", is_package=False)
    assert names == [("lut.data.shards.expand_shards", 1, False), ("lut.data.held_out", 2, False),
                     ("lut.errors", 4, True)]
