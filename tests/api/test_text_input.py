"""NUL characters and lone UTF-16 surrogates are refused with 422 wherever a request carries
text, on SQLite and PostgreSQL alike (they used to fail as 500s, or be stored on SQLite)."""

from __future__ import annotations

import pytest

from mediamatch.api.text_input import problem_with
from mediamatch.auth.permissions import Role
from tests.api.conftest import Server, jpeg

JSON = {"Content-Type": "application/json"}
MD5 = "0" * 32


@pytest.mark.parametrize(
    ("text", "problem"),
    [("ok", None), ("série 😀", None), ("a\x00b", "a NUL character"), ("\ud800", "a lone UTF-16 surrogate"), ("x\udfff", "a lone UTF-16 surrogate")],
)
def test_problem_with(text: str, problem: str | None) -> None:
    assert problem_with(text) == problem


def assert_refused(response: object, location: list[object]) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    [error] = response.json()["detail"]  # type: ignore[attr-defined]
    assert error["type"] == "unstorable_text"
    assert error["loc"] == location


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udc00x", "a\\u0000b"])
def test_json_strings_are_checked(server: Server, escaped: str) -> None:
    body = '{"queries": [{"signal": "md5", "value": "%s", "label": "%s"}]}' % (MD5, escaped)  # noqa: UP031 - JSON's braces read better than an f-string's doubled ones
    response = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR) | JSON, content=body)
    assert_refused(response, ["body", "queries", 0, "label"])


def test_json_keys_are_checked(server: Server) -> None:
    body = '{"queries": [{"signal": "md5", "value": "%s", "\\u0000": 1}]}' % MD5  # noqa: UP031 - JSON's braces read better than an f-string's doubled ones
    response = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR) | JSON, content=body)
    assert_refused(response, ["body", "queries", 0, "\x00"])


def test_a_surrogate_pair_is_ordinary_text(server: Server) -> None:
    body = '{"queries": [{"signal": "md5", "value": "%s", "label": "\\ud83d\\ude00"}]}' % MD5  # noqa: UP031 - JSON's braces read better than an f-string's doubled ones
    response = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR) | JSON, content=body)
    assert response.status_code == 200, response.text
    assert response.json()[0]["label"] == "😀"


def test_names_with_nul_are_not_stored(server: Server) -> None:
    response = server.client.post("/api/v1/agencies", headers=server.headers(Role.ADMIN), json={"name": "Unit\x00X", "country": "FR"})
    assert_refused(response, ["body", "name"])
    listed = server.client.get("/api/v1/agencies", headers=server.headers(Role.ADMIN)).json()
    assert sorted(agency["name"] for agency in listed) == ["Unit BR", "Unit NL"]


def test_path_and_query_parameters_are_checked(server: Server) -> None:
    investigator = server.headers(Role.INVESTIGATOR)
    assert_refused(server.client.get("/api/v1/series/a%00b", headers=investigator), ["path", "name"])
    assert_refused(server.client.get("/api/v1/series?x=%00", headers=investigator), ["query", "x"])


def test_form_fields_and_file_names_are_checked(server: Server) -> None:
    contributor = server.headers(Role.CONTRIBUTOR)
    upload = [("files", ("a.jpg", jpeg(3), "image/jpeg"))]
    assert_refused(server.client.post("/api/v1/media", headers=contributor, files=upload, data={"series": "Lark\x00"}), ["body", "series"])
    boundary = "mm-boundary"
    named = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="series"\r\n\r\nLark\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a\x00.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + jpeg(3)
        + f"\r\n--{boundary}--\r\n".encode()
    )  # written by hand: clients escape a NUL in file names
    content_type = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert_refused(server.client.post("/api/v1/media", headers=contributor | content_type, content=named), ["body", "files"])
    accepted = server.client.post("/api/v1/media", headers=contributor, files=upload, data={"series": "Lark"})
    assert accepted.status_code == 200, accepted.text
