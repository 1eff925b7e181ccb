"""The package's architecture stays as designed: rooms in layers, no import cycles, small files.

The layers are those of the import-linter contract in ``pyproject.toml`` (its one home); this test
checks them with every import counted, including imports inside functions (import-linter sees
those too, but this also finds cycles within a room).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "deepracer_sim"
#: Most project names a module may import inside a function (each import needs a reason).
MAX_LOCAL_IMPORT_NAMES = 10
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path) -> list[tuple[str, int, bool, list[str]]]:
    """(imported module, line, inside a function, names) of every project import in ``path``."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    local: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    local.add(child.lineno)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("deepracer_sim") and node.lineno not in skip:
                    found.append((alias.name, node.lineno, node.lineno in local, [alias.name]))
        elif isinstance(node, ast.ImportFrom) and node.lineno not in skip:
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("deepracer_sim"):
                continue
            names = [a.name for a in node.names]
            for name in names:  # "from package import submodule" imports the submodule
                target = f"{base}.{name}" if f"{base}.{name}" in MODULES else base
                found.append((target, node.lineno, node.lineno in local, [name]))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for target, _, _, _ in imports(path):
            if target != mod and target in MODULES:
                edges[mod].add(target)
    return edges


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    return [[m.strip() for m in layer.split("|")] for layer in contract["layers"]]


def room_rank(module: str) -> int | None:
    """The layer index of a module (0 = top), or None for the package root."""
    for rank, layer in enumerate(layers()):
        for room in layer:
            if module == room or module.startswith(room + "."):
                return rank
    return None


def test_every_module_belongs_to_a_room():
    orphans = [m for m in MODULES if m != "deepracer_sim" and room_rank(m) is None]
    assert orphans == []


def test_no_import_cycles_counting_imports_inside_functions():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
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
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    assert cycles == []


def test_rooms_import_only_from_rooms_below():
    upward = []
    for mod, targets in graph().items():
        rank = room_rank(mod)
        if rank is None:
            continue
        for target in targets:
            target_rank = room_rank(target)
            if target_rank is not None and target_rank < rank:
                upward.append(f"{mod} -> {target}")
            elif target_rank == rank and target.split(".")[:2] != mod.split(".")[:2]:
                upward.append(f"{mod} -> {target} (independent rooms of one layer)")
    assert upward == []


def test_imports_inside_functions_are_few_and_explained():
    local = []
    for mod, path in MODULES.items():
        lines = path.read_text().splitlines()
        for target, line, inside, names in imports(path):
            if inside:
                text = lines[line - 1] + " " + lines[line - 2]
                local.append((mod, target, names, "#" in text))
    count = sum(len(names) for _, _, names, _ in local)
    assert count <= MAX_LOCAL_IMPORT_NAMES, local
    unexplained = [(m, t) for m, t, _, why in local if not why]
    assert unexplained == []


def test_at_most_six_modules_at_the_package_root():
    assert len(list(PACKAGE.glob("*.py"))) <= 6


def test_no_file_is_a_package_in_disguise():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def _is_kernel_or_plot(node: ast.FunctionDef) -> bool:
    decorators = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
    return "njit" in decorators or node.name.startswith(("plot_", "_plot"))


def test_functions_are_short_except_numba_kernels_and_plots():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not _is_kernel_or_plot(node):
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    first = node.body[1] if len(node.body) > 1 else first  # docstring not counted
                length = (node.end_lineno or node.lineno) - first.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {length}")
    assert long == []
