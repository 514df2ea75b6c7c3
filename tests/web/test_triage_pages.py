"""Triage in the browser, in chromium against a live server: an uploaded archive runs in the
background with progress, the grid filters and pages, is operated by keyboard alone (arrows,
Space, digits, X, Enter), a selection is contributed, a file is compared with the known item
it matched, a CLI report opens in the same grid, paths outside the evidence roots are refused,
and each page passes axe-core without serious or critical violations."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mediamatch.auth.permissions import Role
from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.store.models.triage_runs import TriageRunRow
from tests.web.conftest import OTHER_AGENCY, LiveServer, start_live_server
from tests.web.web_checks import assert_accessible

if TYPE_CHECKING:
    from playwright.sync_api import Page


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (240, 180)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


KNOWN = {f"known-{seed}.jpg": jpeg(seed) for seed in (1, 2)}
NEW = {f"new-{seed}.jpg": jpeg(seed) for seed in (21, 22, 23)}
RUN_TIMEOUT_MS = 90_000


def seized_zip(folder: Path) -> Path:
    path = folder / "seized.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**{f"DCIM/{n}": d for n, d in KNOWN.items()}, **{f"new/{n}": d for n, d in NEW.items()}}.items():
            archive.writestr(name, data)
        archive.writestr("notes.txt", "not a picture")
    return path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose catalogue holds KNOWN, contributed by the other agency (series Lark),
    with an evidence root; runs hash in the server's process."""
    root = tmp_path_factory.mktemp("triage-pages")
    (root / "evidence" / "case-1").mkdir(parents=True)
    with start_live_server(root, triage_workers=1, evidence_roots=(root / "evidence",)) as live:
        engine = live.app.state.engine
        contribute(engine, [BytesSource(name, data) for name, data in KNOWN.items()], ContributionRequest(series="Lark", agency=OTHER_AGENCY[0]), workers=1)
        for data in KNOWN.values():
            live.app.state.blobs.put(data)
        yield live


