"""The import layering of docs/architecture.md, checked on the source with :mod:`ast`.

Imports point down the list of layers, never up, and the module graph has no cycles. Imports
inside ``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Top to bottom. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("development", ("localdev",)),
    ("handlers", ("app",)),
    ("entry points", ("chalicelib.wiring", "chalicelib.health", "chalicelib.migrate_cli",
                      "chalicelib.collections.handlers", "chalicelib.pages.handlers", "chalicelib.tasks.handlers",
                      "chalicelib.vendors.handlers", "chalicelib.vendors.api", "chalicelib.vendors.import_cli",
                      "chalicelib.collections.reembed_cli")),
    ("http and bootstrap", ("chalicelib.bootstrap", "chalicelib.web", "chalicelib.auth", "chalicelib.cors",
                            "chalicelib.openapi", "chalicelib.console")),
    ("products", ("chalicelib.collections", "chalicelib.pages", "chalicelib.tasks", "chalicelib.vendors")),
    ("adapters", ("chalicelib.aws", "chalicelib.providers", "chalicelib.invoke", "chalicelib.db")),
    ("ports", ("chalicelib.ports", "chalicelib.paging", "chalicelib.statuses")),
    ("settings", ("chalicelib.errors", "chalicelib.secrets", "chalicelib.settings", "chalicelib.tracing", "chalicelib.logs",
                  "chalicelib.observability", "chalicelib.timeutil")),
]

#: The one sanctioned upward edge: app.py installs the emulator when STAGE is local.
ALLOWED_UPWARD = {("app", "localdev.stage")}

#: Upward edges still to be inverted (none now: the agents see their tools through
#: ``ports.Tools``). Do not add to this list.
KNOWN_UPWARD: set[tuple[str, str]] = set()

PACKAGES = ("chalicelib", "localdev")


def module_files() -> dict[str, Path]:
    files = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            files[name.removesuffix(".__init__")] = path
    return files


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    """(imported name, relative level) of every runtime import, lazy ones included."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.extend((f"{base}.{alias.name}" if base else alias.name, node.level) for alias in node.names)
            found.append((base, node.level))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.append((str(node.args[0].value), 0))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for imported, level in _imports(ast.parse(path.read_text())):
            if level:
                parts = package.split(".")[: len(package.split(".")) - level + 1]
                imported = ".".join([*parts, imported] if imported else parts)
            target = resolve(imported)
            if target and target != name and not (name.startswith(target + ".") and target in PACKAGES):
                targets.add(target)
        graph[name] = targets
    return graph


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS in {__name__} and docs/architecture.md"
    return best[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        if module not in PACKAGES:
            layer_of(module)


def test_imports_point_down() -> None:
    graph = import_graph()
    upward = [
        f"{source} ({LAYERS[layer_of(source)][0]}) -> {target} ({LAYERS[layer_of(target)][0]})"
        for source, targets in graph.items() if source not in PACKAGES
        for target in targets if target not in PACKAGES
        if layer_of(target) < layer_of(source) and (source, target) not in ALLOWED_UPWARD | KNOWN_UPWARD
    ]
    assert upward == []


def test_known_upward_imports_are_still_there() -> None:
    """An inverted edge must leave KNOWN_UPWARD, so the list only ever shrinks."""
    graph = import_graph()
    assert [edge for edge in KNOWN_UPWARD if edge[1] not in graph.get(edge[0], set())] == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_settings_knows_nothing_of_secrets_or_adapters() -> None:
    assert import_graph()["chalicelib.settings"] == set()


def test_the_checker_sees_lazy_and_upward_imports(tmp_path: Path) -> None:
    """The checker itself: a lazy import inside a function counts; TYPE_CHECKING ones do not."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from chalicelib import wiring\n"
        "def f():\n    from chalicelib.settings import get_settings\n    import importlib\n"
        "    importlib.import_module('app')\n"
    )
    names = {name for name, _ in _imports(tree)}
    assert "chalicelib.settings.get_settings" in names and "app" in names
    assert "chalicelib.wiring" not in names
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_architecture_doc_shows_every_layer() -> None:
    """docs/architecture.md's picture names each layer, top to bottom, in this test's order."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    picture = doc.split("## Layers", 1)[1].split("```", 2)[1]
    starts = [line.split("  ")[0].strip() for line in picture.splitlines() if line and not line.startswith(" ")]
    assert [name.split()[0] for name, _ in LAYERS] == [start.split()[0] for start in starts]
    files = module_files()
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert any(name == prefix or name.startswith(prefix + ".") for name in files), f"{prefix} is gone"
