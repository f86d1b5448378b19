"""axe-core (npm, pinned in package.json; scripts/assets.sh copies it to static/vendor/axe.min.js), run by the
harness on every page a journey visits (`WatchedPage.check_page`): zero WCAG 2 A/AA violations. The script
is evaluated through the DevTools protocol, so the page's CSP (nonce-only scripts) is left as it is.
Third-party widgets (tests/browser/checks.THIRD_PARTY) are excluded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe.min.js"
RUN = """async (exclude) => {
  const present = exclude.filter(sel => document.querySelector(sel));
  const context = present.length ? {exclude: present} : document;
  const result = await axe.run(context, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                                         resultTypes: ["violations"]});
  return {ran: result.passes.length + result.violations.length + result.incomplete.length + result.inapplicable.length,
    violations: result.violations.map(v => ({id: v.id, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(0, 2).join(" "))}))};
}"""


def _script() -> str | None:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{AXE} missing: run scripts/assets.sh (npm)")
        pytest.skip(f"{AXE} missing: run scripts/assets.sh (npm) to check accessibility")
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """axe's WCAG 2 A/AA violations on `page` now (rule, help, up to five elements each)."""
    from tests.browser.checks import THIRD_PARTY

    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(_script())
    result = page.evaluate(RUN, THIRD_PARTY)
    assert result["ran"] > 0, "axe did not run"
    return result["violations"]
