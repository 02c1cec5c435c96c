"""The layers hold: the import contracts pass, and no module reaches into another's private names."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hybridnas"
# private names of other libraries that hybridnas reads on purpose, each for a stated reason
THIRD_PARTY = {
    "_BatchNorm": "torch's common base of BatchNorm1d/2d/3d (recalibration, proxies)",
    "_storage": "Optuna's study storage: system attrs of a running trial, closing SQLite before a swap",
    "_trial_id": "Optuna's trial id, for the same system attrs",
    "_contains": "Optuna's distribution membership test on internal values",
}


def test_the_import_contracts_in_pyproject_pass(monkeypatch):
    importlinter = pytest.importorskip("importlinter.cli", reason="import-linter is in the test extras")
    monkeypatch.chdir(PACKAGE.parent)
    assert importlinter.lint_imports() == 0


def test_no_module_outside_a_package_uses_its_private_names():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr in THIRD_PARTY:
                continue
            if path.parent.name == "spaces":  # a space's helpers in its own package
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: .{node.attr}")
    assert not found, "private names used across modules:\n" + "\n".join(found)
