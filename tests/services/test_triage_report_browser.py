"""The HTML report in a real browser (Debian's chromium driven by Playwright): pictures start
blurred and greyscale, a click reveals exactly one, and the summary shows every status."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mediamatch.services.demo import run_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(tmp_path_factory.mktemp("demo") / "demo", workers=1).report


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh installs Debian's package when run as root)")
def test_thumbnails_are_veiled_until_clicked(report: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        thumbs = page.locator(".thumb:not(.nothumb)")
        assert thumbs.count() >= 10
        filters = [thumbs.nth(i).locator("img").evaluate("img => getComputedStyle(img).filter") for i in range(thumbs.count())]
        assert all("grayscale(1)" in value and "blur(" in value for value in filters)
        expect = sync_api.expect
        thumbs.nth(0).click()
        expect(thumbs.nth(0).locator("img")).to_have_css("filter", "none")  # polls past the transition
        expect(thumbs.nth(1).locator("img")).to_have_css("filter", "grayscale(1) blur(12px)")
        thumbs.nth(0).click()
        expect(thumbs.nth(0).locator("img")).to_have_css("filter", "grayscale(1) blur(12px)")
        statuses = page.locator("#summary tr[data-status]").evaluate_all("rows => rows.map(r => r.dataset.status)")
        assert statuses == ["known_identified", "known_unidentified", "related", "new", "not_media", "error"]
        assert page.locator("svg.chart rect").count() == 6
        assert errors == []
        browser.close()
