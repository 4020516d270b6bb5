"""The web console in a real headless Chromium, signed in through the service's own sign-in
page (OAuth 2.0 authorization code with PKCE): the office registers a library and its admin;
that library's staff import MARC and watch the progress, lend and take back a copy, open a
shelf map; the interface in 简体中文 and Tiếng Việt; keyboard only; and another library's
session never showing the first one's data. The tests run in file order and share the
consortium they build (a library's data is what later steps look for)."""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="needs the selenium package (pip install -e '.[test]')")

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from localization_ext.simulate import Setup, simulate, write_batch
from tests.browser.conftest import MISSING, NO_BROWSER, Served
from tests.browser.console_page import Console

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats,
              pytest.mark.skipif(bool(MISSING), reason=NO_BROWSER)]
PASSWORD = "Ranganathan's five laws 1931"
DEMO_MARC = Path(__file__).resolve().parents[2] / "api" / "demo_catalog.xml"
BOOKS = 8


@pytest.fixture(scope="module")
def consortium(served: Served) -> dict[str, Any]:
    """The office's first admin (made with the CLI, as an operator does), and what the tests
    build: library A (by the office, in the browser) and library B (by the CLI)."""
    served.staff("office", "office-admin", PASSWORD, "office-admin",
                 display_name="Office Administrator")
    return {"a": f"east-{secrets.token_hex(3)}", "b": f"west-{secrets.token_hex(3)}"}


def _console(browser: Any, served: Served, artifacts: Path, name: str) -> Console:
    return Console(browser, served.url, artifacts, name)


def test_office_signs_in_and_creates_a_library_and_its_admin(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "01-office")
    page.sign_in("", "office-admin", PASSWORD)  # no library: the consortium office
    assert page.tenant_name() == "Consortium office"
    stored = browser.execute_script("return JSON.stringify([localStorage, sessionStorage, "
                                    "document.cookie])")
    assert "eyJ" not in stored  # no token (a JWT) in web storage or a script-readable cookie
    page.shot("signed-in")
    for section, query, shown in (
            ("Union catalog", "unionCatalog", "Search the union catalog"),
            ("Figures", "consortiumFigures", "Loans and returns per day"),
            ("Shared acquisition", "acquisitionCandidates", "Demand per copy")):
        page.go(section)  # a feature the service lacks yet is said to be so, not an error
        page.shows(shown if served.has_query(query) else "Not available yet")
        page.shot(section.lower().replace(" ", "-"))
    page.go("Member libraries")
    page.fill("Short name (slug)", "Not A Slug!")
    page.fill("Display name", "East Campus Library")
    page.press("Register")
    page.wait(lambda _: page.error_of("Short name (slug)"))
    assert "slug" in page.error_of("Short name (slug)").lower()  # said beside the field
    page.shot("bad-slug-explained")
    page.fill("Short name (slug)", consortium["a"])
    page.press("Register")
    page.shows("Staff accounts")
    page.shot("library-registered")
    page.fill("New staff member's username", "admin")
    page.fill("Their display name", "Mai Tran")
    page.fill("Initial password", "short")
    page.press("Create the staff account")
    page.wait(lambda _: page.error_of("Initial password"))  # the rule, beside the field
    page.shot("weak-password-explained")
    page.fill("Initial password", PASSWORD)
    page.press("Create the staff account")
    page.shows("admin can now sign in.")
    page.shot("admin-created")
    page.fill("Client name", "east catalogue sync")
    page.press("Issue a client")
    page.shows("Its secret is shown this once")
    page.shot("api-client-issued")
    page.go("Pipeline health")
    page.wait(lambda d: d.find_elements(By.XPATH, "//caption[normalize-space()='Pipeline health']"))
    page.shot("pipeline-health")
    page.press("Sign out")
    page.shows("You are signed out.")
    page.open()
    page.field("Username")  # the session is over: the console sends the browser to sign in
    page.shot("signed-out")


def test_library_admin_creates_a_librarian_and_sees_the_audit_trail(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "02-admin")
    page.sign_in(consortium["a"], "admin", PASSWORD)
    assert page.tenant_name() == "East Campus Library"
    page.go("Staff")
    page.fill("New staff member's username", "librarian")
    page.fill("Their display name", "Lê Thu Hà")
    page.fill("Initial password", PASSWORD)
    page.press("Create the staff account")
    page.wait(lambda _: browser.find_element(By.ID, "library-staff-roles-error").text)
    page.shot("no-role-explained")
    for role in ("Cataloguing", "Circulation", "Inventory"):
        page.field(role).click()
    page.fill("Initial password", PASSWORD)
    page.press("Create the staff account")
    page.shows("librarian can now sign in.")
    page.shows("staff:admin@")  # the audit trail names who created the account
    page.shot("librarian-created")
    browser.execute_script("document.querySelector('.history').scrollIntoView()")
    page.shot("audit-trail")


