"""axe-core (npm, pinned in package.json; scripts/assets.sh copies it to static/vendor/axe.min.js) run on a
journey's page: zero WCAG 2 A/AA violations. The script is evaluated through the DevTools protocol, so the
page's CSP (nonce-only scripts) is left as it is."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.harness import ROOT

AXE = Path(ROOT) / "static" / "vendor" / "axe.min.js"
RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
  return {passes: result.passes.length, violations: result.violations.map(v => ({id: v.id, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(0, 2).join(" "))}))};
}"""


def assert_accessible(user, where: str) -> None:
    """Run axe on `user`'s page now; fail with the rules and elements it reports."""
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{AXE} missing: run scripts/assets.sh (npm)")
        pytest.skip(f"{AXE} missing: run scripts/assets.sh (npm) to check accessibility")
    page = user.page
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(RUN)
    assert result["passes"] > 0, "axe did not run"
    violations = result["violations"]
    assert violations == [], f"axe (WCAG 2 A/AA) on {where} ({user.label}, {page.url}): {violations}"
