"""`mediamatch serve --workers N --checkpoint-every …` as an operator runs it: several worker
processes answer, and the serving process alone signs audit checkpoints on a schedule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from typer.testing import CliRunner

from mediamatch.audit.checkpoint import check_checkpoints, read_checkpoints
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import issue_token
from mediamatch.auth.users import authenticate_password, create_user, redeem_enrolment
from mediamatch.cli.main import app
from mediamatch.hashlist.signing import generate_keypair, load_public_key
from mediamatch.store import repo
from mediamatch.store.db import migrate, open_engine, session_scope
from mediamatch.store.keys import Keyring, generate_key, write_key_file
from tests.stream_fixtures import free_port


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_two_workers_answer_and_the_server_signs_checkpoints_on_a_schedule(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    engine = open_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:
        user = create_user(session, repo.get_or_create_agency(session, "Unit NL", "NL"), "investigator@nl", "correct horse battery staple", Role.INVESTIGATOR)
        token = issue_token(session, user, "test", timedelta(days=1), datetime.now(timezone.utc)).plaintext
    write_key_file(tmp_path / "content.keys", Keyring({"k1": generate_key()}, current_id="k1"))
    public_key = generate_keypair(tmp_path / "checkpoint.key")
    checkpoints, port = tmp_path / "checkpoints.jsonl", free_port()
    command = [sys.executable, "-c", "from mediamatch.cli.main import app; app()", "serve", "--db", db_url, "--port", str(port), "--workers", "2"]
    command += ["--key-file", str(tmp_path / "content.keys"), "--blob-root", str(tmp_path / "blobs"), "--insecure-cookies"]
    command += ["--checkpoint-every", "0.01", "--checkpoint-key", str(tmp_path / "checkpoint.key"), "--checkpoint-out", str(checkpoints)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MEDIAMATCH_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, server.communicate()[0]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = {"queries": [{"signal": "md5", "value": "0" * 32}]}
        for _ in range(6):  # fresh connections: the kernel spreads them over the workers
            answer = httpx.post(f"{base}/api/v1/query/hashes", json=body, headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=60)
            assert answer.status_code == 200, answer.text
        assert len(children(server.pid)) >= 2  # the workers (uvicorn's supervisor is this process)
        while len(checkpoints.read_text().splitlines() if checkpoints.exists() else []) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0]
    made = read_checkpoints(checkpoints, load_public_key(public_key))
    assert len(made) >= 3, output  # at start, at least one tick, at stop
    assert made[-1].seq == 6  # the last one, made at shutdown, covers every query's audit event
    assert check_checkpoints(engine, made).ok
    engine.dispose()


def test_user_add_gives_people_an_enrolment_code_and_only_admins_a_password(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "init", "--db", db_url]).exit_code == 0
    admin = runner.invoke(
        app,
        ["user", "add", "root", "--agency", "Hotline", "--country", "NL", "--role", "admin", "--password-stdin", "--db", db_url],
        input="a long admin passphrase\n",
    )
    assert admin.exit_code == 0, admin.output
    refused = runner.invoke(
        app, ["user", "add", "ines", "--agency", "Hotline", "--role", "investigator", "--password-stdin", "--db", db_url], input="chosen for her\n"
    )
    assert refused.exit_code == 2 and "enrolment code" in refused.output
    made = runner.invoke(app, ["user", "add", "ines", "--agency", "Hotline", "--role", "investigator", "--db", db_url])
    assert made.exit_code == 0, made.output
    code = made.output.rsplit(": ", 1)[1].strip()
    engine = open_engine(db_url)
    with session_scope(engine) as session:
        redeem_enrolment(session, "ines", code, "her own long passphrase", datetime.now(timezone.utc))
    with session_scope(engine) as session:
        assert authenticate_password(session, "ines", "her own long passphrase", datetime.now(timezone.utc)).role == Role.INVESTIGATOR
    engine.dispose()
