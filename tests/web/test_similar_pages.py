"""Similarity in the browser: the region search page (/similar) with its box drawn by mouse,
keyboard or typed fields, finding a crop of a contributed picture, audited like the API's
search; and the compare page framing the matched regions of a triage row's similarity match,
with a "related" match named as such, never as a copy. axe-core checks both pages."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from sqlalchemy import select

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Role
from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.store.models.audit import AuditEventRow
from tests.similar_pictures import crop_area, jpeg_bytes, resized, smooth_picture, textured_picture, views
from tests.web.conftest import LiveServer, start_live_server
from tests.web.web_checks import assert_accessible

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page

HERON = textured_picture(8)  # the contributed picture whose crop is searched for
HALL_LEFT, HALL_RIGHT = views(textured_picture(9))  # one scene from two sides: related, not a copy
DUSK = smooth_picture(11)  # a low-detail picture: found whole by its miniature, no keypoints to count
RUN_TIMEOUT_MS = 90_000


def pasted_top_left(picture: Image.Image, host: Image.Image) -> Image.Image:
    """`host` (640x480) with `picture` shrunk into its top left quarter (320x240)."""
    joined = host.copy()
    joined.paste(picture.resize((320, 240), Image.Resampling.LANCZOS), (0, 0))
    return joined


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose catalogue holds the heron picture, the left view of the hall and a
    low-detail dusk sky (series Heron)."""
    with start_live_server(tmp_path_factory.mktemp("similar-pages"), triage_workers=1) as live:
        known = [BytesSource(name, jpeg_bytes(picture)) for name, picture in (("heron.jpg", HERON), ("hall-left.jpg", HALL_LEFT), ("dusk.jpg", DUSK))]
        contribute(live.app.state.engine, known, ContributionRequest(series="Heron", agency="Unit BR"), workers=1)
        for source in known:
            live.app.state.blobs.put(source.data)
        yield live


