"""Series and item pages in chromium against a live server: the list searches and filters, a
series page shows its items blurred, its agencies and timeline, and marks the victim
identified only with a reason and a confirmation (the other agencies are notified, the audit
trail keeps the reason); an item shows who had it first and where it matched; a video plays
muted and paused; roles without metadata access get the 403 page; axe-core finds no serious
or critical violation on any of them."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.identify import note_interest
from mediamatch.services.samples import generated_picture, generated_video
from mediamatch.store.models.audit import AuditEventRow
from mediamatch.store.models.catalogue import Agency, Series
from mediamatch.store.models.server import Notification
from tests.web.conftest import HOME_AGENCY, OTHER_AGENCY, LiveServer, start_live_server
from tests.web.web_checks import assert_accessible

if TYPE_CHECKING:
    from playwright.sync_api import Page


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (240, 180)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Lark: three pictures, contributed by this agency and then one again by the other,
    which has also matched it; Kestrel: one short video."""
    root = tmp_path_factory.mktemp("series-pages")
    video = generated_video(root / "clip.mp4", seconds=2, fps=5, size=(160, 120), seed=4)
    with start_live_server(root, triage_workers=1) as live:
        engine, blobs = live.app.state.engine, live.app.state.blobs
        pictures = [BytesSource(f"lark-{n}.jpg", jpeg(n)) for n in range(3)]
        contribute(engine, pictures, ContributionRequest(series="Lark", agency=HOME_AGENCY[0], country=HOME_AGENCY[1]), workers=1)
        contribute(engine, pictures[:1], ContributionRequest(series="Lark", agency=OTHER_AGENCY[0], country=OTHER_AGENCY[1], case="BR-1"), workers=1)
        contribute(engine, [BytesSource("clip.mp4", video.read_bytes())], ContributionRequest(series="Kestrel", agency=HOME_AGENCY[0]), workers=1)
        for source in [*pictures, BytesSource("clip.mp4", video.read_bytes())]:
            blobs.put(source.data)
        with live.session() as session:
            other = session.scalar(sa.select(Agency.id).where(Agency.name == OTHER_AGENCY[0]))
            lark = session.scalar(sa.select(Series.id).where(Series.name == "Lark"))
            note_interest(session, other, {lark}, "matched")  # type: ignore[arg-type]
        yield live


def test_the_series_list_searches_and_filters(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/series")
    assert page.locator("main tbody tr td:first-child").all_inner_texts() == ["Kestrel", "Lark"]
    assert_accessible(page)
    page.fill("input[name=q]", "LAR")
    page.get_by_role("button", name="Search", exact=True).click()  # not the "Region search" link in the navigation
    page.wait_for_url(re.compile(r"q=LAR"))
    assert page.locator("main tbody tr td:first-child").all_inner_texts() == ["Lark"]
    page.goto(f"{live_server.url}/series?identified=yes")
    assert "No series matches." in page.locator("main").inner_text()


def test_a_series_page_shows_items_blurred_agencies_and_timeline(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/series/Lark")
    main = page.locator("main").inner_text()
    assert "3\nitems" in main or "3 items" in main
    agencies = page.locator("table").filter(has_text="Worked on it").inner_text()
    assert "Unit NL\tNL\tcontributed" in agencies and "Unit BR\tBR\tmatched" in agencies  # its first reason is kept
    images = page.locator(".mm-items img.mm-content")
    assert images.count() == 3
    assert images.first.evaluate("img => getComputedStyle(img).filter").startswith("grayscale(1) blur(")
    assert "No victim of this series is identified yet." in main
    assert_accessible(page)


def test_marking_the_victim_identified_needs_a_reason_and_a_confirmation(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/series/Lark")
    page.click("summary:has-text('Mark victim identified')")
    assert_accessible(page)
    page.click("button:has-text('Mark victim identified')")
    assert page.url.endswith("/series/Lark")  # the browser refuses the form without reason and confirmation
    page.fill("#mm-reason", "Identified by the Unit NL victim identification team")
    page.check("input[name=confirm]")
    page.click("button:has-text('Mark victim identified')")
    page.wait_for_url(re.compile(r"/series/Lark\?identified=1$"))
    assert page.locator("#mm-identification-state").inner_text() == "Victim identified."
    with live_server.session() as session:
        notified = session.scalars(
            sa.select(Notification.message).join(Agency, Agency.id == Notification.agency_id).where(Agency.name == OTHER_AGENCY[0])
        ).all()
        assert len(notified) == 1 and "Lark" in notified[0]
        event = session.scalars(sa.select(AuditEventRow).where(AuditEventRow.action == "identify")).one()
        assert (event.object_id, json.loads(event.detail)["reason"], json.loads(event.detail)["notified"]) == (
            "Lark",
            "Identified by the Unit NL victim identification team",
            [OTHER_AGENCY[0]],
        )


def test_an_item_shows_who_had_it_first_and_its_signals(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/series/Lark")
    page.click("text=Item #1")
    page.wait_for_url(re.compile(r"/items/1$"))
    contributions = page.locator("table").filter(has_text="File name")
    rows = contributions.locator("tbody tr")
    assert rows.count() == 2
    assert "Unit NL (NL)" in rows.nth(0).inner_text() and "(first)" in rows.nth(0).inner_text()
    assert "Unit BR (BR)" in rows.nth(1).inner_text() and "BR-1" in rows.nth(1).inner_text()
    signals = page.locator("table").filter(has_text="Quality").inner_text()
    assert "sha256" in signals and "pdq" in signals
    full = page.locator("img.mm-content")
    assert "size=1024" in (full.get_attribute("src") or "")
    with page.expect_response(re.compile(r"/content/media/1/thumbnail\?size=1024&reveal=1")) as revealed:
        page.click("button.mm-reveal")
    assert revealed.value.status == 200
    assert_accessible(page)


def test_a_video_plays_muted_and_paused(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.INVESTIGATOR, "/series/Kestrel")
    page.click("text=Item #")
    video = page.locator("video.mm-content")
    assert video.evaluate("v => [v.muted, v.paused, v.autoplay]") == [True, True, False]
    assert page.locator("img.mm-content[alt^='Contact sheet']").count() == 1
    assert_accessible(page)


def test_roles_without_metadata_access_get_the_403_page(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    live_server.sign_in(page, Role.CONTRIBUTOR)
    for path in ("/series", "/series/Lark", "/items/1"):
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 403, path
        assert "Not open to your role" in page.locator("h1").inner_text()
