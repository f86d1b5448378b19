"""Imports at the top of the module unless there is a written reason (issue #24, docs/ARCHITECTURE.md
"The layers"). An import inside a function of the application's packages says why on its line or on the
comment line just above its group of imports. Two places need no comment of their own, their reason is
written once: a package's `init_app` (its `__init__.py` runs before any of its modules) and the app
factory's functions (`shop/__init__.py`'s docstring)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from config import Config

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shop", *Config.DOMAIN_PACKAGES)
NOQA_ONLY = re.compile(r"#\s*noqa(:\s*[A-Z0-9, ]+)?\s*$")


def _has_reason(line: str) -> bool:
    """A comment on the line that is more than a bare `# noqa`."""
    comment = line.partition("#")[2] if "#" in line else ""
    return bool(comment.strip()) and not NOQA_ONLY.search("#" + comment)


def _function_imports(path: Path):
    """(line number, first line of the group it belongs to, enclosing function's name) of each import
    inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def walk(node, function):
        previous = None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and function is not None:
                group = previous if previous is not None else child
                found.append((child.lineno, child.end_lineno, group.lineno, function))
                previous = group
            else:
                previous = None
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            walk(child, inner)

    walk(tree, None)
    return found


def unexplained_imports(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    missing = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative or relative == "shop/__init__.py":
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for start, end, group_start, function in _function_imports(path):
                if path.name == "__init__.py" and function == "init_app":
                    continue
                own = lines[start - 1 : end]
                above = lines[group_start - 2].strip() if group_start >= 2 else ""
                group = lines[group_start - 1 : start - 1]
                if any(_has_reason(line) for line in own + group) or above.startswith("#"):
                    continue
                missing.append(f"{relative}:{start}: {lines[start - 1].strip()}")
    return missing


def test_an_import_inside_a_function_says_why():
    missing = unexplained_imports()
    assert missing == [], (
        "move these imports to the top of their module, or say in a comment why they cannot be there "
        "(a large library only some processes load, an import circle):\n" + "\n".join(missing)
    )


def test_the_check_finds_an_unexplained_import(tmp_path):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "things.py").write_text(
        "def a():\n    import json\n\n\n"
        "def b():\n    # only some processes need it\n    import csv\n    import json\n\n\n"
        "def c():\n    import csv  # noqa: F401\n",
        encoding="utf-8",
    )
    assert unexplained_imports(tmp_path, ("shop",)) == [
        "shop/things.py:2: import json",
        "shop/things.py:12: import csv  # noqa: F401",
    ]