@pytest.fixture(scope="module")
def query_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A crop of the heron in the top left quarter of a picture the catalogue does not hold."""
    path = tmp_path_factory.mktemp("query") / "query.jpg"
    path.write_bytes(jpeg_bytes(pasted_top_left(crop_area(HERON, 0.5), textured_picture(31))))
    return path


def box_fields(page: Page) -> tuple[int, int, int, int]:
    return tuple(int(page.input_value(f"#mm-box-{name}")) for name in "xywh")  # type: ignore[return-value]


def search(page: Page, box: tuple[int, int, int, int]) -> None:
    for name, value in zip("xywh", box):
        page.fill(f"#mm-box-{name}", str(value))
        page.dispatch_event(f"#mm-box-{name}", "change")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("#mm-results-title")


def similar_audit(live: LiveServer) -> list[dict]:
    with live.session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.action == AuditAction.SEARCH, AuditEventRow.object_type == "similar"))
        return [json.loads(row.detail) for row in rows]


def test_the_box_is_moved_and_resized_by_keyboard_and_drawn_by_mouse(live_server: LiveServer, page: Page, query_file: Path) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/similar")
    page.set_input_files("#mm-query-file", str(query_file))
    area = page.locator("#mm-box-area")
    expect(area).to_be_visible()
    assert box_fields(page) == (160, 120, 320, 240)  # the middle half, to start with
    expect(page.locator(".mm-query-preview")).to_have_css("filter", re.compile("blur"))  # the upload is previewed blurred too
    area.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert box_fields(page) == (173, 133, 320, 240)  # a step is 1/50 of the longer side
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowUp")
    assert box_fields(page) == (173, 133, 307, 227)
    for _ in range(60):
        page.keyboard.press("ArrowLeft")
    assert box_fields(page)[0] == 0  # held inside the picture
    assert "Box at 0, 133, 307 by 227 pixels of 640 by 480" in page.locator("#mm-box-status").inner_text()
    bounds = page.locator("#mm-box-svg").bounding_box()
    assert bounds is not None
    scale = bounds["width"] / 640
    page.mouse.move(bounds["x"] + 64 * scale, bounds["y"] + 48 * scale)
    page.mouse.down()
    page.mouse.move(bounds["x"] + 320 * scale, bounds["y"] + 240 * scale, steps=4)
    page.mouse.up()
    x, y, w, h = box_fields(page)
    assert abs(x - 64) <= 2 and abs(y - 48) <= 2 and abs(w - 256) <= 3 and abs(h - 192) <= 3
    page.fill("#mm-box-w", "100")
    page.dispatch_event("#mm-box-w", "change")
    assert page.locator("#mm-box-rect").get_attribute("width") == "100"  # typed fields move the box


def test_a_region_search_finds_the_crop_of_a_contributed_picture(live_server: LiveServer, page: Page, query_file: Path) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/similar")
    page.set_input_files("#mm-query-file", str(query_file))
    search(page, (320, 0, 320, 480))  # the right half: the catalogue holds none of it
    expect(page.locator("section p[role=status]")).to_contain_text("No catalogued picture contains or relates to this picture region")
    page.set_input_files("#mm-query-file", str(query_file))
    search(page, (0, 0, 330, 250))  # around the heron's crop
    results = page.locator("#mm-similar-results > li")
    expect(results).to_have_count(1)
    text = results.first.inner_text()
    assert "Matched region" in text and "Heron" in text and "% of the known picture is present" in text
    share = int(re.search(r"(\d+) % of the known picture", text).group(1))  # type: ignore[union-attr]
    assert 40 <= share <= 100  # the crop kept half the heron; the estimate runs from the matched points
    img = results.first.locator("img.mm-content")
    assert "/thumbnail" in (img.get_attribute("src") or "")  # through the audited content route, blurred
    expect(img).not_to_have_class(re.compile("mm-revealed"))
    expect(results.first.locator("svg.mm-region polygon")).to_have_count(1)
    expect(results.first.locator("svg.mm-region-map polygon")).to_have_count(1)
    assert similar_audit(live_server)[-2:] == [{"box": "320,0,320,480", "found": 0, "via": "web"}, {"box": "0,0,330,250", "found": 1, "via": "web"}]
    assert_accessible(page)


def test_bad_input_is_answered_on_the_page(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/similar")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a picture")
    page.set_input_files("#mm-query-file", str(text_file))
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("The search could not run")


def test_roles_without_similarity_search_get_the_403_page(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.CONTRIBUTOR)
    assert "Region search" not in page.get_by_role("navigation", name="Main").inner_text()
    answer = page.goto(f"{live_server.url}/similar")
    assert answer is not None and answer.status == 403
    client = live_server.client(Role.CONTRIBUTOR)
    assert client.post("/similar", files={"file": ("a.jpg", b"x")}).status_code == 403


@pytest.fixture(scope="module")
def run_url(live_server: LiveServer, browser, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    """A contributor triages a zip of the heron's crop, the hall's other view and a small
    re-encoded copy of the dusk sky."""
    path = tmp_path_factory.mktemp("seized") / "seized.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("heron-crop.jpg", jpeg_bytes(crop_area(HERON, 0.5)))
        archive.writestr("hall-right.jpg", jpeg_bytes(HALL_RIGHT))
        archive.writestr("dusk-small.jpg", jpeg_bytes(resized(DUSK, 0.6), 70))
    context = browser.new_context()
    page = context.new_page()
    live_server.sign_in(page, Role.CONTRIBUTOR, "/triage")
    page.set_input_files("#mm-files", str(path))
    page.get_by_role("button", name="Upload and triage", exact=True).click()
    page.wait_for_selector("#mm-grid", timeout=RUN_TIMEOUT_MS)
    url = page.url
    context.close()
    return url


def open_compare(live_server: LiveServer, page: Page, run_url: str, name: str) -> str:
    live_server.sign_in(page, Role.CONTRIBUTOR, run_url.removeprefix(live_server.url))
    page.locator(".mm-cell", has_text=name).locator(".mm-path").click()
    page.click("text=Side by side")
    page.wait_for_url(re.compile(r"/compare/\d+$"))
    return page.locator("main").inner_text()


def test_the_compare_page_frames_the_matched_regions(live_server: LiveServer, page: Page, run_url: str) -> None:
    main = open_compare(live_server, page, run_url, "heron-crop.jpg")
    assert "Matched region: contains the known picture or part of it" in main
    assert re.search(r"\d+ % of the known picture is present", main)
    assert re.search(r"Verified by\s+\d+ matching points", main) and "(identical)" not in main  # a similarity match has no hash distance
    overlays = page.locator(".mm-overlaid svg.mm-region")
    expect(overlays).to_have_count(2)
    # polled from here: wait_for_function evaluates its predicate inside the page, which the CSP forbids
    for _ in range(100):
        if page.evaluate("[...document.querySelectorAll('.mm-overlaid img')].every(img => img.complete)"):
            break
        page.wait_for_timeout(100)
    page.evaluate("window.dispatchEvent(new Event('resize'))")
    for index in range(2):  # each frame lies over its picture
        picture = page.locator(".mm-overlaid img.mm-content").nth(index).bounding_box()
        frame = overlays.nth(index).bounding_box()
        assert picture and frame and abs(picture["x"] - frame["x"]) < 2 and abs(picture["width"] - frame["width"]) < 2
    assert_accessible(page)


def test_a_low_detail_copy_is_shown_as_a_whole_picture_comparison(live_server: LiveServer, page: Page, run_url: str) -> None:
    main = open_compare(live_server, page, run_url, "dusk-small.jpg")
    assert re.search(r"Verified by\s+a whole-picture comparison \(no matching points to count\)", main)
    assert "whole picture, low detail: miniatures differ by" in main and "(identical)" not in main
    assert_accessible(page)


def test_a_related_match_is_named_a_shared_scene_not_a_copy(live_server: LiveServer, page: Page, run_url: str) -> None:
    live_server.sign_in(page, Role.CONTRIBUTOR, run_url.removeprefix(live_server.url) + "?status=related")
    expect(page.locator(".mm-cell")).to_have_count(1)
    expect(page.locator(".mm-cell")).to_contain_text("Related: shares a scene or object with known material (not a copy)")
    main = open_compare(live_server, page, run_url, "hall-right.jpg")
    assert "Related: shares a scene or object with the known picture (not a copy)" in main
    assert "Matched region: contains" not in main
