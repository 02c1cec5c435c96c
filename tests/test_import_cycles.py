"""No import cycle between hybridnas modules, counting imports inside functions (which `lint-imports` and a
plain import never see) and leaving out `if TYPE_CHECKING:` blocks (never executed)."""

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "hybridnas"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, modules: set[str]) -> set[str]:
    """The hybridnas modules `path` imports anywhere, TYPE_CHECKING blocks excepted."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in modules and m != name}


def import_graph() -> nx.DiGraph:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = nx.DiGraph()
    for path in paths:
        for target in imports(path, modules):
            graph.add_edge(module_name(path), target)
    return graph


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    # a package's __init__ re-exports its modules, which import their siblings: edges into a package's own
    # __init__ from inside it are how `from . import x` works, not cycles between modules
    for source, target in list(graph.edges):
        if source.startswith(target + "."):
            graph.remove_edge(source, target)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles (function-level imports count): {cycles}"


def test_the_checker_sees_function_level_imports():
    graph = import_graph()
    assert graph.has_edge("hybridnas.cli.search", "hybridnas.search.store")  # imported inside a command function
    assert not graph.has_edge("hybridnas.spaces.metaformer_protocols", "hybridnas.spaces.metaformer")  # TYPE_CHECKING
