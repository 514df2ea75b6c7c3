"""Fixtures every test may use: the shared benign test data and fresh databases.

`db_url` runs a test once on a new SQLite file and once on a new PostgreSQL database, so the
catalogue is proven on both back ends. PostgreSQL comes from `$MEDIAMATCH_TEST_PG_URL`
(set by scripts/test.sh) or is started here with scripts/postgres.sh.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.store.db import migrate, open_engine

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTDATA = REPO_ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """`../shared/testdata` (benign images, videos, reference hashes), or skip."""
    if not TESTDATA.is_dir():
        pytest.skip(f"shared test data not found at {TESTDATA} (only present beside the dev checkout)")
    return TESTDATA


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.sqlite'}"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get("MEDIAMATCH_TEST_PG_URL")
    if not url:
        try:
            url = (
                subprocess.run(
                    ["bash", str(REPO_ROOT / "scripts" / "postgres.sh")],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
        except (subprocess.SubprocessError, OSError, IndexError) as exc:
            pytest.skip(f"no PostgreSQL server available: {exc}")
        os.environ["MEDIAMATCH_TEST_PG_URL"] = url
    return url


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"mm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, _ = pg_admin_url.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on `db_url` with the schema migrated to every head; disposed afterwards."""
    engine = open_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Kill worker processes still alive when the run ends, naming them: the interpreter joins
    process pools at exit, so one stuck worker would hold CI for its whole time budget after
    every test has passed (media/hashing.py `_abandon` prevents the case seen so far)."""
    for child in multiprocessing.active_children():
        print(f"\nkilling a process left running by the tests: {child.name} (pid {child.pid})")
        child.kill()