def test_library_staff_import_marc_watch_progress_and_lend_a_copy(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "03-library")
    page.sign_in(consortium["a"], "librarian", PASSWORD)
    assert page.tenant_name() == "East Campus Library"
    page.shot("signed-in")
    browser.refresh()  # the refresh cookie restores the session: no password again
    page.wait(lambda d: d.find_elements(By.ID, "tenant-name"))
    assert "/oauth/authorize" not in browser.current_url
    page.go("MARC import")
    page.field("MARC file (MARC 21 or MARCXML)").send_keys(str(DEMO_MARC))
    page.press("Import")
    page.wait(lambda d: d.find_element(By.TAG_NAME, "progress").get_attribute("value") != "0")
    page.shot("import-progress")
    page.shows("Import finished: 12 created")
    assert browser.find_element(By.TAG_NAME, "progress").get_attribute("value") == "1"
    page.shot("import-report")

    page.go("Catalog")
    page.fill("Search the catalog", "hong lou meng")
    page.press("Search")
    page.link("Hong lou meng")
    page.shot("search-results")
    page.go("Hong lou meng")
    page.shows("紅樓夢")  # the 880 script of the title
    page.shows("MARC view")
    consortium["record_url"] = browser.current_url
    page.shot("record-with-880-and-marc")

    page.go("Patrons")
    page.fill("Patron barcode", "P-0001", index=1)
    page.fill("Full name", "Nguyễn Thị Lan")
    page.press("Register a patron")
    page.shows("Nguyễn Thị Lan is registered.")

    page.go("Circulation desk")
    page.fill("Patron barcode", "P-0001")
    page.fill("Item barcode", "DEMO-0006-1")
    page.press("Check out")
    page.shows("DEMO-0006-1 is lent until")
    page.shot("checked-out")
    page.fill("Item barcode", "DEMO-0006-1", index=1)
    page.press("Check in")
    page.shows("DEMO-0006-1 checked in: available.")
    page.shot("checked-in")
    page.fill("Item barcode", "NO-SUCH-COPY", index=1)
    page.press("Check in")
    page.wait(lambda _: page.error_of("Item barcode", index=1))
    page.shot("unknown-copy-explained")
    if served.has_query("unionCatalog"):
        _union_catalog_shows_the_holding(page)


def test_library_staff_place_a_hold_and_get_a_slip_at_check_in_then_erase_the_patron(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "04-holds")
    page.sign_in(consortium["a"], "librarian", PASSWORD)
    page.open(consortium["record_url"][consortium["record_url"].index("#"):])
    copy_history = "//summary[normalize-space()='History of a copy']"
    page.wait(lambda d: d.find_elements(By.XPATH, copy_history))
    browser.find_element(By.XPATH, copy_history).click()
    page.press("Show the history")
    page.shows("staff:librarian@")  # who lent and took back the copy
    page.shot("copy-history")
    page.go("Patrons")
    page.fill("Patron barcode", "P-0002", index=1)
    page.fill("Full name", "Trần Văn Minh")
    page.press("Register a patron")
    page.shows("Trần Văn Minh is registered.")
    page.go("Circulation desk")
    page.fill("Patron barcode", "P-0001")
    page.fill("Item barcode", "DEMO-0002-1")  # the only copy of Pride and prejudice
    page.press("Check out")
    page.shows("DEMO-0002-1 is lent until")
    page.go("Catalog")
    page.fill("Search the catalog", "pride")
    page.press("Search")
    page.go("Pride and prejudice")
    page.go("Place a hold on this title at the desk")
    assert page.field("Record id").get_attribute("value")  # filled in from the record
    page.fill("Patron barcode", "P-0002", index=1)
    page.press("Place a hold")
    page.shows("Hold placed: place 1 in the queue.")
    page.fill("Item barcode", "DEMO-0002-1", index=1)
    page.press("Check in")
    page.shows("DEMO-0002-1 checked in: on the hold shelf.")
    page.shows("Waiting for patron P-0002 Trần Văn Minh")
    page.button("Print the hold slip (DEMO-0002-1)")
    page.shot("hold-slip")
    page.go("Patrons")
    page.fill("Patron barcode", "P-0002")
    page.press("Find")
    page.shows("Erasing cannot be undone.")  # the consequences, before anything is done
    page.fill("Type the barcode P-0002 to confirm", "P-0003")
    page.press("Erase this patron")
    page.wait(lambda _: page.error_of("Type the barcode P-0002 to confirm"))
    page.shot("erase-consequences")
    page.fill("Type the barcode P-0002 to confirm", "P-0002")
    page.press("Erase this patron")
    page.shows("The patron is erased. Holds cancelled: 1.")
    page.shot("patron-erased")


