"""A clue kept to its own agency is invisible to every other agency on every route.

Like test_authorization.py, the routes are read from the app (every router in ROUTERS), so a new
route is walked without being listed here: each is called by another agency's investigator with
the private clue's id (and its thread's and help request's) in the path, and neither its text
nor its thread may come back; a route that names the clue or the request answers 404, as for an
id that does not exist."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from mediamatch.api.app import ROUTERS
from mediamatch.auth.permissions import Role
from tests.api.conftest import AGENCIES, Server, jpeg

OWNER, OTHER = AGENCIES[0][0], AGENCIES[1][0]
SECRET = "quokkasecret"
THREAD = "wombatthread"
BODIES = {"comments": {"body": "a question"}, "answers": {"body": "an answer"}, "decision": {"approve": True}, "end": {"kind": "closed", "reason": "x"}}


def private_clue(server: Server) -> dict[str, object]:
    """The owner's series with an own-agency clue, a comment under it and a draft help request; their ids."""
    owner = server.headers(Role.INVESTIGATOR, OWNER)
    added = server.client.post("/api/v1/media", headers=server.headers(Role.CONTRIBUTOR, OWNER), files=[("files", ("p.jpg", jpeg(5), "image/jpeg"))],
                               data={"series": "Heron"}).json()  # fmt: skip
    body = {"series": "Heron", "media_id": added[0]["media_id"], "box": {"left": 0, "top": 0, "width": 50, "height": 50}, "kind": "location",
            "text": f"{SECRET} tram stop sign", "country": "NL", "visibility": "agency"}  # fmt: skip
    clue = server.client.post("/api/v1/clues", headers=owner, json=body).json()
    assert server.client.post(f"/api/v1/clues/{clue['id']}/comments", headers=owner, json={"body": f"{THREAD} seen in Utrecht"}).status_code == 200
    request = server.client.post("/api/v1/help-requests", headers=owner, json={"clue_id": clue["id"], "question": "Which town?"}).json()
    return {"clue_id": clue["id"], "request_id": request["id"], "name": "Heron", "media_id": added[0]["media_id"]}


def call(server: Server, method: str, path: str, ids: dict[str, object], role: Role, agency: str):  # type: ignore[no-untyped-def]
    concrete = re.sub(r"\{([^}]+)\}", lambda m: str(ids.get(m.group(1), 999999)), path)
    params = {"q": SECRET} if path.endswith("/search") else {"series": ids["name"]} if path.endswith("/clues") else {}
    body = BODIES.get(path.rsplit("/", 1)[-1], {"text": "changed"} if method == "PATCH" else {})
    return server.client.request(method, concrete, headers=server.headers(role, agency), params=params, json=body)


def test_own_agency_clues_are_invisible_to_other_agencies_route_by_route(server: Server) -> None:
    ids = private_clue(server)
    owner_view = call(server, "GET", "/api/v1/clues/{clue_id}", ids, Role.INVESTIGATOR, OWNER)
    assert owner_view.status_code == 200 and SECRET in owner_view.text  # the owner sees it: the check below can fail
    assert SECRET in call(server, "GET", "/api/v1/search", ids, Role.INVESTIGATOR, OWNER).text
    walked = 0
    naming: set[tuple[str, str]] = set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            if route.path.startswith("/api/v1/auth/"):
                continue  # logging in or out shows no catalogue data (and logout would end the session walked with)
            for method in sorted(route.methods):
                for role in (Role.INVESTIGATOR, Role.CONTRIBUTOR, Role.REVIEWER):
                    response = call(server, method, route.path, ids, role, OTHER)
                    assert SECRET not in response.text and THREAD not in response.text, (role, method, route.path)
                    if "{clue_id}" in route.path or "{request_id}" in route.path:
                        naming.add((method, route.path))
                        assert response.status_code in (403, 404), (role, method, route.path, response.status_code, response.text)
                        if role is Role.INVESTIGATOR:
                            assert response.status_code == 404, (method, route.path, response.text)
                    walked += 1
    assert walked > 3 * 50 and len(naming) >= 11  # clue: show, edit, delete, history, thread (2); request: show, decide, crop, answers (2)
    # Nothing the other agency tried changed the clue or reached its thread.
    after = call(server, "GET", "/api/v1/clues/{clue_id}", ids, Role.INVESTIGATOR, OWNER).json()
    assert after["text"].startswith(SECRET) and not after["deleted"]
    thread = call(server, "GET", "/api/v1/clues/{clue_id}/comments", ids, Role.INVESTIGATOR, OWNER).json()
    assert [comment["agency"] for comment in thread] == [OWNER]
