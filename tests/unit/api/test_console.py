"""The web console's page: served at `/` from the package under a strict policy, with no
inline script or style, and every module it loads shipped beside it."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import console
from api.browser import CONSOLE_POLICY, HTML_POLICY, SecurityHeaders, docs_router

STATIC = resources.files("api") / "static" / "console"
ROOT = Path(__file__).resolve().parents[3]


def _app() -> FastAPI:
    app = FastAPI()
    app.include_router(console.router)
    app.include_router(docs_router)
    app.add_middleware(SecurityHeaders)
    return app


def test_console_is_served_at_the_root_under_the_console_policy() -> None:
    page = TestClient(_app()).get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONSOLE_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="/static/console/main.js"></script>' in page.text


def test_console_policy_allows_no_inline_script_style_or_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONSOLE_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in CONSOLE_POLICY


def test_other_pages_keep_their_own_policy() -> None:
    assert TestClient(_app()).get("/docs").headers["content-security-policy"] == HTML_POLICY


def test_console_page_has_no_inline_script_or_style() -> None:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page
    assert not re.search(r"\son\w+=", page)
    assert " style=" not in page


def test_every_module_the_console_imports_ships_in_the_package() -> None:
    modules = {p.name for p in Path(str(STATIC)).glob("*.js")}
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["api"]
    for name in modules | {"index.html", "console.css"}:
        assert any(fnmatch(f"static/console/{name}", g) for g in globs), name
    for module in modules:
        text = (STATIC / module).read_text(encoding="utf-8")
        for imported in re.findall(r'from "\./([\w.]+)"', text):
            assert imported in modules, f"{module} imports {imported}, which is not shipped"


def test_console_scripts_never_write_html_or_keep_tokens_in_storage() -> None:
    for script in Path(str(STATIC)).glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "document.write"):
            assert sink not in text, f"{script.name} uses {sink}"
        stored = re.findall(r"(?:localStorage|sessionStorage)\.setItem\(([^,]+),", text)
        assert all("token" not in key.lower() for key in stored), script.name


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_console_colours_meet_wcag_aa_contrast() -> None:
    css = (STATIC / "console.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--(\w+): (#[0-9a-fA-F]{6});", css))
    for background in ("paper", "tint"):  # the page, and the header and notices
        for text in ("ink", "muted", "link", "error", "accent"):
            ratio = _contrast(colours[text], colours[background])
            assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}"
    for button in ("accent", "error"):  # white text on filled buttons
        assert _contrast("#ffffff", colours[button]) >= 4.5, button


def _messages(language: str) -> set[str]:
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    block = re.search(rf"^const {language} = \{{(.*?)^\}};", text, re.S | re.M)
    assert block, language
    return set(re.findall(r'"([\w.-]+)":', block[1]))


def test_every_string_of_the_console_is_in_english_chinese_and_vietnamese() -> None:
    english = _messages("en")
    for language in ("zh", "vi"):
        messages = _messages(language)
        assert english - messages == set(), f"{language} lacks these"
        assert messages - english == set(), f"{language} has these English lacks"


def test_every_key_the_console_asks_for_has_an_english_string() -> None:
    english = _messages("en")
    for script in Path(str(STATIC)).glob("*.js"):
        for key in re.findall(r'\bt\("([\w.-]+)"', script.read_text(encoding="utf-8")):
            assert key in english, f"{script.name} asks for {key}"