def _union_catalog_shows_the_holding(page: Console) -> None:
    """The union catalog lists the library's holding of a title it imported (once the
    union catalog's projection has caught up: searched again until then)."""
    page.go("Union catalog")
    page.fill("Search the union catalog", "hong lou meng")

    def found(driver: Any) -> bool:
        page.press("Search")
        return "East Campus Library:" in driver.find_element(By.TAG_NAME, "main").text

    page.wait(found, timeout=60)
    page.shot("union-catalog-holding")


def test_library_staff_upload_a_scan_and_open_the_shelf_map(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any],
        tmp_path: Path) -> None:
    token = served.client_token(consortium["a"])
    record = served.gql(token, "mutation($i: RecordInput!) { createRecord(input: $i) "
                  "{ record { id } } }", i={"title": "Shelf B-02"})["createRecord"]["record"]
    scan = simulate(Setup(books=BOOKS, spacing_m=0.03, seed=7))
    for n in range(1, BOOKS):
        served.gql(token, "mutation($i: AddItemInput!) { addItem(input: $i) { item { id } } }",
             i={"recordId": record["id"], "barcode": f"B02-{n}", "epc": scan.epc[n],
                "callNumber": "QA999" if n == 3 else f"QA{100 + n}",
                "location": {"branch": "MAIN", "shelf": "B-02"}})
    batch = io.StringIO()
    write_batch(scan, batch, shelf="B-02", batch_id=f"{consortium['a']}-b02")
    path = tmp_path / "b02.ndjson"
    path.write_text(batch.getvalue())

    page = _console(browser, served, artifacts, "05-inventory")
    page.sign_in(consortium["a"], "librarian", PASSWORD)
    page.go("Inventory")
    page.field("Scan batch from a robot (NDJSON)").send_keys(str(path))
    page.press("Upload")
    page.shot("localizing")
    page.wait(lambda d: d.find_elements(By.ID, "shelf-map"), timeout=120)
    shelf_map = browser.find_element(By.ID, "shelf-map")
    assert shelf_map.get_attribute("src").startswith("data:image/svg+xml")
    assert "misplaced" in shelf_map.get_attribute("alt")
    page.shows("Misplaced books")
    page.shot("shelf-map")


