"""The import graph between subpackages has no cycles, and ``node`` never imports ``coordinator``.

The graph is read statically from the source with ``ast``: every ``import`` and ``from ...
import`` statement counts wherever it stands — at module level, inside a function (a deferred
import is still a dependency), and under ``if TYPE_CHECKING:`` (a type is still a dependency).
A node of the graph is a subpackage one level below a top-level package (``node.audit``,
``coordinator.jobs``); a module directly in a top-level package is its own node. Imports inside
one subpackage are not edges.

A cycle means neither side can be understood, tested or moved without the other. The usual
fix is to move the piece both need one layer down (as ``node/pki/roles.py``, ``node/state/db.py``
and ``node/audit/sink.py`` were), or to move the piece that assembles others one layer up (as
``node/jobtypes/registry.py`` was).
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOPS = ("node", "coordinator")


@dataclass(frozen=True)
class Edge:
    """One import that crosses from one subpackage to another."""

    source: str
    target: str
    where: str  # file:line of the import statement

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.where})"


def _module_name(path: Path) -> tuple[str, list[str]]:
    """The dotted name of the module at ``path`` and the package its relative imports start at."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def _unit(module: str) -> str | None:
    """The graph node a module belongs to, or None for modules outside our packages."""
    parts = module.split(".")
    if parts[0] not in TOPS:
        return None
    if len(parts) == 1:
        return parts[0]
    candidate = REPO.joinpath(*parts[:2])
    if candidate.is_dir() or candidate.with_suffix(".py").exists():
        return ".".join(parts[:2])
    return parts[0]  # a name imported from the top-level package itself


# calls whose first argument, a string constant, names a module imported at run time
_IMPORTING_CALLS = frozenset({"Deferred", "import_module"})


def _imported(node: ast.AST, package: list[str]) -> list[str]:
    """The dotted names an import statement or an importing call reads (module names and
    ``module.name`` forms)."""
    if isinstance(node, ast.Call):
        return _imported_by_call(node)
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package[: len(package) - (node.level - 1)]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def _imported_by_call(call: ast.Call) -> list[str]:
    """The module a ``Deferred("module:function")`` or ``import_module("module")`` names."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in _IMPORTING_CALLS or not call.args:
        return []
    first = call.args[0]
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return []
    return [first.value.partition(":")[0]]


@functools.cache
def import_edges() -> tuple[Edge, ...]:
    """Every import statement in ``node`` and ``coordinator`` that crosses subpackages.

    Read once per run (parsing every module takes a second or two), shared by the tests.
    """
    edges: list[Edge] = []
    for top in TOPS:
        for path in sorted((REPO / top).rglob("*.py")):
            if "_pb2" in path.name:
                continue
            module, package = _module_name(path)
            source = _unit(module)
            assert source is not None
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                for name in _imported(node, package):
                    target = _unit(name)
                    if target is not None and target != source and target not in TOPS:
                        where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"
                        edges.append(Edge(source, target, where))
    return tuple(edges)


def cycles(edges: Sequence[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one subpackage (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_cycle_between_subpackages() -> None:
    # prepare: the static import graph
    edges = import_edges()

    # execute: its strongly connected components
    found = cycles(edges)

    # assert: none, and the message lists the imports that close each cycle
    report = [
        f"cycle {' <-> '.join(component)}:\n  "
        + "\n  ".join(str(e) for e in edges if e.source in component and e.target in component)
        for component in found
    ]
    assert found == [], "\n".join(report)


def test_the_registrys_deferred_protocol_code_counts_as_imports() -> None:
    edges = {(e.source, e.target) for e in import_edges()}
    assert ("node.jobtypes", "node.training") in edges
    assert ("node.jobtypes", "node.psi") in edges


def test_node_never_imports_coordinator() -> None:
    edges = import_edges()
    upward = [str(e) for e in edges if e.source.startswith("node") and e.target.startswith("coord")]
    assert upward == [], "\n".join(upward)


def test_the_graph_sees_deferred_type_only_and_named_imports(tmp_path: Path) -> None:
    # prepare: a function-level and a TYPE_CHECKING import, and modules named by string,
    # as the graph reads them
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from node.jobs.context import PartyContext\n"
        "def f():\n    from ..psi import job\n"
        "run = Deferred('node.scoring.job:run')\n"
        "module = importlib.import_module('node.audit.sink')\n"
        "other = import_module(name)\n"
    )
    tree = ast.parse(source)

    # execute
    names = [n for node in ast.walk(tree) for n in _imported(node, ["node", "training"])]

    # assert: all count, the relative one resolved against its package; a computed name cannot
    assert "node.jobs.context" in names
    assert "node.psi.job" in names
    assert {"node.scoring.job", "node.audit.sink"} <= set(names)
    assert _unit("node.jobs.context.PartyContext") == "node.jobs"


def test_a_cycle_is_found() -> None:
    # prepare: two subpackages that import each other, and one that only imports
    edges = [
        Edge("node.a", "node.b", "a.py:1"),
        Edge("node.b", "node.a", "b.py:1"),
        Edge("node.c", "node.a", "c.py:1"),
    ]

    # execute / assert
    assert cycles(edges) == [["node.a", "node.b"]]
