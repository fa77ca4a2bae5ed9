"""The package's layers import one way only (ARCHITECTURE.md): each module imports from its own layer
and the layers below it, never above. Every import counts, including lazy ones inside functions and
those under TYPE_CHECKING, so a layer cannot reach up even where it would not load at start-up."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "interviewer"

# Lowest first; a module may import its own layer and any earlier one.
LAYERS = ["domain", "sources", "grading", "critic", "session", "workspace", "surfaces", "package"]
# Layers beside each other that must not import one another (the critic and the session are
# independent consumers of grading).
SIBLINGS = {("session", "critic"), ("critic", "session")}


def layer_of(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "interviewer", module
    if len(parts) == 1 or parts[1] in ("__main__",):
        return "package"
    return parts[1] if parts[1] in LAYERS else "package"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name) for alias in node.names if alias.name.startswith("interviewer")
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "interviewer":  # from interviewer import critic
                found += [(node.lineno, f"interviewer.{alias.name}") for alias in node.names]
            elif node.module.startswith("interviewer."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        own = layer_of(module_name(path, package))
        for line, target in imports_of(path):
            where = f"{path.relative_to(package.parent).as_posix()}:{line}"
            if target.startswith("."):
                problems.append(f"{where}: relative import {target}; use the absolute module path")
                continue
            other = layer_of(target)
            if (own, other) in SIBLINGS or LAYERS.index(other) > LAYERS.index(own):
                problems.append(f"{where}: {own} imports {target} ({other}), a layer above it")
    return problems


def test_every_module_belongs_to_a_layer() -> None:
    stray = [
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if layer_of(module_name(p)) == "package"
        and module_name(p) not in ("interviewer", "interviewer.__main__")
    ]
    assert not stray, f"modules outside every layer (move them into one): {stray}"


def test_layers_import_one_way() -> None:
    assert not violations(), "\n".join(violations())


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    fake = tmp_path / "interviewer"
    (fake / "domain").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "domain" / "__init__.py").write_text("")
    (fake / "domain" / "bad.py").write_text("def f():\n    from interviewer.surfaces.cli import main\n")
    (fake / "session").mkdir()
    (fake / "session" / "__init__.py").write_text("from interviewer import critic\nfrom . import x\n")
    assert violations(fake) == [
        "interviewer/domain/bad.py:2: domain imports interviewer.surfaces.cli (surfaces), a layer above it",
        "interviewer/session/__init__.py:1: session imports interviewer.critic (critic), a layer above it",
        "interviewer/session/__init__.py:2: relative import .; use the absolute module path",
    ]
