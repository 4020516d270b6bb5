"""Staff sign-in for the console: authorization code with PKCE, refresh in an HTTP-only
cookie, sign-out, and tokens refused at once for a disabled account or an ended session."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from api.dependencies import Services
from api.staff_cli import demo_staff_lines, seed_demo_staff
from tests.integration.signin import (
    PASSWORD,
    authorize_params,
    code_of,
    csrf_of,
    exchange,
    pkce,
    sign_in,
    signed_in,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
VIEWER = "{ viewer { tenant { slug } scopes } }"


@pytest.fixture
def browser(http: TestClient, services: Services) -> Iterator[TestClient]:
    """The app's client with an empty cookie jar, and sign-ins counted per account only
    (every test comes from one address)."""
    throttle = services.consortium.staff.throttle
    per_address, throttle.per_address = throttle.per_address, 10_000
    http.cookies.clear()
    yield http
    http.cookies.clear()
    throttle.per_address = per_address


@pytest.fixture
def librarian(services: Services, library: dict[str, str]) -> dict[str, str]:
    """A library's staff user with the cataloguer role."""
    username = f"cat-{secrets.token_hex(3)}"
    services.consortium.staff.create_user(library["slug"], username, display_name="Cat A.",
                                          roles=["cataloguer"], password=PASSWORD)
    return {"library": library["slug"], "username": username, "password": PASSWORD}


def viewer(http: TestClient, token: str) -> dict[str, object]:
    """The GraphQL viewer of a token."""
    answer: dict[str, object] = http.post("/graphql", json={"query": VIEWER},
                                          headers={"Authorization": f"Bearer {token}"}).json()
    return answer


def refresh(http: TestClient) -> httpx.Response:
    """The console's silent renewal (the cookie goes by itself)."""
    return http.post("/oauth/token", data={"grant_type": "refresh_token",
                                           "client_id": "console"})


