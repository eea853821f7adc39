"""feedserver/'s rooms keep their import contracts (see feedserver/README.md) and form no circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "feedserver"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)

# room -> modules it must not import (anywhere in the file, functions included)
FORBIDDEN = {
    "storage": (
        "feedserver.pipeline",
        "feedserver.web",
        "feedserver.cli",
        "flask",
        "rq",
        "redis",
        "connectors.google",
        "connectors.microsoft",
        "connectors.sync",
    ),
    "pipeline": ("feedserver.web", "feedserver.cli", "flask", "werkzeug"),
    "shared": ("feedserver.web", "feedserver.cli", "flask", "werkzeug"),
}
SHARED = {
    "config.py", "clock.py", "errors.py", "runtime.py", "catalog.py", "ics.py", "termcsv.py",
    "wording.py",
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


KNOWN = {module_name(p) for p in MODULES}


def room_of(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE).parts
    if len(rel) > 1 and rel[0] in {"storage", "pipeline", "web"}:
        return rel[0]
    return "shared" if rel[-1] in SHARED else None


def imports(path: Path, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from feedserver import catalog` imports feedserver.catalog, not all of feedserver
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            modules = [m for m in subs if m in KNOWN]
            found += modules
            if len(modules) < len(subs):  # a name defined in the package itself
                found.append(node.module)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_room_imports_only_what_its_readme_allows(path):
    room = room_of(path)
    if room not in FORBIDDEN:
        return
    bad = [
        m
        for m in imports(path, top_level_only=False)
        if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[room])
    ]
    assert bad == [], f"{path.relative_to(ROOT)} ({room}) imports {sorted(set(bad))}"


def test_imports_between_feedserver_modules_form_no_circle_even_inside_functions():
    names = {module_name(p): p for p in MODULES}
    graph = {
        name: {m for m in imports(path, top_level_only=False) if m in names and m != name}
        for name, path in names.items()
    }
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                circle = path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [name])


def test_the_walk_sees_every_room():
    rooms = {room_of(p) for p in MODULES}
    assert {"storage", "pipeline", "web", "shared"} <= rooms
    assert len(MODULES) > 30
