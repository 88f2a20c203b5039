"""A real browser (Playwright driving Debian's chromium) uses the page at ``/``: it uploads a
digit rendered from ``load_digits`` and must see the right label; drawing must give a label too.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from paths import ROOT
from PIL import Image
from sklearn.datasets import load_digits

from mlops_course.server_process import gunicorn_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="needs Debian's chromium (apt-get install chromium) for a real-browser test",
    ),
]


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(ROOT / "models", workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(server.url + "/")
        yield page
        browser.close()


def digit_png(index: int) -> tuple[bytes, str]:
    digits = load_digits()
    ink = np.kron(digits.data[index].reshape(8, 8), np.ones((16, 16))) / 16
    buffer = io.BytesIO()
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), str(digits.target[index])


@pytest.mark.parametrize("index", [0, 5, 13])
def test_uploading_a_digit_shows_its_label(page, index):
    data, label = digit_png(index)
    page.set_input_files(
        "#image-input", files=[{"name": "digit.png", "mimeType": "image/png", "buffer": data}]
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        "want => document.querySelector('#label').textContent === want", arg=label
    )
    assert page.locator("#probabilities tr").count() == 10
    assert page.inner_text("#error") == ""


def test_a_non_image_upload_shows_the_servers_error(page):
    page.set_input_files(
        "#image-input",
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}],
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("document.querySelector('#error').textContent.length > 0")
    assert "could not read" in page.inner_text("#error")


def test_drawing_gives_a_prediction(page):
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 80, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 80, box["y"] + 140, steps=12)  # a vertical stroke: a "1"
    page.mouse.up()
    page.click("#classify-drawing")
    page.wait_for_function("/^[0-9]$/.test(document.querySelector('#label').textContent)")
    assert page.inner_text("#error") == ""