def test_sign_in_page_has_the_contract_fields_and_is_locked_down(browser: TestClient) -> None:
    page = browser.get("/oauth/authorize", params=authorize_params(pkce()[1]))
    assert page.status_code == 200
    for label in ("Library", "Username", "Password"):
        assert re.search(rf'<label for="\w+">{label}</label>', page.text), label
    assert '<button type="submit">Sign in</button>' in page.text
    assert "<script" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_sign_in_page_speaks_chinese_and_vietnamese(browser: TestClient) -> None:
    params = authorize_params(pkce()[1])
    chinese = browser.get("/oauth/authorize", params={**params, "lang": "zh-Hans"})
    assert '<html lang="zh-Hans">' in chinese.text
    assert ">用户名</label>" in chinese.text
    vietnamese = browser.get("/oauth/authorize", params=params,
                             headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert ">Mật khẩu</label>" in vietnamese.text
    assert 'hreflang="en"' in vietnamese.text  # switchable


def test_pkce_flow_gives_a_staff_token_with_role_scopes(browser: TestClient,
                                                       librarian: dict[str, str],
                                                       services: Services) -> None:
    verifier, challenge = pkce()
    code = code_of(sign_in(browser, librarian, challenge))
    token = exchange(browser, code, verifier)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 600
    assert body["scope"] == "library:read library:write"
    cookie = token.headers["set-cookie"]
    assert cookie.startswith("cs_refresh=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/oauth" in cookie
    keys = KeySet.import_key_set(browser.get("/.well-known/jwks.json").json())
    claims = jwt.decode(body["access_token"], keys).claims
    user = services.consortium.staff.directory(librarian["library"]).get_user(
        librarian["username"])
    assert claims["sub"] == str(user.id)
    assert claims["tenant"] == librarian["library"]
    assert claims["scope"] == "library:read library:write"
    seen = viewer(browser, body["access_token"])
    assert seen["data"] == {"viewer": {"tenant": {"slug": librarian["library"]},
                                       "scopes": ["library:read", "library:write"]}}


def test_refresh_rotates_and_a_used_refresh_token_ends_the_session(
        browser: TestClient, librarian: dict[str, str]) -> None:
    signed_in(browser, librarian)
    first = browser.cookies.get("cs_refresh")
    renewed = refresh(browser)
    assert renewed.status_code == 200, renewed.text
    assert viewer(browser, renewed.json()["access_token"])["data"] is not None
    second = browser.cookies.get("cs_refresh")
    assert second
    assert second != first
    browser.cookies.clear()
    browser.cookies.set("cs_refresh", str(first), path="/oauth")
    stolen = refresh(browser)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    browser.cookies.clear()
    browser.cookies.set("cs_refresh", str(second), path="/oauth")
    assert refresh(browser).status_code == 400  # the session ended: reuse means a copy


def test_code_is_single_use(browser: TestClient, librarian: dict[str, str]) -> None:
    verifier, challenge = pkce()
    code = code_of(sign_in(browser, librarian, challenge))
    assert exchange(browser, code, verifier).status_code == 200
    again = exchange(browser, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_wrong_verifier_is_refused_and_spends_the_code(browser: TestClient,
                                                      librarian: dict[str, str]) -> None:
    verifier, challenge = pkce()
    code = code_of(sign_in(browser, librarian, challenge))
    wrong = exchange(browser, code, pkce()[0])
    assert wrong.status_code == 400
    assert "code_verifier" in wrong.json()["error_description"]
    assert exchange(browser, code, verifier).status_code == 400


def test_code_for_another_redirect_or_client_is_refused(browser: TestClient,
                                                        librarian: dict[str, str]) -> None:
    verifier, challenge = pkce()
    code = code_of(sign_in(browser, librarian, challenge))
    other = browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": "console", "redirect_uri": "/?x=1"})
    assert other.status_code == 400
    stranger = browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": "someone-else", "redirect_uri": "/"})
    assert stranger.status_code == 401


def test_sign_in_without_or_with_a_forged_csrf_token_is_refused(
        browser: TestClient, librarian: dict[str, str]) -> None:
    params = authorize_params(pkce()[1])
    page = browser.get("/oauth/authorize", params=params)
    form = {**params, "library": librarian["library"], "username": librarian["username"],
            "password": PASSWORD}
    missing = browser.post("/oauth/authorize", data=form, follow_redirects=False)
    assert missing.status_code == 403
    assert 'role="alert"' in missing.text
    assert "Reload the page" in missing.text
    token = csrf_of(page)
    browser.cookies.clear()  # another browser (the attacker's page) has no nonce cookie
    forged = browser.post("/oauth/authorize", data={**form, "csrf_token": token},
                          follow_redirects=False)
    assert forged.status_code == 403
    other = browser.post("/oauth/authorize", data={**form, **authorize_params(
        pkce()[1]), "csrf_token": token}, follow_redirects=False)
    assert other.status_code == 403  # bound to the authorize request it was made for


@pytest.mark.parametrize("redirect", ["//evil.example/", "https://evil.example/", "/admin",
                                      "/#x", ""])
def test_authorize_refuses_any_other_redirect(browser: TestClient, redirect: str) -> None:
    page = browser.get("/oauth/authorize",
                       params=authorize_params(pkce()[1], redirect=redirect),
                       follow_redirects=False)
    assert page.status_code == 400
    assert "redirect_uri" in page.text
    assert "location" not in page.headers


def test_authorize_refuses_plain_pkce_and_other_clients(browser: TestClient) -> None:
    params = authorize_params(pkce()[1])
    assert browser.get("/oauth/authorize", params={**params, "code_challenge_method": "plain"}
                       ).status_code == 400
    assert browser.get("/oauth/authorize", params={**params, "client_id": "x"}
                       ).status_code == 400


def test_wrong_password_says_what_to_do_and_locks_out(browser: TestClient,
                                                      librarian: dict[str, str]) -> None:
    challenge = pkce()[1]
    wrong = sign_in(browser, librarian, challenge, password="not the password at all")
    assert wrong.status_code == 401
    assert re.search(r'id="password-error" role="alert">The library, username or password '
                     r"is not right", wrong.text)
    assert librarian["username"] in wrong.text  # what was typed stays, but not the password
    assert "not the password at all" not in wrong.text
    for _ in range(4):
        sign_in(browser, librarian, challenge, password="not the password at all")
    locked = sign_in(browser, librarian, challenge)  # even the right one, while locked
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert 'role="alert"' in locked.text


def test_unknown_library_or_user_fails_like_a_wrong_password(browser: TestClient,
                                                             librarian: dict[str, str]) -> None:
    challenge = pkce()[1]
    for who in ({**librarian, "library": "no-such-library"},
                {**librarian, "username": "nobody-here"},
                {**librarian, "library": "office"}):
        assert sign_in(browser, who, challenge).status_code == 401


def test_refresh_and_token_after_sign_out_are_refused(browser: TestClient,
                                                      librarian: dict[str, str]) -> None:
    access = signed_in(browser, librarian)
    out = browser.post("/oauth/logout")
    assert out.status_code == 204
    assert 'cs_refresh=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers[
        "set-cookie"]
    assert browser.cookies.get("cs_refresh") is None
    assert refresh(browser).status_code == 400
    refused = viewer(browser, access)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]


def test_disabled_account_is_refused_at_once(browser: TestClient, librarian: dict[str, str],
                                             services: Services) -> None:
    access = signed_in(browser, librarian)
    assert viewer(browser, access)["data"] is not None
    services.consortium.staff.disable_user(librarian["library"], librarian["username"])
    refused = viewer(browser, access)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
    assert refresh(browser).status_code == 400
    again = sign_in(browser, librarian, pkce()[1])
    assert again.status_code == 403
    assert "This account is disabled. Ask an administrator" in again.text


def test_password_reset_ends_sessions(browser: TestClient, librarian: dict[str, str],
                                      services: Services) -> None:
    access = signed_in(browser, librarian)
    services.consortium.staff.reset_password(librarian["library"], librarian["username"],
                                             "a brand new passphrase here")
    assert viewer(browser, access)["errors"]  # type: ignore[truthy-bool]
    assert refresh(browser).status_code == 400
    assert sign_in(browser, librarian, pkce()[1]).status_code == 401
    assert sign_in(browser, librarian, pkce()[1],
                   password="a brand new passphrase here").status_code == 302


def test_office_staff_sign_in_with_an_empty_library(browser: TestClient,
                                                   services: Services) -> None:
    username = f"office-{secrets.token_hex(3)}"
    services.consortium.staff.create_user(None, username, display_name="Office A.",
                                          roles=["office-admin"], password=PASSWORD)
    token = signed_in(browser, {"library": "", "username": username, "password": PASSWORD})
    listed = browser.get("/admin/tenants", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


def test_a_library_token_of_staff_cannot_reach_another_library(
        browser: TestClient, librarian: dict[str, str], admin_headers: dict[str, str]) -> None:
    other = f"lib-{secrets.token_hex(4)}"
    assert browser.post("/admin/tenants", json={"slug": other, "name": "Other"},
                        headers=admin_headers).status_code == 201
    assert sign_in(browser, {**librarian, "library": other}, pkce()[1]).status_code == 401
    token = signed_in(browser, librarian)
    assert browser.get("/admin/tenants", headers={"Authorization": f"Bearer {token}"}
                       ).status_code == 403


def test_demo_staff_sign_in_with_the_printed_credentials(browser: TestClient,
                                                        services: Services,
                                                        library: dict[str, str]) -> None:
    people = seed_demo_staff(services.consortium.staff, [library["slug"]])
    banner = "\n".join(demo_staff_lines(people))
    assert {(p["library"], p["username"]) for p in people} == {
        ("office", "admin"), (library["slug"], "admin"), (library["slug"], "librarian")}
    for person in people:
        assert person["password"] in banner
        token = signed_in(browser, person)
        me = browser.post("/graphql", json={"query": "{ currentStaffUser { username "
                                            "displayName roles } }"},
                          headers={"Authorization": f"Bearer {token}"}).json()
        assert me["data"]["currentStaffUser"]["username"] == person["username"]
    client = browser.post("/graphql", json={"query": "{ currentStaffUser { username } }"},
                          headers={"Authorization": f"Bearer {library['token']}"}).json()
    assert client["data"] == {"currentStaffUser": None}


def test_sign_in_page_fills_in_the_library_the_console_names(browser: TestClient) -> None:
    page = browser.get("/oauth/authorize", params={**authorize_params(pkce()[1]),
                                                   "library": "central-university"})
    assert re.search(r'<input id="library" name="library" type="text" '
                     r'value="central-university"', page.text)


def test_a_suspended_librarys_staff_are_refused(browser: TestClient, librarian: dict[str, str],
                                                admin_headers: dict[str, str]) -> None:
    access = signed_in(browser, librarian)
    suspended = browser.post(f"/admin/tenants/{librarian['library']}/suspend",
                             json={"reason": "unpaid dues"}, headers=admin_headers)
    assert suspended.status_code == 200
    refused = viewer(browser, access)
    assert refused["errors"][0]["extensions"]["code"] == "TENANT_NOT_ACTIVE"  # type: ignore[index]
    renewal = refresh(browser)
    assert renewal.status_code == 400
    assert "unpaid dues" in renewal.json()["error_description"]
    again = sign_in(browser, librarian, pkce()[1])
    assert again.status_code == 403
    assert "This library is suspended or archived" in again.text
