"""mypy checks every package's services (pyproject.toml, `make lint`): a new package's services
module or folder must be named there, or its rules would go unchecked without anyone noticing."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_services_module_and_folder_is_in_mypys_files():
    files = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"])
    found = {str(p.relative_to(ROOT)) for p in ROOT.glob("*/services.py")}
    found |= {str(p.parent.relative_to(ROOT)) for p in ROOT.glob("*/services/__init__.py")}
    found |= {str(p.relative_to(ROOT)) for p in ROOT.glob("shop/*/services.py")}
    assert found, "no services found: the test looks in the wrong place"
    assert sorted(found - files) == [], "add these to [tool.mypy] files in pyproject.toml"
