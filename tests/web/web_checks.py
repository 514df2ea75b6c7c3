"""Checks the page tests of the workspace share: axe-core's accessibility audit of a page.

axe-core comes from the npm registry (`npm install --prefix .cache axe-core@4`, which
scripts/test.sh does); where it is absent the check skips with that message. It is run
through Playwright's evaluate, which the page's Content-Security-Policy does not govern, so
the policy stays as strict under test as in use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / ".cache" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}); run: npm install --prefix .cache axe-core@4")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    violations = page.evaluate(
        """async (serious) => {
            const result = await window.axe.run(document, {resultTypes: ['violations']});
            return result.violations.filter(v => serious.includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join('; ')}`);
        }""",
        list(SERIOUS),
    )
    assert violations == [], f"{page.url}: " + "\n".join(violations)