def test_library_orders_a_title_and_is_told_what_the_consortium_holds(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    if not served.has_query("acquisitionCandidates"):
        pytest.skip("the service has no shared acquisition yet")
    page = _console(browser, served, artifacts, "05b-acquisitions")
    page.sign_in(consortium["a"], "librarian", PASSWORD)
    page.go("Acquisitions")
    page.fill("Title wanted", "Hong lou meng", index=1)
    page.fill("ISBN (optional)", "9780000000064", index=1)
    page.fill("Copies", "2")
    page.press("Order copies")
    page.shows("Order placed for 2 copies.")
    page.shows("The consortium already holds")  # East's own copy, told before buying more
    page.shows("Receive an order")  # the order is open: it may be received or cancelled
    page.shot("order-with-consortium-warning")
    page.fill("Barcodes of the copies", "ACQ-0001-1 ACQ-0001-2")
    page.press("Receive an order")
    page.wait(lambda _: page.error_of("Branch"))  # the missing location, said beside it
    page.shot("receive-needs-a-branch")
    page.fill("Branch", "MAIN")
    page.fill("Shelf (optional)", "New books")
    page.press("Receive an order")
    page.shows("Order received: 2 copies are on the catalogue.")
    page.shot("order-received")
    page.fill("Title wanted", "Tale of Genji", index=1)
    page.fill("ISBN (optional)", "", index=1)
    page.fill("Copies", "1")
    page.press("Order copies")
    page.shows("Order placed for 1 copies.")
    Select(page.field("Order", index=1)).select_by_visible_text("Tale of Genji (1)")
    page.fill("Reason (optional)", "ordered twice by mistake")
    page.press("Cancel an order")
    page.shows("Order cancelled.")
    page.shows("cancelled")
    page.shot("order-cancelled")
    page.go("Interlibrary loans")
    page.shows("No interlibrary request yet." if served.has_query("lendingRequests")
               else "Not available yet")
    page.shot("interlibrary-loans")


def test_the_console_speaks_chinese_and_vietnamese(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "06-languages")
    page.sign_in(consortium["a"], "librarian", PASSWORD)
    page.go("Circulation desk")
    Select(page.field("Language")).select_by_visible_text("简体中文")
    page.shows("流通服务台")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    page.fill("图书条码", "NO-SUCH-COPY", index=1)
    page.press("归还")
    page.wait(lambda _: page.error_of("图书条码", index=1))
    assert "未找到" in page.error_of("图书条码", index=1)  # the error in the reader's language
    page.shot("chinese")
    Select(page.field("语言")).select_by_visible_text("Tiếng Việt")
    page.shows("Quầy lưu thông")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    page.go("Mục lục")
    page.field("Tìm trong mục lục")
    page.shot("vietnamese")
    Select(page.field("Ngôn ngữ")).select_by_visible_text("English")
    page.shows("Search the catalog")


def test_keyboard_only_sign_in_and_check_out(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "07-keyboard")
    page.open()
    page.field("Username")  # the sign-in page is there
    page.tab_to("Library")
    page.keys(consortium["a"])
    page.tab_to("Username")
    page.keys("librarian")
    page.tab_to("Password")
    page.keys(PASSWORD, Keys.ENTER)
    page.wait(lambda d: d.find_elements(By.ID, "tenant-name"))
    page.shot("signed-in-by-keyboard")
    page.tab_to("Circulation desk")
    page.keys(Keys.ENTER)
    page.shows("Check out")
    page.tab_to("Patron barcode")
    page.keys("P-0001")
    page.tab_to("Item barcode")
    page.keys("DEMO-0001-1", Keys.ENTER)
    page.shows("DEMO-0001-1 is lent until")
    page.shot("checked-out-by-keyboard")
    focus = page.focused()
    assert focus.tag_name in {"input", "button"}  # the focus stays in the form, not lost


def test_a_library_session_never_shows_another_librarys_data(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    served.cli("tenants", "create", consortium["b"], "--name", "West Branch Library")
    served.staff(consortium["b"], "desk", PASSWORD, "circulation", "cataloguer")
    page = _console(browser, served, artifacts, "08-isolation")
    page.sign_in(consortium["b"], "desk", PASSWORD)
    assert page.tenant_name() == "West Branch Library"
    page.fill("Search the catalog", "hong lou meng")
    page.press("Search")
    page.shows("No record matches")
    assert "Hong lou meng" not in page.text()
    page.shot("search-finds-nothing-of-east")
    record_id = re.sub(r".*#/record/", "", consortium["record_url"])
    page.open(f"#/record/{record_id}")
    page.shows("Nothing was found")
    assert "紅樓夢" not in page.text()
    page.shot("east-record-not-found")
    page.go("Circulation desk")
    page.fill("Item barcode", "DEMO-0001-1", index=1)  # on loan at East
    page.press("Check in")
    page.wait(lambda _: page.error_of("Item barcode", index=1))
    page.fill("Patron barcode", "P-0001", index=0)
    page.fill("Item barcode", "DEMO-0002-1", index=0)
    page.press("Check out")
    page.wait(lambda _: page.error_of("Item barcode", index=0) or page.error_of("Patron barcode"))
    assert "lent until" not in page.text()
    page.shot("east-copies-unknown-at-west")


def test_office_suspends_a_library_whose_staff_then_cannot_sign_in_until_reactivated(
        browser: Any, served: Served, artifacts: Path, consortium: dict[str, Any]) -> None:
    page = _console(browser, served, artifacts, "09-suspension")
    page.sign_in("", "office-admin", PASSWORD)
    page.go("Manage West Branch Library")
    page.fill("Reason for suspending", "membership fee unpaid")
    page.press("Suspend")
    page.shows("West Branch Library is now suspended.")
    page.shows("membership fee unpaid")
    page.shot("suspended")
    page.press("Sign out")
    page.shows("You are signed out.")
    page.open()
    page.fill("Library", consortium["b"])
    page.fill("Username", "desk")
    page.fill("Password", PASSWORD)
    page.press("Sign in")
    page.shows("suspended")
    assert not browser.find_elements(By.ID, "tenant-name")
    page.shot("suspended-library-sign-in-refused")
    page.sign_in("", "office-admin", PASSWORD)
    page.go("Manage West Branch Library")
    page.press("Reactivate")
    page.shows("West Branch Library is now active.")
    if served.has_query("consortiumFigures"):
        page.go("Figures")  # after the day's work: East's loans and returns are plotted
        page.shows("East Campus Library")
        page.shows("Mean turnaround (hours)")
        page.shot("figures-after-the-day")
    page.press("Sign out")
    page.shows("You are signed out.")
    page.sign_in(consortium["b"], "desk", PASSWORD)
    assert page.tenant_name() == "West Branch Library"
    page.shot("reactivated-library-signed-in")
