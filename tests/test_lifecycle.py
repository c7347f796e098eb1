"""An execution's lifecycle (st2bridge.lifecycle) sits above the module that records
transitions (st2bridge.executions) and the one that enforces rules (st2bridge.dispatch): no
import circle between them, not even one held open by an import inside a function."""

import ast
from pathlib import Path

import st2bridge

PACKAGE = Path(st2bridge.__file__).parent


def imported_modules(module):
    """The st2bridge modules `module` imports, at the top or inside a function."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ["st2bridge"] * bool(node.level) + [node.module] * bool(node.module)
            names += [".".join([*base, alias.name]) for alias in node.names]
    return {name.split(".")[1] for name in names if name.startswith("st2bridge.")}


def test_executions_imports_neither_dispatch_nor_lifecycle():
    assert not {"dispatch", "lifecycle"} & imported_modules("executions")


def test_dispatch_does_not_import_lifecycle():
    assert "lifecycle" not in imported_modules("dispatch")


def test_the_lifecycle_uses_both():
    assert {"dispatch", "executions"} <= imported_modules("lifecycle")
