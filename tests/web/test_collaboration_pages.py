"""The collaboration pages over HTTP, signed in through the form: claims with deconfliction,
clues (own-agency ones hidden from others), a help request's crop under four eyes, search, and
the statistics drawn as server-side SVG."""

from __future__ import annotations

import re

import httpx
import pytest

from mediamatch.auth.permissions import Role
from tests.web.conftest import OTHER_AGENCY, LiveServer, csrf_token
from tests.web.seed import contribute_items

SERIES = "Kestrel"


def post(client: httpx.Client, path: str, form: dict[str, object], token_page: str = "/clues") -> httpx.Response:
    return client.post(path, data={**{k: str(v) for k, v in form.items()}, "csrf_token": csrf_token(client.get(token_page).text)})


@pytest.fixture(scope="module")
def accounts(live_server: LiveServer) -> dict[str, httpx.Client]:
    items = contribute_items(live_server, [11, 12], SERIES)
    live_server.add_account("second@nl", Role.INVESTIGATOR)
    live_server.add_account("investigator@br", Role.INVESTIGATOR, OTHER_AGENCY)
    clients = {"nl": live_server.client(Role.INVESTIGATOR), "nl2": live_server.client("second@nl"), "br": live_server.client("investigator@br")}
    clients["admin"] = live_server.client(Role.ADMIN)
    clients["contributor"] = live_server.client(Role.CONTRIBUTOR)
    clients["media"] = min(items)  # type: ignore[assignment]
    return clients


def test_claims_clues_help_requests_and_search_in_the_pages(accounts: dict) -> None:
    nl, nl2, br = accounts["nl"], accounts["nl2"], accounts["br"]
    claimed = post(nl, "/investigations/claim", {"series": SERIES, "case_reference": "NL-77", "contact": "desk@nl.example"}, "/investigations")
    assert claimed.status_code == 200 and "Your agency now works Kestrel" in claimed.text
    second = post(br, "/investigations/claim", {"series": SERIES, "case_reference": "BR-1", "contact": "desk@br.example"}, "/investigations")
    assert "Already under investigation by" in second.text and "Unit NL (NL)" in second.text and "desk@nl.example" in second.text

    box = {"box_left": 20, "box_top": 20, "box_width": 80, "box_height": 60}
    shared = post(
        nl, "/clues/new", {"series": SERIES, "kind": "product", "text": "Marmite jar on the shelf", "country": "gb", "media_id": accounts["media"], **box}
    )
    private = post(nl, "/clues/new", {"series": SERIES, "kind": "language", "text": "Limburgish overheard", "visibility": "agency"})
    assert shared.status_code == private.status_code == 303
    mine, theirs = nl.get(f"/clues?series={SERIES}").text, br.get(f"/clues?series={SERIES}").text
    assert "Marmite" in mine and "Limburgish" in mine and "Marmite" in theirs and "Limburgish" not in theirs
    assert "Marmite" in br.get("/clues?q=marmite").text and "Limburgish" not in br.get("/clues?q=limburgish").text

    clue_id = re.search(r'name="clue_id" value="(\d+)"', mine).group(1)  # type: ignore[union-attr]
    drafted = post(nl, "/help-requests/new", {"clue_id": clue_id, "question": "Which shop sells this jar?"})
    assert drafted.status_code == 303
    request_page = drafted.headers["location"]
    assert "Approve and send" not in nl.get(request_page).text  # the author cannot decide
    assert br.get(request_page).status_code == 404  # not sent yet
    assert post(nl2, f"{request_page}/decision", {"approve": "true"}).status_code == 303
    seen = br.get(request_page)
    assert seen.status_code == 200 and "Which shop sells this jar?" in seen.text and f"{request_page}/crop" in seen.text
    crop = br.get(f"{request_page}/crop")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg" and crop.headers["cache-control"] == "no-store"
    assert post(br, f"{request_page}/answers", {"body": "A Tesco in Leeds"}).status_code == 303
    assert "A Tesco in Leeds" in nl.get(request_page).text


def test_the_statistics_page_draws_its_charts_on_the_server(accounts: dict) -> None:
    page = accounts["admin"].get("/statistics")
    assert page.status_code == 200
    assert page.text.count("<svg") == 6 and "Open investigations per agency" in page.text
    assert "http://" not in page.text.split("<svg", 1)[1].replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert accounts["br"].get("/statistics").status_code == 200
    assert accounts["contributor"].get("/statistics").status_code == 403
