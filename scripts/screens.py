"""Screenshots of each page of the browser workspace, for docs/screens/ (linked from the README).

Builds the demo catalogue in a temporary folder (generated, benign pictures), serves it on a
free loopback port, signs in as the demo account of each role in Debian's chromium and saves
one full-page PNG per page. Nothing is revealed: every picture in the screenshots is greyscale
and blurred, as the pages show it by default.

    python scripts/screens.py [--out docs/screens] [--chromium /usr/bin/chromium]

Pages added later add a line to SCREENS.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from mediamatch.auth.permissions import Role

#: (file name, role signed in, or None for signed out, path)
SCREENS: tuple[tuple[str, Role | None, str], ...] = (
    ("sign-in", None, "/login"),
    ("home", Role.INVESTIGATOR, "/"),
    ("settings", Role.INVESTIGATOR, "/settings"),
    ("triage", Role.INVESTIGATOR, "/triage"),
    ("series", Role.INVESTIGATOR, "/series"),
    ("series-page", Role.INVESTIGATOR, "/series/Harbour"),
    ("item", Role.INVESTIGATOR, "/items/1"),
    ("region-search", Role.INVESTIGATOR, "/similar"),
    ("investigations", Role.INVESTIGATOR, "/investigations"),
    ("clues", Role.INVESTIGATOR, "/clues"),
    ("help-requests", Role.INVESTIGATOR, "/help-requests"),
    ("statistics", Role.INVESTIGATOR, "/statistics"),
    ("review", Role.REVIEWER, "/review"),
    ("error-rates", Role.ADMIN, "/review/error-rates"),
    ("admin", Role.ADMIN, "/admin"),
    ("audit", Role.AUDITOR, "/audit?check=1"),
    ("forbidden", Role.AUDITOR, "/admin"),
    ("not-found", Role.INVESTIGATOR, "/no/such/page"),
)
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens", help="folder for the PNG files")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"), help="the chromium to drive")
    options = parser.parse_args()
    if not options.chromium:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name in shoot(Path(scratch), options.out, options.chromium):
            print(options.out / f"{name}.png")


def shoot(scratch: Path, out: Path, chromium: str) -> list[str]:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from mediamatch.api.app import create_app
    from mediamatch.api.settings import ServerSettings
    from mediamatch.services.demo import build_catalogue, prepare_workspace

    db_url = f"sqlite:///{scratch / 'catalogue.sqlite'}"
    build_catalogue(scratch, db_url, workers=1)
    workspace = prepare_workspace(scratch, db_url)
    usernames = {role: name for name, role in workspace.accounts.items()}
    app = create_app(ServerSettings(db_url=db_url, blob_root=workspace.blob_root, key_file=workspace.key_file, secure_cookies=False))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    taken = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            for name, role, path in SCREENS:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                if role is not None:
                    page.goto(f"{url}/login")
                    page.fill("#username", usernames[role])
                    page.fill("#password", workspace.password)
                    page.click("button[type=submit]")
                    page.wait_for_url(f"{url}/")
                page.goto(f"{url}{path}")
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)  # the blur's transition
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                taken.append(name)
                context.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
    return taken


if __name__ == "__main__":
    main()
