"""Driving the console the way a person does: by the accessible names of fields and buttons,
waiting for what the page announces; a screenshot of each step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 30


def _literal(text: str) -> str:
    """An XPath string literal of the text."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


class Console:
    """One browser on the service's console."""

    def __init__(self, driver: Any, url: str, artifacts: Path, name: str) -> None:
        self.driver = driver
        self.url = url
        self.artifacts = artifacts
        self.name = name
        self.step = 0

    def wait(self, condition: Any, timeout: float = WAIT_S) -> Any:
        try:
            # a page the browser is replacing (a form posted) may drop an element between
            # finding it and reading it: that is "not yet", not a failure
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2, ignored_exceptions=(
                StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            self.shot("timeout")
            raise

    def shot(self, what: str) -> Path:
        """Saves a screenshot of this step."""
        self.step += 1
        path = self.artifacts / f"{self.name}-{self.step:02d}-{what}.png"
        self.driver.save_screenshot(str(path))
        return path

    def open(self, hash_: str = "") -> None:
        """Loads the console afresh (at a section, e.g. `#/desk`)."""
        self.driver.get("about:blank")
        self.driver.get(f"{self.url}/{hash_}")

    def field(self, label: str, index: int = 0) -> WebElement:
        """The form field with this label (the index-th of several)."""
        xpath = f"//label[normalize-space()={_literal(label)}]"

        def found(driver: Any) -> WebElement | None:
            labels = driver.find_elements(By.XPATH, xpath)
            if len(labels) <= index:
                return None
            target: WebElement = driver.find_element(By.ID, labels[index].get_attribute("for"))
            return target if target.is_displayed() else None

        element: WebElement = self.wait(found)
        return element

    def fill(self, label: str, text: str, index: int = 0) -> None:
        element = self.field(label, index)
        element.clear()
        element.send_keys(text)

    def button(self, text: str, index: int = 0) -> WebElement:
        xpath = f"//button[normalize-space()={_literal(text)}]"

        def found(driver: Any) -> WebElement | None:
            buttons = [b for b in driver.find_elements(By.XPATH, xpath)
                       if b.is_displayed() and b.is_enabled()]
            return buttons[index] if len(buttons) > index else None

        element: WebElement = self.wait(found)
        return element

    def press(self, text: str, index: int = 0) -> None:
        self.button(text, index).click()

    def link(self, text: str) -> WebElement:
        element: WebElement = self.wait(lambda d: next(
            (a for a in d.find_elements(By.LINK_TEXT, text) if a.is_displayed()), None))
        return element

    def go(self, text: str) -> None:
        """Follows a link to another page of the console and waits until that page is shown
        (not the one before it, nor "Loading…")."""
        self.driver.execute_script(
            "for (const e of document.querySelectorAll('#main > *')) e.dataset.stale = '1';")
        self.link(text).click()
        self.wait(lambda d: d.execute_script(
            "const m = document.getElementById('main');"
            "return !m.querySelector('[data-stale]') && !!m.querySelector('h2');"))

    def text(self) -> str:
        body: str = self.driver.find_element(By.TAG_NAME, "body").text
        return body

    def shows(self, text: str, timeout: float = WAIT_S) -> None:
        """Waits until the page shows the text."""
        self.wait(lambda d: text in d.find_element(By.TAG_NAME, "body").text, timeout)

    def error_of(self, label: str, index: int = 0) -> str:
        """The error announced beside a field (its aria-describedby text)."""
        element = self.field(label, index)
        ids = (element.get_attribute("aria-describedby") or "").split()
        return " ".join(self.driver.find_element(By.ID, i).text for i in ids
                        if i.endswith("-error"))

    def sign_in(self, library: str, username: str, password: str) -> None:
        """Opens the console, which sends the browser to the sign-in page; signs in there."""
        self.open()
        self.fill("Library", library)
        self.fill("Username", username)
        self.fill("Password", password)
        self.shot("sign-in-page")
        self.press("Sign in")
        self.wait(lambda d: d.find_elements(By.ID, "tenant-name"))

    def tenant_name(self) -> str:
        name: str = self.driver.find_element(By.ID, "tenant-name").text
        return name

    def focused(self) -> WebElement:
        element: WebElement = self.driver.switch_to.active_element
        return element

    def keys(self, *keys: str) -> None:
        """Types on the keyboard, into whatever has the focus."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def tab_to(self, accessible: str, limit: int = 80) -> WebElement:
        """Presses Tab until the focus is on the control whose label or text is given."""
        for _ in range(limit):
            self.keys(Keys.TAB)
            element = self.focused()
            name = self.driver.execute_script(
                "const e = arguments[0];"
                "return (e.labels && e.labels.length ? e.labels[0].textContent"
                " : e.textContent || e.value || '').trim();", element)
            if name == accessible:
                return element
        raise AssertionError(f"Tab never reached {accessible!r}")
