"""Checks the page tests of the workspace share: axe-core's accessibility audit of a page.

axe-core comes from the npm registry (scripts/test.sh installs it into `.cache/`); where it
is absent the check skips with that message. It runs through Playwright's evaluate, which the
page's Content-Security-Policy does not govern, so the policy stays as strict under test as in
use (and the page fixture's check for CSP refusals keeps working).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import REPO_AXE

if TYPE_CHECKING:
    from playwright.sync_api import Page

SERIOUS = ("serious", "critical")


@cache
def _axe_source() -> str:
    return REPO_AXE.read_text(encoding="utf-8")


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not REPO_AXE.is_file():
        pytest.skip(f"axe-core is not installed ({REPO_AXE}); scripts/test.sh installs it with npm")
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
