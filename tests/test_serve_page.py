"""The playground page in a real browser: headless Chromium (the system's, driven by
playwright) asks for the key, picks a model, streams text in, stops, continues, copies."""

from __future__ import annotations

import shutil

import pytest

from tests.serving import start_server

KEY = "page-key"
LONG = 200_000


def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("BROWSER TEST DID NOT RUN: the playwright package is missing "
                    "(pip install -e '.[test]')")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("BROWSER TEST DID NOT RUN: no Chromium on this machine (Debian: apt-get "
                    "install chromium fonts-noto-cjk; python3 quickstart.py test does it as root)")
    return path


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(served_runs):
    srv = start_server(served_runs["en"], served_runs["zh"], "--api-key", KEY,
                       "--max-length", LONG)
    yield srv
    assert srv.stop() == 0, srv.stderr


def test_generate_streams_stop_continue_and_copy(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + "/")
    # The API needs a key: the page says so and asks for it.
    page.wait_for_selector("#apikey", state="visible")
    assert "API key" in page.inner_text("#status")
    page.fill("#apikey", KEY)
    page.dispatch_event("#apikey", "change")
    page.wait_for_function("document.querySelectorAll('#model option').length == 2")
    page.select_option("#model", "zh")
    assert "character model" in page.inner_text("#facts")

    page.fill("#prompt", "孙悟空")
    page.fill("#length", str(LONG))
    page.fill("#seed", "3")
    page.click("#generate")
    # Text streams in while the generation runs (Stop is enabled only then).
    page.wait_for_function("document.querySelector('#output').textContent.length > 60")
    assert page.is_enabled("#stop") and page.is_disabled("#generate")
    page.click("#stop")
    page.wait_for_function("!document.querySelector('#generate').disabled")
    status = page.inner_text("#status")
    # Stopped on the server: the stream ended with its final event, not cut off.
    assert server.url + "/api/cancel" in requests
    assert status.startswith("stopped · ") and "tokens in" in status, status
    text = page.inner_text("#output")
    assert text.startswith("孙悟空") and "\ufffd" not in text
    assert sum(ch >= "\u4e00" for ch in text) > 30
    # No sideways scrolling at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000

    # Copy puts the prompt and the text on the clipboard.
    page.click("#copy")
    assert page.evaluate("navigator.clipboard.readText()") == text

    # Continue from here: the text so far becomes the prompt of a new generation.
    page.fill("#length", "40")
    page.click("#continue")
    page.wait_for_function("!document.querySelector('#generate').disabled "
                           "&& document.querySelector('#status').textContent.includes('tokens')")
    assert page.input_value("#prompt") == text
    longer = page.inner_text("#output")
    assert longer.startswith(text) and len(longer) > len(text)
    assert "reached the length" in page.inner_text("#status")
    context.close()


def _open(browser, server):
    page = browser.new_page()
    page.add_init_script(f"localStorage.setItem('textgen-api-key', '{KEY}')")
    page.goto(server.url + "/")
    page.wait_for_function("document.querySelectorAll('#model option').length == 2")
    return page


def _generate(page, prompt, length=30):
    page.fill("#prompt", prompt)
    page.fill("#length", str(length))
    page.click("#generate")
    page.wait_for_function("!document.querySelector('#generate').disabled "
                           "&& document.querySelector('#status').textContent.includes('tokens')")


def test_what_the_prompt_lost_stays_in_sight_until_the_next_request(browser, server):
    page = _open(browser, server)
    page.select_option("#model", "en")
    _generate(page, "春天")  # the English model never saw either character
    notice = page.inner_text("#notice")
    assert "The whole prompt was left out" in notice and "春 天" in notice, notice
    assert "reached the length" in page.inner_text("#status")  # done did not overwrite it
    _generate(page, "All 春")
    assert page.inner_text("#notice") == "Left out characters en never saw: 春"
    _generate(page, "All:")
    assert page.inner_text("#notice") == ""
    # Unticked, the page asks the server to refuse instead of leaving characters out.
    page.uncheck("#drop_unknown")
    page.fill("#prompt", "All 春")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').className == 'error'")
    assert "never saw" in page.inner_text("#status")
    page.close()


def test_monospace_output_and_max_lines(browser, server):
    page = _open(browser, server)
    page.select_option("#model", "en")
    serif = page.evaluate("getComputedStyle(document.querySelector('#output')).fontFamily")
    page.check("#mono")
    mono = page.evaluate("getComputedStyle(document.querySelector('#output')).fontFamily")
    assert "monospace" in mono and "monospace" not in serif
    page.fill("#max_lines", "2")
    _generate(page, "All:", length=2000)
    text = page.inner_text("#output")
    assert text.startswith("All:") and text.count("\n") == 2, text
    page.reload()  # the choice of font is remembered
    page.wait_for_function("document.querySelectorAll('#model option').length == 2")
    assert page.is_checked("#mono")
    page.close()


def test_poem_controls_write_a_poem_and_show_its_checks(browser, server):
    page = _open(browser, server)
    page.select_option("#model", "en")
    assert page.is_hidden("#poem")  # an English model writes no classical forms
    page.select_option("#model", "zh")
    assert page.is_visible("#poem_form") and page.is_visible("#poem_acrostic")
    heads = page.evaluate("""async () => {
        const r = await fetch('/api/generate', {method: 'POST', headers: headers(),
            body: JSON.stringify({model: 'zh', prompt: '', length: 400, seed: 1})});
        const t = (await r.json()).texts[0];
        return [...new Set(t.match(/[\\u4e00-\\u9fff]/g))].slice(0, 4).join('');
    }""")  # four characters the model knows
    assert len(heads) == 4
    page.select_option("#poem_form", "五绝")
    page.fill("#poem_acrostic", heads)
    page.select_option("#poem_tones", "none")
    page.fill("#length", "3")  # the poem sets its own length
    page.fill("#prompt", "")
    page.click("#generate")
    page.wait_for_function("!document.querySelector('#generate').disabled "
                           "&& document.querySelector('#status').textContent.includes('tokens')")
    status = page.inner_text("#status")
    assert status.startswith("the poem is complete · form ✓ · acrostic ✓ · rhyme "), status
    lines = [x for x in page.inner_text("#output").replace("，", "\n").replace("。", "\n")
             .split("\n") if x]
    assert [len(x) for x in lines] == [5] * 4 and "".join(x[0] for x in lines) == heads
    page.close()
