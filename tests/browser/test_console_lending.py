"""Interlibrary lending and the union catalog's overrides through the console: two member
libraries' staff, each in their own session, carry a loan from the requester's union catalog
entry to the supplier and back (every step a button of the console, each request's history
shown), and the office merges and splits union catalog entries with a note."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="needs the selenium package (pip install -e '.[test]')")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import MISSING, NO_BROWSER, Served
from tests.browser.console_page import Console

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats,
              pytest.mark.skipif(bool(MISSING), reason=NO_BROWSER)]
PASSWORD = "Ranganathan's five laws 1931"
CREATE = "mutation($i: RecordInput!) { createRecord(input: $i) { record { id } } }"
ADD_ITEM = "mutation($i: AddItemInput!) { addItem(input: $i) { item { id } } }"
REGISTER = "mutation($i: RegisterPatronInput!) { registerPatron(input: $i) { patron { barcode } } }"


@pytest.fixture(scope="module")
def members(served: Served) -> dict[str, str]:
    """Two libraries made with the CLI: the supplier holds a copy of a title the requester
    lacks (the only copy in the consortium, so the rota goes to it); the requester has a
    patron; each has a staff member for interlibrary loans; and the office has its admin."""
    if not served.has_query("lendingRequests"):
        pytest.skip("the service has no interlibrary lending yet")
    tag = secrets.token_hex(3)
    slugs = {"requester": f"north-{tag}", "supplier": f"south-{tag}"}
    title = f"Lending through the console {tag}"
    for side, slug in slugs.items():
        served.cli("tenants", "create", slug, "--name", f"{side.title()} Library {tag}")
        served.staff(slug, "ill-desk", PASSWORD, "ill", "circulation",
                     display_name=f"{side.title()} Desk")
    isbn = _isbn13()
    supplier = served.client_token(slugs["supplier"])
    made = served.gql(supplier, CREATE, i={"title": title, "authors": ["Doe, Jane"],
                                           "year": "2021", "isbns": [isbn]})
    record = made["createRecord"]["record"]
    served.gql(supplier, ADD_ITEM, i={"recordId": record["id"], "barcode": f"S-{tag}-1",
                                      "location": {"branch": "MAIN"}})
    served.gql(served.client_token(slugs["requester"]), REGISTER, i={
        "barcode": "P-ILL-1", "name": "Pat Ron", "patronGroup": "undergraduate",
        "expiresOn": "2030-06-30"})
    with contextlib.suppress(AssertionError):  # made already if test_console.py ran first
        served.staff("office", "office-admin", PASSWORD, "office-admin")
    return {**slugs, "title": title, "isbn": isbn, "tag": tag}


def _isbn13() -> str:
    digits = "978" + "".join(secrets.choice("0123456789") for _ in range(9))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return f"{digits}{check}"


def _ill(page: Console, title: str, until: Callable[[str], bool]) -> None:
    """The interlibrary loans page, opened again until the request's line satisfies `until`
    (the other library's steps arrive as messages, a moment later)."""
    def ready(driver: Any) -> bool:
        page.open("#/ill")
        page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "main h2"))
        page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "main ol.results li")
                  or "No interlibrary request yet." in d.find_element(By.TAG_NAME, "main").text)
        lines = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "li.ill-request")
                 if title in li.text]
        return bool(lines) and until(lines[0])

    page.wait(ready, timeout=90)


def _act(page: Console, action: str, **fields: str) -> None:
    """Opens the request's actions, chooses one, fills the fields given, applies it."""
    page.driver.find_element(By.CSS_SELECTOR, "details.ill-actions summary").click()
    Select(page.field("Action")).select_by_visible_text(action)
    for label, text in fields.items():
        page.fill(label, text)
    page.press("Apply")


def _switch(page: Console, slug: str) -> None:
    """Signs out, and in as the other library's interlibrary loan staff."""
    page.press("Sign out")
    page.shows("You are signed out.")
    page.sign_in(slug, "ill-desk", PASSWORD)


def _supplier_answers_and_ships(page: Console, members: dict[str, str]) -> None:
    title = members["title"]
    _switch(page, members["supplier"])
    _ill(page, title, lambda line: "RequestReceived" in line)
    page.shot("request-received-at-the-supplier")
    _act(page, "Unfilled (give a reason)")
    page.wait(lambda _: page.error_of("Reason (for unfilled or retry possible)"))
    page.shot("unfilled-needs-a-reason")
    page.driver.find_element(By.CSS_SELECTOR, "details.ill-actions summary").click()  # closed
    _act(page, "Will supply")
    page.shows(f"{title}: Will supply done; now WillSupply.")
    _act(page, "Ship the copy")
    page.shows(f"{title}: Ship the copy done; now Loaned.")
    page.shot("shipped")


def _requester_receives_and_returns(page: Console, members: dict[str, str]) -> None:
    title = members["title"]
    _switch(page, members["requester"])
    _ill(page, title, lambda line: "Loaned" in line)
    _act(page, "Received: lend to the patron")
    page.shows(f"{title}: Received: lend to the patron done; now Loaned.")
    _act(page, "Send the copy back")
    page.shows(f"{title}: Send the copy back done; now Loaned.")
    page.shot("sent-back")


