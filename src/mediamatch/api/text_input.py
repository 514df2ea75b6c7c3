"""Refuse text that no back end can store, once, for every route: a NUL character or a lone
UTF-16 surrogate in any JSON string (keys included), form field, upload file name, query or
path parameter is answered 422.

JSON may spell both (`"\\u0000"`, `"\\ud800"`), and Python decodes them into a `str` that
looks valid until it reaches the database: PostgreSQL refuses NUL in text, SQLite stores it
(and C tools then cut the value short), and a lone surrogate cannot be encoded as UTF-8 at
all, so it failed as a 500 wherever it was first written or echoed back. Checking in one app
dependency, before any route or body validation runs, keeps the rule out of every schema and
route and covers the ones written later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

# JSON decoding joins a valid surrogate pair into one code point: any surrogate left is lone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
Located = tuple[tuple[str | int, ...], str]  # (where in the request, the text)


def problem_with(text: str) -> str | None:
    """What makes `text` unstorable, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"


def _json_strings(value: object, location: tuple[str | int, ...]) -> Iterator[Located]:
    if isinstance(value, str):
        yield location, value
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _json_strings(item, (*location, position))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*location, key), key  # keys are strings too
            yield from _json_strings(item, (*location, key))


async def _request_strings(request: Request) -> list[Located]:
    """Every string the request carries, with where it is (as FastAPI's errors say `loc`)."""
    found: list[Located] = []
    for name, value in request.path_params.items():
        found.append((("path", name), str(value)))
    for name, value in request.query_params.multi_items():
        found += [(("query", name), name), (("query", name), value)]
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None  # not JSON: the route's own validation says so
        found += _json_strings(body, ("body",))
    elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in (await request.form()).multi_items():
            found.append((("body", name), name))
            found.append((("body", name), (value.filename or "") if isinstance(value, UploadFile) else value))
    return found


async def refuse_unstorable_text(request: Request) -> None:
    """The app-wide dependency: 422 naming the first field that holds unstorable text."""
    for location, text in await _request_strings(request):
        problem = problem_with(text)
        if problem is not None:
            detail = [{"type": "unstorable_text", "loc": list(location), "msg": f"text may not contain {problem}"}]
            raise HTTPException(422, detail)
