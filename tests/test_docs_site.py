"""The documentation site: it builds in strict mode from the repository (a failing tutorial
cell, a broken link or a missing reference fails the build), the API reference names every
public name, and headless Chromium opens every page without a console error, with every
image loaded and the search answering. A screenshot of each tutorial page is saved.

The build runs once per session (about a minute: the tutorials' code runs in it).
"""

from __future__ import annotations

import functools
import http.server
import importlib
import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from browser import chromium_browser

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs", reason="MkDocs builds the site (pip install -e '.[docs]')")
pytest.importorskip("markdown_exec", reason="markdown-exec runs the tutorials")
pytest.importorskip("mkdocstrings", reason="mkdocstrings writes the API reference")

# every module of the API reference and the page that documents it
API_PAGES = {"convnet": "convnet", "convnet.nn": "nn", "convnet.functional": "functional",
             "convnet.optim": "optim", "convnet.utils.data": "data", "convnet.filters": "filters",
             "convnet.viz": "viz", "convnet.onnx": "onnx", "convnet.distributed": "distributed",
             "convnet.vision.datasets": "vision", "convnet.vision.transforms": "vision",
             "convnet.vision.models": "vision", "convnet.vision.utils": "vision",
             "convnet.vision.io": "vision"}


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(target)], cwd=ROOT, capture_output=True, text=True,
                            env=environment, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return target


def pages(site: Path) -> list[str]:
    """Every page's address relative to the site root ('' for the home page)."""
    folders = (path.parent.relative_to(site).as_posix() for path in site.rglob("index.html"))
    return sorted("" if folder == "." else folder + "/" for folder in folders)


def test_every_tutorial_ran_and_drew_its_figures(site):
    tutorials = [path for path in (site / "tutorials").rglob("index.html")
                 if path.parent != site / "tutorials"]
    assert len(tutorials) >= 12
    for path in tutorials:
        html = path.read_text()
        assert "Traceback (most recent call last)" not in html, path
        assert html.count('class="highlight"') >= 2, path     # its code and what it printed
    figures = sum(path.read_text().count("data:image/png;base64,") for path in tutorials)
    assert figures >= 12


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return [name for name in names if not name.startswith("_")]


def api_html(site: Path) -> str:
    return "".join(path.read_text() for path in (site / "api").rglob("index.html"))


@pytest.mark.parametrize("module_name", sorted(API_PAGES))
def test_the_api_reference_names_every_public_name(site, module_name):
    """A name has its own heading on its module's page; a submodule named in ``__all__``
    has its own section somewhere in the reference."""
    html = (site / "api" / API_PAGES[module_name] / "index.html").read_text()
    everywhere = api_html(site)
    module = importlib.import_module(module_name)
    missing = []
    for name in public_names(module_name):
        value = getattr(module, name)
        if inspect.ismodule(value):
            if f'id="{value.__name__}"' not in everywhere:
                missing.append(name)
        elif f'.{name}"' not in html:
            missing.append(name)
    assert not missing, f"{module_name}: not in the API reference: {missing}"


def test_the_torch_vocabulary_is_in_the_convnet_page(site):
    import convnet
    html = (site / "api" / "convnet" / "index.html").read_text()
    functions = [name for name in dir(convnet) if not name.startswith("_")
                 and callable(getattr(convnet, name))
                 and getattr(getattr(convnet, name), "__module__", "").startswith("convnet.")]
    missing = [name for name in functions if f'.{name}"' not in html]
    assert not missing, f"not in the API reference: {missing}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_every_page_in_a_browser(site, served, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: problems.append(f"console: {message.text}")
                if message.type == "error" else None)
        page.on("requestfailed", lambda request: None if request.failure == "net::ERR_ABORTED"
                else problems.append(f"failed: {request.url} ({request.failure})"))
        for path in pages(site):
            page.goto(served + path, wait_until="load")
            broken = page.evaluate("""Array.from(document.images)
                .filter(image => !(image.complete && image.naturalWidth > 0))
                .map(image => image.alt || image.src.slice(0, 60))""")
            assert not broken, f"{path}: images that did not load: {broken}"
            if path.startswith("tutorials/") and path != "tutorials/":
                name = path.strip("/").replace("/", "-")
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            assert not problems, f"{path}: {problems}"
        page.goto(served, wait_until="load")
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.locator("input.md-search__input").fill("im2col")
        page.wait_for_selector(".md-search-result__item", timeout=20000)
        assert page.locator(".md-search-result__item").count() > 0
        assert not problems, problems
        assert len(list(shots.glob("*.png"))) >= 12
        print(f"screenshots: {shots}")
