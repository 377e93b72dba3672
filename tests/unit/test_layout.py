"""The layout's bounds: small files and classes, sandboxed workflow code free of Django, and texts that describe the
product as it is (history goes in CHANGELOG.md)."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 400
MAX_CLASS_LINES = 250
# Development-log wording: issue or stop numbers, releases spoken of as "this" one, work spoken of as history.
LOG_WORDING = re.compile(
    r"\b(issues? #?\d+|stop \d+|this (release|stop|work|session)|before this (work|change|release)|"
    r"earlier the same day|on a slower day)\b",
    re.IGNORECASE,
)


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).exists()]


def python_files() -> list[Path]:
    """Our code: not migrations, nor the frozen copy of release 1's workflows that tests/legacy keeps for replay."""
    return [p for p in tracked("*.py") if "migrations" not in p.parts and "legacy" not in p.parts]


def test_no_file_is_over_the_bound():
    long = {str(p.relative_to(ROOT)): n for p in python_files() if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_no_class_is_over_the_bound():
    long = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                long[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert long == {}


def test_workflow_code_never_imports_django_or_the_orders_app():
    """Every module of workflows/ (the sandboxed workflow code and its helpers), all imported in a fresh interpreter:
    the Django side of Temporal lives in orders/temporal/."""
    probe = (
        "import importlib, json, pkgutil, sys, workflows\n"
        "names = [m.name for m in pkgutil.walk_packages(workflows.__path__, 'workflows.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "found = {m.split('.')[0] for m in sys.modules} & {'django', 'orders', 'ordersite', 'rest_framework', 'psycopg'}\n"
        "print(json.dumps({'modules': names, 'found': sorted(found)}))"
    )
    result = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    assert {"workflows.order", "workflows.shipping", "workflows.types"} <= set(result["modules"])
    assert result["found"] == []


@pytest.mark.parametrize("pattern", ["*.py", "*.md", "*.html", "Makefile", "*.yml", "*.toml", "*.txt"])
def test_texts_describe_the_product_as_it_is(pattern):
    wording = {}
    for path in tracked(pattern):
        if path.name == "CHANGELOG.md" or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if LOG_WORDING.search(line):
                wording[f"{path.relative_to(ROOT)}:{number}"] = line.strip()[:120]
    assert wording == {}
