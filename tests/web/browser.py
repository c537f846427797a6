"""Headless Chromium for the page's tests: Debian's `chromium`, driven by Playwright.

Chromium comes from Debian's `chromium` package, installed with apt-get when it is
missing (Playwright's own browser download cannot work offline); a test skips,
saying why, only when that install fails. `open_page` signs in through the real
form and records every console error, uncaught exception and Content-Security-Policy
violation of the page (`Console`), the listener installed before any script of the
page runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.web.conftest import USERS

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 1000}
# Playwright adds it through the DevTools protocol, which the page's CSP does not govern.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def _install_chromium() -> str | None:
    """apt-get the Debian package; None when done, else why it failed."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(cmd)}: {exc}"
        if done.returncode != 0:
            return f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        why = _install_chromium()
        if not CHROMIUM.exists():
            pytest.skip(f"Debian's chromium could not be installed: {why}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the test extras install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Every console error and uncaught exception of a page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_message(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def on_error(self, exc: Any) -> None:
        self.errors.append(f"page error: {exc}")


def new_page(browser: Any, **context: Any) -> tuple[Any, Console]:
    """A page in a fresh browser context (its own cookies), listening from the start."""
    ctx = browser.new_context(viewport=VIEWPORT, **context)
    ctx.add_init_script(CSP_LISTENER)
    console = Console()
    pg = ctx.new_page()
    pg.on("console", console.on_message)
    pg.on("pageerror", console.on_error)
    return pg, console


def sign_in(pg: Any, url: str, name: str, password: str | None = None) -> None:
    """Open the page, land on the sign-in form, fill it in and send it, as a person does."""
    pg.goto(url + "/")
    pg.wait_for_selector("#signin")
    pg.fill("#username", name)
    pg.fill("#password", USERS[name][1] if password is None else password)
    pg.click("#signin-button")
    pg.wait_for_load_state()


def csp_violations(pg: Any) -> list[str]:
    return pg.evaluate("window.__csp")
