"""No test module (`test_*.py`) imports another test module, at the top or inside a function: a helper
kept in one is hidden in a file named for its tests, under a name private to it. What several test
files share lives in a helper module beside them under public names (tests/stations/refund_setup.py,
tests/concurrency/race.py, tests/sql_count.py), and fixtures several share in their package's
conftest.py (tests/conftest.py for every package) — README.md, "Tests"."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    return dotted.split(".")[0] == "tests" and dotted.rsplit(".", 1)[-1].startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    """Each import of a test module in the file at `path`, as "line: module"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{node.lineno}: {module}" for module in modules if _is_test_module(module)]
    return found


def test_no_test_module_imports_another():
    found = {
        str(path.relative_to(TESTS.parent)): imports
        for path in sorted(TESTS.rglob("*.py"))
        if (imports := imports_of_test_modules(path))
    }
    assert found == {}


def test_the_check_finds_an_import_of_a_test_module(tmp_path):
    path = tmp_path / "test_sample.py"
    path.write_text(
        "from tests.orders.payment_setup import card_order\n"
        "from tests.stations import refund_setup, test_lots\n"
        "import tests.test_migrations\n"
        "\n\ndef test_it():\n"
        "    from tests.institutions.test_purchases import _setup\n",
        encoding="utf-8",
    )
    assert imports_of_test_modules(path) == [
        "2: tests.stations.test_lots",
        "3: tests.test_migrations",
        "7: tests.institutions.test_purchases",
    ]
