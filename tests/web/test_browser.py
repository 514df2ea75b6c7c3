"""The workspace in Debian's chromium: signing in, what each role sees, CSRF in a real form,
the review queue by keyboard alone, pictures blurred by default (measured on a screenshot),
Esc, the break reminder, the settings, offline docs, and axe-core on every page.

Every test here also fails if a page runs into a script error, the CSP refuses something, or
a request leaves the server (the `page` fixture)."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image, ImageFilter, ImageStat
from sqlalchemy import select

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Role
from mediamatch.services import review
from mediamatch.store.models.audit import AuditEventRow
from tests.web.conftest import REPO_AXE, LiveServer
from tests.web.seed import contribute_items, report_hits

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def hits(live_server: LiveServer) -> list[int]:
    """Three pending platform hits on items of the series Lark."""
    items = contribute_items(live_server, [11, 12, 13], "Lark")
    return report_hits(live_server, items, live_server.usernames[Role.PLATFORM])


def sharpness(png: bytes) -> float:
    """Variance of the edge image inside the picture's middle (its borders fade into the page
    when blurred): high for a sharp picture, near zero for a blurred one."""
    picture = Image.open(io.BytesIO(png)).convert("L")
    width, height = picture.size
    return ImageStat.Stat(picture.filter(ImageFilter.FIND_EDGES).crop((width // 5, height // 5, width * 4 // 5, height * 4 // 5))).var[0]


def saturation(png: bytes) -> float:
    """Mean saturation: zero for greyscale."""
    return ImageStat.Stat(Image.open(io.BytesIO(png)).convert("HSV")).mean[1]


def audit_since(live: LiveServer, seq: int, action: AuditAction) -> list[dict]:
    with live.session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.seq > seq, AuditEventRow.action == action).order_by(AuditEventRow.seq))
        return [json.loads(row.detail) for row in rows]


def last_seq(live: LiveServer) -> int:
    with live.session() as session:
        return session.scalar(select(AuditEventRow.seq).order_by(AuditEventRow.seq.desc()).limit(1)) or 0


def test_sign_in_shows_each_role_only_its_pages_and_a_403_page_for_the_rest(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.REVIEWER)
    nav = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert nav.all_inner_texts() == ["Home", "Review", "Settings"]
    page.goto(f"{live_server.url}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not open to your role")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/login")
    page.goto(f"{live_server.url}/review")
    page.wait_for_url(f"{live_server.url}/login?next=/review")


def test_a_form_without_its_csrf_token_is_refused(live_server: LiveServer, page: Page) -> None:
    live_server.sign_in(page, Role.ADMIN, "/admin")
    form = page.get_by_role("form", name="New agency")
    form.get_by_label("Agency name").fill("Unit FR")
    form.get_by_label("Country (ISO code)").fill("FR")
    form.locator("input[name=csrf_token]").evaluate("field => field.remove()")
    form.get_by_role("button", name="Create agency").click()
    expect(page.locator(".mm-error-message")).to_contain_text("did not come from this site")
    page.goto(f"{live_server.url}/admin")
    assert "Unit FR" not in page.locator("#agencies-title + table").inner_text()


def wait_for_revealed(live_server: LiveServer, before: int, timeout: float = 20.0) -> list[dict]:
    """The audited revealed views of hit comparisons since `before`, once the first has arrived:
    the browser loads the revealed picture after the click, so its audit row comes a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        revealed = [detail for detail in audit_since(live_server, before, AuditAction.VIEW_HIT_COMPARISON) if detail["revealed"]]
        if revealed or time.monotonic() > deadline:
            return revealed
        time.sleep(0.1)