@pytest.fixture(scope="module")
def run_url(live_server: LiveServer, browser, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    """The contributor uploads the archive from the triage page and waits for its grid."""
    context = browser.new_context()
    page = context.new_page()
    live_server.sign_in(page, Role.CONTRIBUTOR, "/triage")
    page.set_input_files("#mm-files", str(seized_zip(tmp_path_factory.mktemp("upload"))))
    page.get_by_role("button", name="Upload and triage", exact=True).click()
    page.wait_for_selector("#mm-grid", timeout=RUN_TIMEOUT_MS)
    url = page.url
    context.close()
    return url


def open_grid(live_server: LiveServer, page: Page, run_url: str, query: str = "") -> None:
    path = run_url.removeprefix(live_server.url)
    live_server.sign_in(page, Role.CONTRIBUTOR, path)
    if query:
        page.goto(run_url + query)


def test_an_uploaded_archive_is_triaged_into_the_grid(live_server: LiveServer, page: Page, run_url: str) -> None:
    open_grid(live_server, page, run_url)
    summary = page.locator("ul[aria-label=Summary]").inner_text()
    assert "2 Known, victim not identified" in summary.replace("\n", " ") and "3 New" in summary.replace("\n", " ")
    known = page.locator(".mm-status-known_unidentified")
    assert known.count() == 2
    assert "Known, first contributed by Unit BR" in known.first.inner_text()
    assert page.locator(".mm-cell").count() == 6
    assert_accessible(page)


def test_the_grid_filters_sorts_and_pages(live_server: LiveServer, page: Page, run_url: str) -> None:
    open_grid(live_server, page, run_url, "?status=new&per_page=24")
    assert page.locator(".mm-cell").count() == 3
    page.goto(run_url + "?kind=other")
    assert page.locator(".mm-path").all_inner_texts() == ["notes.txt"]
    page.goto(run_url + "?series=Lark&sort=path&order=desc")
    assert page.locator(".mm-path").all_inner_texts() == ["DCIM/known-2.jpg", "DCIM/known-1.jpg"]
    page.goto(run_url + "?size=small")
    assert page.locator("#mm-grid img.mm-content").first.evaluate("img => img.getBoundingClientRect().width") == 128
    refused = page.goto(run_url + "?per_page=nonsense")
    assert refused is not None and refused.status in (400, 422) and page.locator("#mm-grid").count() == 0


def test_the_grid_works_by_keyboard_alone(live_server: LiveServer, page: Page, run_url: str) -> None:
    open_grid(live_server, page, run_url, "?status=new")
    for _ in range(80):  # Tab from the top of the page until the grid's cell has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('mm-cell')"):
            break
    cells = page.locator(".mm-cell")
    first, second = cells.nth(0).get_attribute("data-seq"), cells.nth(1).get_attribute("data-seq")
    assert page.evaluate("document.activeElement.dataset.seq") == first
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.seq") == second
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.dataset.seq") == first
    image = cells.nth(0).locator("img.mm-content")
    assert "mm-revealed" not in (image.get_attribute("class") or "")
    with page.expect_response(re.compile(r"/picture\?size=\d+&reveal=1")) as revealed:
        page.keyboard.press(" ")
    assert revealed.value.status == 200 and revealed.value.headers["cache-control"] == "no-store"
    assert "mm-revealed" in (image.get_attribute("class") or "")
    page.keyboard.press("Escape")  # blurs everything at once
    assert "mm-revealed" not in (image.get_attribute("class") or "")
    page.focus(f".mm-cell[data-seq='{first}']")
    page.keyboard.press("3")
    page.locator(f".mm-cell[data-seq='{first}'] [data-category]", has_text="Category 3").wait_for()
    page.keyboard.press("x")
    assert cells.nth(0).locator("input[type=checkbox]").is_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/rows/{first}$"))
    assert "Category 3: CGI / animation (set here)" in page.locator("main").inner_text()
    with live_server.session() as session:
        assert session.get(TriageRunRow, (int(run_url.rsplit("/", 1)[1]), int(first or 0))).category == 3  # type: ignore[union-attr]


def test_a_file_is_compared_with_the_known_item_it_matched(live_server: LiveServer, page: Page, run_url: str) -> None:
    open_grid(live_server, page, run_url, "?series=Lark")
    page.locator(".mm-cell .mm-path").first.click()
    page.click("text=Side by side")
    page.wait_for_url(re.compile(r"/compare/\d+$"))
    main = page.locator("main").inner_text()
    assert "Seized file" in main and "Known reference: item #" in main
    assert re.search(r"Matched by\s+sha256", main) and re.search(r"Distance\s+0 \(identical\)", main) and re.search(r"Transform\s+as is", main)
    assert page.locator("img.mm-content").count() == 2
    assert_accessible(page)


def test_a_selection_is_contributed_as_a_new_series(live_server: LiveServer, page: Page, run_url: str) -> None:
    open_grid(live_server, page, run_url, "?status=new")
    assert_accessible(page)
    page.click("#mm-select-page")
    page.fill("input[name=series]", "Wren")
    page.click("text=Contribute selected files")
    page.wait_for_selector("h1:has-text('Contributed to Wren')")
    assert "3 files contributed: 3 new to the catalogue" in page.locator("main").inner_text()
    page.goto(run_url + "?status=new")
    assert page.locator(".mm-cell .mm-ok").all_inner_texts() == ["Contributed to Wren"] * 3


def test_a_cli_report_opens_in_the_grid(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    for name, data in KNOWN.items():
        (folder / name).write_bytes(data)
    engine = live_server.app.state.engine
    triage(folder, tmp_path / "out", engine, workers=1, matcher=CatalogueMatcher.open(engine))
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        report = write_reports(state, tmp_path / "out")["json"]
    finally:
        state.close()
    live_server.sign_in(page, Role.INVESTIGATOR, "/triage")
    assert_accessible(page)
    page.set_input_files("#mm-report", str(report))
    page.click("text=Open the report")
    page.wait_for_selector("#mm-grid")
    assert page.locator(".mm-status-known_unidentified").count() == 2
    assert page.locator("#mm-grid img").count() == 0  # an opened report has no files to show
    assert page.locator("text=Contribute selected files").count() == 0


def test_server_paths_outside_the_evidence_roots_are_refused(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/triage")
    page.fill("#mm-path", str(tmp_path))
    page.click("text=Triage on the server")
    assert "outside the evidence roots" in page.locator("[role=alert]").inner_text()


def test_other_roles_and_agencies_do_not_reach_the_runs(live_server: LiveServer, page: Page, run_url: str) -> None:
    live_server.sign_in(page, Role.AUDITOR)
    response = page.goto(run_url)
    assert response is not None and response.status == 403
    outsider = live_server.add_account("investigator@br", Role.INVESTIGATOR, OTHER_AGENCY)
    page.context.clear_cookies()
    live_server.sign_in(page, outsider, "/triage")
    response = page.goto(run_url)
    assert response is not None and response.status == 404
    response = page.goto(run_url + "/rows/0/picture")
    assert response is not None and response.status == 404