def _supplier_completes(page: Console, members: dict[str, str]) -> None:
    title = members["title"]
    _switch(page, members["supplier"])

    def returned(_line: str) -> bool:
        page.driver.find_element(By.CSS_SELECTOR, "li.ill-request details summary").click()
        history = page.driver.find_element(By.CSS_SELECTOR, "li.ill-request table").text
        return "ShippedReturn" in history  # the requester's return has arrived

    _ill(page, title, returned)
    _act(page, "Returned copy checked in (complete)")
    page.shows(f"{title}: Returned copy checked in (complete) done; now LoanCompleted.")
    page.shot("completed")


def test_a_loan_goes_from_one_library_to_another_and_back_in_the_console(
        browser: Any, served: Served, artifacts: Path, members: dict[str, str]) -> None:
    title = members["title"]
    page = Console(browser, served.url, artifacts, "10-lending")
    page.sign_in(members["requester"], "ill-desk", PASSWORD)
    page.shows("Signed in as Requester Desk")
    page.go("Union catalog")
    page.fill("Search the union catalog", title)

    def found(driver: Any) -> bool:
        page.press("Search")
        return "Supplier Library" in driver.find_element(By.TAG_NAME, "main").text

    page.wait(found, timeout=90)
    page.shot("union-entry-found")
    page.go("Request through interlibrary loan")
    page.shows("Records per member")
    page.fill("Patron barcode", "NO-SUCH-PATRON")
    page.fill("Pickup location", "Main desk")
    page.press("Request through interlibrary loan")
    page.wait(lambda _: page.error_of("Patron barcode"))  # said beside the field
    page.shot("unknown-patron-explained")
    page.fill("Patron barcode", "P-ILL-1")
    page.press("Request through interlibrary loan")
    page.shows("Requested: RequestReceived")
    page.shot("requested")
    _supplier_answers_and_ships(page, members)
    _requester_receives_and_returns(page, members)
    _supplier_completes(page, members)

    _switch(page, members["requester"])
    _ill(page, title, lambda line: "LoanCompleted" in line)
    page.driver.find_element(By.CSS_SELECTOR, "li.ill-request details summary").click()
    history = page.driver.find_element(By.CSS_SELECTOR, "li.ill-request table").text
    assert "RequestReceived" in history
    assert "LoanCompleted" in history
    # who did it: the staff member by username (the events keep their user id only), not
    # the console they used
    assert "ill-desk" in history
    assert "console" not in history
    page.shot("history-at-the-requester")


def test_the_office_opens_an_entry_and_splits_and_merges_it_with_a_note(
        browser: Any, served: Served, artifacts: Path, members: dict[str, str]) -> None:
    title = members["title"]
    third = f"east-{members['tag']}"  # a second record of the title, at a third library
    served.cli("tenants", "create", third, "--name", f"Third Library {members['tag']}")
    token = served.client_token(third)
    served.gql(token, CREATE, i={"title": title, "authors": ["Doe, Jane"], "year": "2021",
                                 "isbns": [members["isbn"]]})
    page = Console(browser, served.url, artifacts, "11-union-overrides")
    page.sign_in("", "office-admin", PASSWORD)
    page.go("Union catalog")
    page.fill("Search the union catalog", title)
    page.press("Search")
    page.go(title)

    def joined(driver: Any) -> bool:  # the third library's record matched into the entry
        if "Third Library" in driver.find_element(By.TAG_NAME, "main").text:
            return True
        driver.refresh()
        return False

    page.wait(joined, timeout=90)
    page.shows("Why these records are one entry")
    page.shows("Records per member")
    page.shot("entry-detail")
    entry = browser.current_url.rsplit("/", 1)[1]
    page.fill("Note (why)", "two editions, not one", index=1)
    page.press("Split records out")
    page.wait(lambda d: d.find_element(By.ID, "split-error").text)  # nothing chosen
    page.shot("split-needs-a-record")
    browser.find_elements(By.CSS_SELECTOR, "fieldset input[type=checkbox]")[1].click()
    page.press("Split records out")
    page.shows("1 entries split off.")
    page.shot("split")
    page.go("Union catalog")
    page.fill("Search the union catalog", title)

    def two(driver: Any) -> bool:
        page.press("Search")
        return len(driver.find_elements(By.LINK_TEXT, title)) == 2

    page.wait(two, timeout=60)
    other = next(a.get_attribute("href").rsplit("/", 1)[1]
                 for a in browser.find_elements(By.LINK_TEXT, title)
                 if not a.get_attribute("href").endswith(entry))
    page.open(f"#/entry/{entry}")
    page.fill("Entry ids to merge into this one", other)
    page.fill("Note (why)", "the same edition after all")
    page.press("Merge other entries into this one")
    page.shows("Merged into entry")
    page.shot("merged")
