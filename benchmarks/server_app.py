"""The server app the benchmarks run, built in each uvicorn worker process from the environment
(`uvicorn benchmarks.server_app:app --factory --workers N`): the product's app with the rate
limit lifted (one benchmark token sends far more than an account's 600 requests a minute) and,
with BENCH_NO_AUDIT=1, the audit call of query routes replaced by its bare commit (to measure
what auditing costs; the product has no such switch)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI


def app() -> FastAPI:
    from mediamatch.api.app import create_app
    from mediamatch.api.settings import ServerSettings

    if os.environ.get("BENCH_NO_AUDIT") == "1":
        from mediamatch.api.routes import query

        query.audit = lambda session, event: session.commit()  # type: ignore[assignment]
    settings = ServerSettings(
        db_url=os.environ["BENCH_DB_URL"],
        blob_root=Path(os.environ["BENCH_BLOB_ROOT"]),
        key_file=Path(os.environ["BENCH_KEY_FILE"]),
        requests_per_minute=10**9,
        secure_cookies=False,
    )
    return create_app(settings)
