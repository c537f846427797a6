"""Take docs/live-page.png: the live page on the demo's store, in headless Chromium.

    make demo                                   # var/demo/clickhouse: Oct–Nov 2023
    .venv/bin/python -m tests.web.screenshot    # [STORE] [OUT] [DOSSIER]

A real worker serves the store, its clock pinned at the store's watermark (the
demo's last event), so the page shows the province as it stood then; a live
worker on the wall clock would first fire every timer up to today.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stream_app.kafka.broker import EmbeddedBroker
from stream_app.store.client import connect
from tests.web.conftest import LiveWorker
from tests.web.browser import LAUNCH_ARGS, sign_in


def main(store: Path, out: Path, dossier: str | None = None) -> None:
    from playwright.sync_api import sync_playwright

    client = connect(f"chdb://{store.resolve()}")
    try:
        as_of = client.query("SELECT max(watermark) FROM dossier.stream_progress").result_rows[0][0]
    finally:
        client.close()
    with EmbeddedBroker() as broker:
        worker = LiveWorker(store.resolve(), broker.bootstrap, now=as_of).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                sign_in(page, worker.url, "totrinh")
                page.wait_for_selector("#units tbody tr[data-unit]")
                page.wait_for_selector("#chart .unit-chart")
                if dossier:
                    page.fill("#search-input", dossier)
                    page.click("#search-button")
                    page.wait_for_selector("#dossier-events li")
                page.wait_for_timeout(500)
                page.screenshot(path=str(out), full_page=True)
                browser.close()
        finally:
            worker.close()
    print(f"wrote {out} (store {store}, as of {as_of})")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path("var/demo/clickhouse"),
         Path(args[1]) if len(args) > 1 else Path("docs/live-page.png"),
         args[2] if len(args) > 2 else None)
