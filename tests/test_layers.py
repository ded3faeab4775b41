"""The package layering (ARCHITECTURE.md), checked over the import graph of every module.

Every `import` and `from ... import` is read with Python's ast, at module level and inside
functions alike (a function-level import is still a dependency), relative imports
resolved. The contract:

- halfwave.compiler never imports torch, brevitas, halfwave.training, halfwave.sim or
  halfwave.flow;
- halfwave.training never imports halfwave.compiler, halfwave.sim or halfwave.flow (its
  user errors derive from training/errors.TrainingError, which the CLI also catches);
- halfwave.sim (below the flow) never imports halfwave.flow, halfwave.training or torch;
- halfwave.hw holds hardware sources: no Python module besides its empty __init__, and
  nobody imports one;
- no import circle among modules;
- nothing below the CLI reads a HALFWAVE_* environment variable.

KNOWN_* entries are violations other work is removing at the time of writing; each must
still occur (a stale entry fails, so it gets deleted once the fix is merged).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# folder -> import name, the package-dir mapping of pyproject.toml (sim/flow first)
PACKAGES = (
    ("sim/flow", "halfwave.flow"),
    ("compiler", "halfwave.compiler"),
    ("training", "halfwave.training"),
    ("sim", "halfwave.sim"),
    ("hw", "halfwave.hw"),
)

# violations being fixed elsewhere (none now); a stale entry fails its test
KNOWN_HW_PYTHON: set[str] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (or the package, for a name it re-exports)
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    for folder, name in PACKAGES:
        if rel.is_relative_to(folder):
            parts = rel.relative_to(folder).parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            return ".".join((name, *parts))
    raise ValueError(path)


def _files() -> list[Path]:
    return sorted(
        p for folder, _ in PACKAGES for p in (REPO / folder).rglob("*.py") if ".venv" not in p.parts
    )


MODULES = {module_name(p): p for p in _files()}


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    typing_only = {  # `if TYPE_CHECKING:` imports never run
        id(s)
        for n in ast.walk(tree)
        if isinstance(n, ast.If) and ast.unparse(n.test).endswith("TYPE_CHECKING")
        for s in n.body
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [Import(module, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            out += [Import(module, t, node.lineno) for t in subs or [target]]
    return out


IMPORTS = [i for m, p in MODULES.items() for i in imports_of(m, p)]


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(source: str, *forbidden: str, allow: tuple[str, ...] = ()) -> list[str]:
    return [
        str(i)
        for i in IMPORTS
        if _under(i.source, source) and _under(i.target, *forbidden) and i.target not in allow
    ]


def test_every_package_is_seen() -> None:
    for _, name in PACKAGES:
        assert name in MODULES, name
    assert len(MODULES) > 40 and len(IMPORTS) > 200


def test_compiler_imports_no_training_sim_or_torch() -> None:
    bad = _violations(
        "halfwave.compiler", "torch", "brevitas", "halfwave.training", "halfwave.sim",
        "halfwave.flow",
    )  # fmt: skip
    assert not bad, "\n".join(bad)


def test_training_imports_no_compiler_or_sim() -> None:
    bad = _violations("halfwave.training", "halfwave.compiler", "halfwave.sim", "halfwave.flow")
    assert not bad, "\n".join(bad)


def test_sim_imports_no_flow_training_or_torch() -> None:
    sim = [m for m in MODULES if _under(m, "halfwave.sim")]
    bad = [
        v
        for m in sim
        for v in _violations(m, "halfwave.flow", "halfwave.training", "torch", "brevitas")
        if v.startswith(m + ":")
    ]
    assert not bad, "\n".join(bad)


def test_hw_holds_no_python() -> None:
    python = {m for m in MODULES if _under(m, "halfwave.hw") and m != "halfwave.hw"}
    assert python - KNOWN_HW_PYTHON == set(), "Python modules in hw/"
    assert KNOWN_HW_PYTHON <= python, f"stale KNOWN_HW_PYTHON: {KNOWN_HW_PYTHON - python}"
    init = imports_of("halfwave.hw", MODULES["halfwave.hw"])
    assert not init, "hw/__init__.py imports: " + ", ".join(map(str, init))
    users = [str(i) for i in IMPORTS if _under(i.target, *python - KNOWN_HW_PYTHON)]
    assert not users, "\n".join(users)


def _cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        x = stack.pop()
                        on_stack.discard(x)
                        comp.add(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        out.append(frozenset(comp))
            elif w not in index:
                index[w] = low[w] = len(index)
                stack.append(w)
                on_stack.add(w)
                work.append((w, iter(sorted(edges[w]))))
            elif w in on_stack:
                low[v] = min(low[v], index[w])
    return out


def import_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        if i.target in MODULES and i.target != i.source:
            edges[i.source].add(i.target)
    return edges


def test_cycle_finder_sees_function_level_circles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(edges) == [frozenset("abc")]
    src = "def f():\n    from .resources import x\n"
    node = ast.parse(src).body[0].body[0]
    assert _resolve("halfwave.compiler.optimize", False, node) == "halfwave.compiler.resources"


def test_no_import_circles() -> None:
    found = _cycles(import_graph())
    unknown = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not unknown, f"import circles: {unknown}"
    stale = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not stale, f"stale KNOWN_CYCLES entries (the circle is gone: delete them): {stale}"


def _env_reads(path: Path) -> list[str]:
    """os.environ[...] / os.environ.get(...) / os.getenv(...) of a HALFWAVE_* name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        key = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in (
            "os.environ.get", "os.getenv", "os.environ.setdefault", "os.environ.pop",
        ):  # fmt: skip
            key = node.args[0] if node.args else None
        if isinstance(key, ast.Constant) and str(key.value).startswith("HALFWAVE_"):
            out.append(f"{path.relative_to(REPO)}:{node.lineno} {key.value}")
    return out


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"halfwave.flow.cli"}))
def test_only_the_cli_reads_the_environment(name: str) -> None:
    assert not _env_reads(MODULES[name])
