"""The playground in a real browser: Playwright driving Debian's Chromium headless (skipped
when either is missing; never ``playwright install``: the system's chromium is used).

Loads the page, changes the network, trains, sees the loss fall and the boundary change,
shows the formulas, saves a screenshot of the trained page (also to $CHAINRULE_SCREENSHOT when
set, for the README), uploads a CSV (a bad one first), exports the model and the script and
runs the script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)

from chainrule.io import load_model  # noqa: E402
from chainrule.playground import running  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WAIT = 30_000  # ms


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


def number(page, selector):
    return float(page.inner_text(selector))


def boundary_pixels(page):
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def frames(page):
    return int(page.evaluate("Number(document.body.dataset.frames || 0)"))


def settle(page, selector, value):
    """Set a setting the way a person does (type, then leave the field)."""
    page.fill(selector, value)
    page.press(selector, "Tab")


def test_train_upload_export_in_a_real_browser(browser, tmp_path):
    with running() as (url, app):
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        problems = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(url)
        page.wait_for_function("Number(document.body.dataset.frames || 0) > 0", timeout=WAIT)
        assert page.input_value("#dataset") == "moons"

        # a sigmoid network, so the formulas can be shown with the numbers
        page.select_option("#activation", "sigmoid")
        settle(page, "#hidden", "6")
        settle(page, "#lr", "0.1")
        page.wait_for_function("document.body.dataset.pending === '0' && "
                               "document.getElementById('batches').textContent === '0'",
                               timeout=WAIT)
        session = app.state.sessions.get(page.evaluate("sid"), create=False)
        assert session.config.hidden == [6] and session.config.activation == "sigmoid"
        loss0, before = number(page, "#train-loss"), boundary_pixels(page)

        page.click("#play")
        page.wait_for_function("Number(document.getElementById('batches').textContent) >= 600",
                               timeout=WAIT)
        page.click("#play")  # now the pause button
        page.wait_for_function("document.getElementById('play').dataset.running === '0'",
                               timeout=WAIT)
        loss1 = number(page, "#train-loss")
        assert loss1 < 0.7 * loss0, (loss0, loss1)
        assert number(page, "#test-loss") < loss0
        assert boundary_pixels(page) != before  # the boundary moved
        page.click("#formulas-button")
        # wait for this network's formulas: an earlier network's (any activation has them
        # now) may still be on the panel when the click lands
        page.wait_for_function("document.getElementById('formulas').textContent.includes("
                               "'network 2-6-1, sigmoid units')", timeout=WAIT)
        assert "network 2-6-1, sigmoid units" in page.inner_text("#formulas")
        shot = tmp_path / "playground.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("CHAINRULE_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["CHAINRULE_SCREENSHOT"])

        # a bad upload: the message is on the page; then a good one is trained on
        bad = tmp_path / "three_features.csv"
        bad.write_text("a,b,c,label\n" + "1,2,3,x\n" * 6)
        page.set_input_files("#upload", str(bad))
        page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
        assert "got 3 feature column(s)" in page.inner_text("#error")
        rng = np.random.default_rng(0)
        X = rng.normal(size=(120, 2))
        good = tmp_path / "mine.csv"
        good.write_text("u,v,colour\n" + "".join(
            f"{a:.4f},{b:.4f},{'blue' if a * b > 0 else 'red'}\n" for a, b in X))
        shown = frames(page)
        page.set_input_files("#upload", str(good))
        page.wait_for_function("document.getElementById('dataset').value === 'upload'",
                               timeout=WAIT)
        # the server's state event can beat the upload's own answer, which clears the error
        page.wait_for_selector("#error", state="hidden", timeout=WAIT)
        assert "mine.csv" in page.inner_text("#dataset-about")
        page.click("#play")
        page.wait_for_function("Number(document.getElementById('batches').textContent) >= 50",
                               timeout=WAIT)
        page.click("#play")
        assert frames(page) > shown

        # exports: the model file loads; the script runs and trains the same network
        with page.expect_download() as download:
            page.click("#export-model")
        model_path = tmp_path / "model-download.safetensors"
        download.value.save_as(model_path)
        saved = load_model(model_path)
        assert saved.model.sizes == [2, 6, 1] and saved.classes == ["blue", "red"]
        with page.expect_download() as download:
            page.click("#export-script")
        script = tmp_path / "train.py"
        download.value.save_as(script)
        proc = subprocess.run([sys.executable, str(script), str(good), "5"], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "test accuracy" in proc.stdout
        assert load_model(tmp_path / "model.safetensors").features == ["u", "v"]
        assert problems == []
        page.close()