def test_the_review_queue_works_by_keyboard_alone_and_every_view_is_audited(live_server: LiveServer, hits: list[int], page: Page) -> None:
    live_server.sign_in(page, Role.REVIEWER, "/review")
    first = page.locator(f"article[aria-labelledby='hit-{hits[0]}-title']")
    assert page.locator("article.mm-hit").first.get_attribute("aria-labelledby") == f"hit-{hits[0]}-title"  # oldest first
    expect(first.locator("figcaption .mm-label")).to_have_text(["Platform upload", f"Known reference, catalogue item {review_item(live_server, hits[0])}"])
    before = last_seq(live_server)

    # Tab to the first hit's first reveal button, reveal with the space bar, veil all with Esc.
    reveal = first.get_by_role("button", name="Reveal Platform upload")
    tab_to(page, reveal)
    page.keyboard.press("Space")
    expect(first.locator("img.mm-content").first).to_have_class("mm-content mm-revealed")
    revealed = wait_for_revealed(live_server, before)  # the revealed picture's request, audited by the server
    page.keyboard.press("Escape")
    expect(first.locator("img.mm-content").first).to_have_class("mm-content")
    assert [(detail["side"], detail["via"]) for detail in revealed] == [("upload", "web")]

    # Decide: confirm with the keyboard (radio, text, submit with Enter).
    tab_to(page, first.get_by_role("radio", name="Confirm: the upload is the known item"))
    page.keyboard.press("Space")
    tab_to(page, first.get_by_label("Action taken (for the report record)"))
    page.keyboard.type("removed the post")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Hit confirmed; its report record was written.")

    # The next oldest is now first: rejecting it without a reason is refused, with one it is recorded.
    second = page.locator(f"article[aria-labelledby='hit-{hits[1]}-title']")
    tab_to(page, second.get_by_role("radio", name="Confirm: the upload is the known item"))  # Tab enters the group at its first choice
    page.keyboard.press("ArrowDown")  # the arrow moves to, and chooses, "Reject"
    expect(second.get_by_role("radio", name="Reject: not a match (disputes the indicator)")).to_be_checked()
    tab_to(page, second.get_by_role("button", name=f"Record decision on hit {hits[1]}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("reason")
    second = page.locator(f"article[aria-labelledby='hit-{hits[1]}-title']")
    tab_to(page, second.get_by_role("radio", name="Confirm: the upload is the known item"))  # Tab enters the group at its first choice
    page.keyboard.press("ArrowDown")  # the arrow moves to, and chooses, "Reject"
    expect(second.get_by_role("radio", name="Reject: not a match (disputes the indicator)")).to_be_checked()
    tab_to(page, second.get_by_label("Reason (required to reject)"))
    page.keyboard.type("a different scene")
    tab_to(page, second.get_by_role("button", name=f"Record decision on hit {hits[1]}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Hit rejected; its indicator is disputed.")
    decided = audit_since(live_server, before, AuditAction.HIT_REVIEWED)
    assert [detail["decision"] for detail in decided] == ["confirm", "reject"]
    with live_server.session() as session:
        assert [review.get_hit(session, hit).status for hit in hits] == ["confirmed", "rejected", "pending"]


def review_item(live: LiveServer, hit_id: int) -> int:
    with live.session() as session:
        return review.get_hit(session, hit_id).indicator.media_id


def tab_to(page: Page, target, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until `target` has the focus (the test fails if it never gets it)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} is not reachable with Tab")


def test_pictures_are_greyscale_and_blurred_until_revealed(live_server: LiveServer, hits: list[int], page: Page) -> None:
    live_server.sign_in(page, Role.REVIEWER, "/review")
    known = page.locator(f"article[aria-labelledby='hit-{hits[2]}-title'] img.mm-content").nth(1)
    expect(known).to_have_js_property("complete", True)
    page.wait_for_function("img => img.naturalWidth > 0", arg=known.element_handle())
    page.wait_for_timeout(300)  # the filter's transition
    veiled = known.screenshot()
    assert known.evaluate("img => getComputedStyle(img).filter") == "grayscale(1) blur(12px)"
    known.locator("xpath=ancestor::figure").get_by_role("button").click()
    expect(known).to_have_css("filter", "none")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0 && img.src.includes('reveal=1')", arg=known.element_handle())
    page.wait_for_timeout(300)
    shown = known.screenshot()
    assert saturation(veiled) < 1 < saturation(shown)
    assert sharpness(veiled) * 20 < sharpness(shown), (sharpness(veiled), sharpness(shown))


def test_settings_change_how_pictures_are_shown_and_the_break_reminder_comes(live_server: LiveServer, hits: list[int], page: Page) -> None:
    username = live_server.add_account("second-reviewer@nl", Role.REVIEWER)
    live_server.sign_in(page, username, "/settings")
    page.get_by_label("Blur strength (pixels, 0 to 64)").fill("30")
    page.get_by_label("Break reminder after this many minutes of revealed viewing (0: none)").fill("1")
    page.get_by_label("Greyscale until revealed").uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.get_by_label("Thumbnail size (pixels, 64 to 1024)").fill("5000")
    page.get_by_label("Thumbnail size (pixels, 64 to 1024)").evaluate("field => field.removeAttribute('max')")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_have_text("the thumbnail size must be between 64 and 1024, not 5000")

    page.goto(f"{live_server.url}/review")
    image = page.locator("img.mm-content").first
    assert image.evaluate("img => getComputedStyle(img).filter") == "grayscale(0) blur(30px)"
    page.evaluate("sessionStorage.setItem('mm-revealed-ms', String(60000 - 1500))")  # 1.5 s short of the minute
    page.locator(".mm-reveal").first.click()
    expect(page.get_by_role("alertdialog")).to_be_visible(timeout=10000)
    expect(image).to_have_class("mm-content")  # the reminder veiled everything


def test_the_api_docs_render_from_the_server_alone(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/docs")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("mediamatch", timeout=15000)


AXE_PAGES = {
    None: ["/login"],
    Role.ADMIN: ["/", "/admin", "/review/error-rates", "/settings"],
    Role.REVIEWER: ["/review", "/no/such/page", "/admin"],
    Role.AUDITOR: ["/audit?check=1"],
    Role.INVESTIGATOR: ["/similar"],
}


@pytest.mark.parametrize("role", list(AXE_PAGES), ids=lambda role: str(role or "signed-out"))
def test_axe_finds_no_serious_or_critical_violations(live_server: LiveServer, hits: list[int], browser, role: Role | None) -> None:  # type: ignore[no-untyped-def]
    if not REPO_AXE.is_file():
        pytest.skip(f"axe-core is not installed at {REPO_AXE} (scripts/test.sh installs it with npm)")
    context = browser.new_context(bypass_csp=True)  # to inject axe itself; the pages' own CSP is tested above
    page = context.new_page()
    if role is not None:
        live_server.sign_in(page, role)
    found = {}
    for path in AXE_PAGES[role]:
        page.goto(f"{live_server.url}{path}")
        page.add_script_tag(path=str(REPO_AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        assert result["passes"], f"axe checked nothing on {path}"
        found[path] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    context.close()
    assert found == {path: [] for path in AXE_PAGES[role]}
