"""rules/ is pure: it imports no I/O frameworks and reads no clock, file or environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_CONNECTORS = ("model.py", "plan.py", "errors.py")  # the planner and the values it plans with
PURE_FILES = sorted((ROOT / "rules").glob("*.py")) + [
    ROOT / "connectors" / n for n in PURE_CONNECTORS
]
FORBIDDEN_MODULES = (
    "feedserver", "connectors", "worker", "flask", "werkzeug", "redis", "rq", "sqlalchemy", "alembic",
    "requests", "httpx", "urllib3", "urllib.request", "http.client", "socket", "googleapiclient",
    "google", "msal", "subprocess", "importlib.resources", "pathlib", "os", "time", "random",
)  # fmt: skip
FORBIDDEN_CALLS = {"now", "today", "utcnow", "fromtimestamp", "getenv", "open", "urandom", "uuid4"}


def imports_of(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def is_forbidden(module: str) -> bool:
    if module in {f"connectors.{n.removesuffix('.py')}" for n in PURE_CONNECTORS}:
        return False
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES)


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_imports_nothing_forbidden(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [m for m in imports_of(tree) if is_forbidden(m)]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_reads_no_clock_environment_or_files(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                calls.append(name)
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            calls.append("environ")
    assert calls == [], f"{path.name} calls {calls}"


def test_the_contract_walks_every_rules_module():
    assert len(PURE_FILES) >= 12


def test_the_contract_catches_a_forbidden_import():
    tree = ast.parse("import os\nfrom flask import Flask\nfrom datetime import date\n")
    assert [m for m in imports_of(tree) if is_forbidden(m)] == ["os", "flask"]
