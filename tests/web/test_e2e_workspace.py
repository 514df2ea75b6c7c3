"""The workspace end to end, in the browser only (one chromium, one live server), as the issue
describes it:

an admin creates two agencies and their accounts; agency A uploads an archive of generated
pictures, triages it and contributes the new files as a series; agency B triages a drive
holding copies and sees "known, first contributed by" A; B marks the victim identified; A sees
the notification; a reviewer confirms one platform hit and rejects another (the hits reported
through the API with a token the admin issued, as a platform would); the auditor finds every
one of those events in the trail and the chain verified. No request leaves the server's origin.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.services.samples import generated_picture
from mediamatch.store.models.catalogue import MediaSignal, Series, media_series
from tests.web.conftest import PASSWORD, LiveServer, start_live_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

RUN_TIMEOUT_MS = 120_000
SERIES = "Osprey"
AGENCY_A, AGENCY_B, PLATFORM = ("Agency A", "NL"), ("Agency B", "BR"), ("Platform P", "IE")
ACCOUNTS = (("a.contributor", AGENCY_A, Role.CONTRIBUTOR), ("b.investigator", AGENCY_B, Role.INVESTIGATOR), ("p.platform", PLATFORM, Role.PLATFORM))


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (240, 180)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


PICTURES = {f"IMG_{seed:04d}.jpg": jpeg(seed) for seed in (31, 32, 33, 34)}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_live_server(tmp_path_factory.mktemp("e2e"), triage_workers=1) as live:
        yield live


class Visit:
    """One person's browser session (a context of the one browser), recording every request."""

    def __init__(self, browser: Browser, live: LiveServer, username: str, next_path: str = "/") -> None:
        self.context = browser.new_context()
        self.page: Page = self.context.new_page()
        self.live = live
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        live.sign_in(self.page, username, next_path)

    def close(self) -> list[str]:
        """Close, returning the requests that went anywhere but the server (there must be none)."""
        self.context.close()
        assert self.errors == [], self.errors
        return [url for url in self.requests if not url.startswith(self.live.url + "/")]


def triage_upload(page: Page, selector: str, files: str | Path) -> None:
    page.set_input_files(selector, str(files))
    page.locator(selector).locator("xpath=..").locator("button[type=submit]").click()
    page.wait_for_selector("#mm-grid", timeout=RUN_TIMEOUT_MS)


