"""Screenshot of the `textgen serve` playground after one generation, for the README.

Usage:
    python scripts/screenshot_serve.py RUN_DIR [RUN_DIR...] --model NAME --prompt TEXT
        [--length 300] [--seed 1] [--temperature 0.8] [--width 900] [--out docs/serve.png]

Starts `textgen serve` on a free loopback port, opens the page in headless
Chromium (the system's, through playwright), picks the model, generates and
waits for the end, then saves a full-page PNG. The text is what the model wrote.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serving import start_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--width", type=int, default=900)
    parser.add_argument("--out", type=Path, default=Path("docs/serve.png"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("no Chromium: apt-get install chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    server = start_server(*args.runs)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": 700})
            page.goto(server.url + "/")
            page.wait_for_function(f"document.querySelectorAll('#model option').length == "
                                   f"{len(args.runs)}")
            page.select_option("#model", args.model)
            page.fill("#prompt", args.prompt)
            page.fill("#length", str(args.length))
            page.fill("#seed", str(args.seed))
            page.fill("#temperature", str(args.temperature))
            page.click("#generate")
            page.wait_for_function("document.querySelector('#status').textContent"
                                   ".includes('tokens in')", timeout=120_000)
            page.screenshot(path=str(args.out), full_page=True)
            print(page.inner_text("#status"))
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
