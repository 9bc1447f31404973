"""The floors of the house (ARCHITECTURE.md): every import of the package goes down or
stays within its own stage, and no two modules import each other.

Read from the source with ``ast`` (nothing is imported), so a function-level import
that reaches up a floor fails here just like a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "dqgate"

# Lower rank = lower floor. A module may import its own stage and any stage of a lower
# rank; stages of one rank (contract, store) never import each other.
RANKS = {
    "span": 0, "_kernels": 0,
    "errors": 1, "events": 1,
    "contract": 2, "store": 2,
    "ir": 3,
    "stats": 4,
    "compilers": 5,
    "runners": 6,
    "gate": 7,
    "report": 8,
    "api": 9,
    "cli": 10, "integrations": 10,
    "__main__": 11,
}  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _stage(module: str) -> str | None:
    """The stage a module belongs to (None for the package root, ``dqgate``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(module: str, text: str | None = None) -> list[tuple[str, int]]:
    """(imported dqgate module, line) for every import in ``module`` (at any depth);
    ``from dqgate import __version__`` counts as an import of the root."""
    tree = ast.parse(MODULES[module].read_text() if text is None else text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "dqgate"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dqgate":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub if sub in MODULES else node.module, node.lineno))
    return found


def test_the_rank_table_names_every_stage_of_the_package() -> None:
    stages = {_stage(m) for m in MODULES} - {None}
    assert stages == set(RANKS), "a stage was added or removed: give it a floor in RANKS and ARCHITECTURE.md"


def _upward(module: str, text: str | None = None) -> list[str]:
    """Every import in ``module`` that goes up a floor or sideways to another stage."""
    own = _stage(module)
    assert own is not None
    bad = []
    for target, line in _imports(module, text):
        if target == "dqgate":  # the root: only its __version__ (its own imports are lazy)
            continue
        stage = _stage(target)
        assert stage is not None
        if stage != own and RANKS[stage] >= RANKS[own]:
            bad.append(f"{MODULES[module].relative_to(SRC)}:{line} imports {target} ({stage}, floor {RANKS[stage]}) from {own} (floor {RANKS[own]})")
    return bad


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "dqgate"))
def test_imports_go_down_or_stay_within_the_stage(module: str) -> None:
    bad = _upward(module)
    assert not bad, "\n".join(bad)


def test_the_root_takes_only_its_version_from_below() -> None:
    """``from dqgate import X`` below the root may only mean ``__version__``: anything else
    would run the root's lazy public API from inside a stage."""
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "dqgate":
                for alias in node.names:
                    if f"dqgate.{alias.name}" not in MODULES and alias.name != "__version__":
                        bad.append(f"{path.relative_to(SRC)}:{node.lineno} takes {alias.name} from the root")
    assert not bad, "\n".join(bad)


def test_no_two_modules_import_each_other() -> None:
    """No cycle among modules, counting imports at any depth (function-level ones too)."""
    graph = {m: {t for t, _ in _imports(m) if t != m and t in MODULES and t != "dqgate"} for m in MODULES}
    # A package's __init__ importing its own submodules (to register or re-export them) is
    # how a package is put together, not a cycle between floors.
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        seen[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if seen.get(t) == 1:
                return stack[stack.index(t) :] + [t]
            if t not in seen and (cycle := visit(t)):
                return cycle
        stack.pop()
        seen[m] = 2
        return None

    for m in sorted(graph):
        if m not in seen:
            cycle = visit(m)
            assert cycle is None, " -> ".join(cycle)


def test_the_top_level_holds_only_the_public_face_and_the_stages() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "api.py", "errors.py", "span.py"]


def test_the_checker_catches_upward_and_sideways_imports() -> None:
    """The check itself can fail: a runner reaching up into the gate (even inside a
    function), and the contract reaching sideways into the store, are both reported."""
    up = "def f():\n    from dqgate.gate import quarantine\n"
    assert _upward("dqgate.runners.duckdb", up) == ["dqgate/runners/duckdb.py:2 imports dqgate.gate.quarantine (gate, floor 7) from runners (floor 6)"]
    assert _upward("dqgate.contract.load", "import dqgate.store.layout\n")
    assert not _upward("dqgate.gate.ingest", "from dqgate.runners import duckdb\nfrom dqgate import __version__\n")