def test_the_workspace_end_to_end(live_server: LiveServer, browser: Browser, tmp_path: Path) -> None:
    elsewhere: list[str] = []

    # An admin creates two agencies (and a platform's), their accounts, and the platform's token.
    admin = Visit(browser, live_server, live_server.usernames[Role.ADMIN], "/admin")
    page = admin.page
    for name, country in (AGENCY_A, AGENCY_B, PLATFORM):
        form = page.locator("form[aria-label='New agency']")
        form.locator("input[name=name]").fill(name)
        form.locator("input[name=country]").fill(country)
        form.get_by_role("button", name="Create agency").click()
        page.wait_for_selector(f"td:text-is('{name}')")
    for username, (agency, _), role in ACCOUNTS:
        form = page.locator("form[aria-label='New account']")
        form.locator("select[name=agency_id]").select_option(label=agency)
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("select[name=role]").select_option(role.value)
        form.get_by_role("button", name="Create account").click()
        page.wait_for_selector(f"td:text-is('{username}')")
    token_form = page.locator("tr", has_text="p.platform").locator("form", has_text="Token name")
    token_form.locator("input[name=name]").fill("matcher")
    token_form.get_by_role("button", name=re.compile("Issue token")).click()
    platform_token = page.locator("#issued-token").inner_text().strip()
    elsewhere += admin.close()

    # Agency A uploads an archive, triages it and contributes the new files as a series.
    archive = tmp_path / "seized-a.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, data in PICTURES.items():
            zipped.writestr(f"camera/{name}", data)
    agency_a = Visit(browser, live_server, "a.contributor", "/triage")
    page = agency_a.page
    triage_upload(page, "#mm-files", archive)
    assert page.locator(".mm-status-new").count() == len(PICTURES)
    page.click("#mm-select-page")
    page.fill("input[name=series]", SERIES)
    page.get_by_role("button", name="Contribute selected files").click()
    page.wait_for_selector(f"h1:has-text('Contributed to {SERIES}')")
    assert f"{len(PICTURES)} files contributed: {len(PICTURES)} new to the catalogue" in page.locator("main").inner_text()
    elsewhere += agency_a.close()

    # Agency B triages a drive holding copies, and sees who had them first.
    drive = tmp_path / "drive-b"
    (drive / "Pictures").mkdir(parents=True)
    for name in list(PICTURES)[:3]:
        (drive / "Pictures" / f"copy-of-{name}").write_bytes(PICTURES[name])
    (drive / "Pictures" / "holiday.jpg").write_bytes(jpeg(77))
    agency_b = Visit(browser, live_server, "b.investigator", "/triage")
    page = agency_b.page
    triage_upload(page, "#mm-folder", drive)
    known = page.locator(".mm-status-known_unidentified")
    assert known.count() == 3
    assert all("Known, first contributed by Agency A" in text for text in known.all_inner_texts())
    assert page.locator(".mm-status-new").count() == 1

    # B marks the victim identified, with a reason and a confirmation.
    page.goto(f"{live_server.url}/series")
    page.get_by_role("link", name=SERIES).click()
    page.click("summary:has-text('Mark victim identified')")
    page.fill("#mm-reason", "Victim identified and safeguarded by Agency B")
    page.check("input[name=confirm]")
    page.get_by_role("button", name="Mark victim identified").click()
    page.wait_for_selector("#mm-identification-state:text-is('Victim identified.')")
    elsewhere += agency_b.close()

    # A sees the notification on its home page.
    agency_a = Visit(browser, live_server, "a.contributor", "/")
    notifications = agency_a.page.locator("table", has_text="Message").inner_text()
    assert f"The victim of series '{SERIES}' was identified by Agency B" in notifications
    elsewhere += agency_a.close()

    # A platform reports two hits through the API, with the token the admin issued.
    with live_server.session() as session:
        indicators = session.execute(
            sa.select(MediaSignal.id, MediaSignal.value)
            .join(media_series, media_series.c.media_id == MediaSignal.media_id)
            .join(Series, Series.id == media_series.c.series_id)
            .where(Series.name == SERIES, MediaSignal.signal == "pdq")
            .order_by(MediaSignal.id)
            .limit(2)
        ).all()
    hits = [
        {"signal": "pdq", "value": value, "indicator_id": row_id, "distance": 0, "reference": f"upload-{n}"} for n, (row_id, value) in enumerate(indicators)
    ]
    answer = httpx.post(f"{live_server.url}/api/v1/hits", json={"hits": hits}, headers={"Authorization": f"Bearer {platform_token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    hit_ids = [hit["id"] for hit in answer.json()]

    # A reviewer confirms one and rejects the other.
    reviewer = Visit(browser, live_server, live_server.usernames[Role.REVIEWER], "/review")
    page = reviewer.page
    first = page.locator("article", has_text=f"Hit {hit_ids[0]} ")
    first.locator("input[value=confirm]").check()
    first.get_by_role("button", name=f"Record decision on hit {hit_ids[0]}").click()
    page.wait_for_selector("[role=status]")
    second = page.locator("article", has_text=f"Hit {hit_ids[1]} ")
    second.locator("input[value=reject]").check()
    second.locator("textarea[name=reason]").fill("A different picture: the platform's upload shows another scene")
    second.get_by_role("button", name=f"Record decision on hit {hit_ids[1]}").click()
    page.wait_for_selector("text=No hits are waiting.")
    elsewhere += reviewer.close()

    # The auditor sees every one of those events, and a verified chain.
    auditor = Visit(browser, live_server, live_server.usernames[Role.AUDITOR], "/audit?check=1")
    page = auditor.page
    assert "Chain verified:" in page.locator("#chain-result").inner_text()
    expected = {
        "permission_change": ["Agency A", "Agency B"],
        "user_created": ["a.contributor", "b.investigator", "p.platform"],
        "token_created": ["p.platform"],
        "triage": ["a.contributor", "b.investigator"],
        "upload": [SERIES],
        "identify": [SERIES, "Victim identified and safeguarded by Agency B"],
        "hit_reported": ["p.platform"],
        "hit_reviewed": [str(hit_ids[0]), str(hit_ids[1]), "confirm", "reject"],
    }
    for action, mentions in expected.items():
        page.goto(f"{live_server.url}/audit?action={action}")
        trail = page.locator("main table tbody").inner_text()
        missing = [mention for mention in mentions if mention not in trail]
        assert not missing, f"{action}: {missing} not in\n{trail}"
    elsewhere += auditor.close()

    assert elsewhere == [], f"requests left the server's origin: {elsewhere}"
