"""The repository documents itself (issue #24): rules the code relies on are written in its own `docs/`,
and no tracked file points at a file outside the repository — the product brief, the style guide, the tech
notes or the county plan's text kept beside the project. A comment cites the repository's doc and its
section instead (README.md, "Contributing")."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        re.escape(name)
        for name in ("PRODUCT" + ".md", "STYLE" + ".md", "TECH" + "-NOTES", "../" + "shared/", "county-plan" + "-2017")
    )
)
#: Third-party files copied in as they are published (git-ignored today; excluded should they be tracked).
VENDORED = ("static/vendor/", "node_modules/")


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name and not name.startswith(VENDORED)]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):  # deleted in the work tree, or a submodule
        return None
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_points_outside_the_repository():
    names = _tracked_files()
    assert "README.md" in names and "docs/ARCHITECTURE.md" in names, "the list of tracked files is wrong"
    found = []
    for name in names:
        text = _text(ROOT / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert found == [], (
        "these lines point at files outside the repository; write the rule in docs/ and cite that doc and "
        "its section instead:\n" + "\n".join(found)
    )


def test_the_check_finds_a_reference():
    assert OUTSIDE.search("rules in " + "STYLE" + ".md B2")
    assert OUTSIDE.search("see `../" + "shared/" + "county-plan" + "-2017.txt`")
    assert not OUTSIDE.search('"PRODUCT" placeholder, docs/ARCHITECTURE.md "Public codes"')


def test_readme_names_every_setting_config_reads_from_the_environment():
    """A next engineer finds every environment variable `config.py` reads in the README (its "Configuration"
    table, or the section about what it is for): API_TOKEN_DAYS, RATE_LIMITS and a dozen more were read and
    named nowhere."""
    config = (ROOT / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'(?:environ\.get|_int|_bool|_list)\("([A-Z][A-Z0-9_]+)"', config))
    assert {"DATABASE_URL", "API_TOKEN_DAYS", "SITE_URL", "TRUSTED_HOSTS"} <= read  # the pattern finds them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(name for name in read if not re.search(rf"\b{name}\b", readme)) == []
