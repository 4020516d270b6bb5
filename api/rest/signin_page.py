"""The staff sign-in page, rendered by the server in English, 简体中文 or Tiếng Việt: no script
at all, every field labelled, errors next to the field they concern (role=alert)."""

# ruff: noqa: RUF001 -- Chinese text is written with full-width punctuation, as it should be

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

LANGUAGES = {"en": "English", "zh-Hans": "简体中文", "vi": "Tiếng Việt"}
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sign in to CommonShelf",
        "heading": "Sign in",
        "intro": "Staff of a member library or of the consortium office.",
        "library": "Library",
        "library_hint": "Your library's short name (slug), such as central-university. "
                        "Leave empty (or write office) for the consortium office.",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "languages": "Language",
        "failed": "The library, username or password is not right. Check them and try "
                  "again; after {tries} failed attempts sign-in waits {minutes} minutes.",
        "missing_username": "Enter your username.",
        "missing_password": "Enter your password.",
        "locked": "Too many failed sign-ins for this account or from this address. Wait "
                  "{seconds} seconds, then try again, or ask your library's administrator to "
                  "reset your password.",
        "disabled": "This account is disabled. Ask an administrator of your library to "
                    "enable it.",
        "library_closed": "This library is suspended or archived. Ask the consortium "
                          "office.",
        "expired": "This sign-in form has expired or was not sent from this page. Reload the "
                   "page and sign in again.",
        "bad_request": "This sign-in link is not valid: {reason}. Open the console again.",
    },
    "zh-Hans": {
        "title": "登录 CommonShelf",
        "heading": "登录",
        "intro": "成员图书馆或联盟办公室的工作人员。",
        "library": "图书馆",
        "library_hint": "您所在图书馆的简称（slug），例如 central-university。"
                        "联盟办公室请留空（或填写 office）。",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "languages": "语言",
        "failed": "图书馆、用户名或密码不正确。请检查后重试；"
                  "连续失败 {tries} 次后需等待 {minutes} 分钟。",
        "missing_username": "请输入用户名。",
        "missing_password": "请输入密码。",
        "locked": "此帐户或此地址的登录失败次数过多。"
                  "请等待 {seconds} 秒后重试，或请图书馆管理员重置密码。",
        "disabled": "此帐户已停用。请联系图书馆管理员启用。",
        "library_closed": "此图书馆已暂停或已归档。请联系联盟办公室。",
        "expired": "此登录表单已过期或并非从本页面提交。请刷新页面后重新登录。",
        "bad_request": "此登录链接无效：{reason}。请重新打开控制台。",
    },
    "vi": {
        "title": "Đăng nhập CommonShelf",
        "heading": "Đăng nhập",
        "intro": "Nhân viên của thư viện thành viên hoặc của văn phòng liên hiệp.",
        "library": "Thư viện",
        "library_hint": "Tên ngắn (slug) của thư viện, ví dụ central-university. Để trống "
                        "(hoặc ghi office) cho văn phòng liên hiệp.",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "submit": "Đăng nhập",
        "languages": "Ngôn ngữ",
        "failed": "Thư viện, tên đăng nhập hoặc mật khẩu không đúng. Hãy kiểm tra rồi thử "
                  "lại; sau {tries} lần sai, phải chờ {minutes} phút.",
        "missing_username": "Hãy nhập tên đăng nhập.",
        "missing_password": "Hãy nhập mật khẩu.",
        "locked": "Có quá nhiều lần đăng nhập sai cho tài khoản này hoặc từ địa chỉ này. Hãy "
                  "chờ {seconds} giây rồi thử lại, hoặc nhờ quản trị viên thư viện đặt lại "
                  "mật khẩu.",
        "disabled": "Tài khoản này đã bị vô hiệu hóa. Hãy nhờ quản trị viên thư viện kích "
                    "hoạt lại.",
        "library_closed": "Thư viện này đang bị tạm ngừng hoặc đã lưu trữ. Hãy liên hệ văn "
                          "phòng liên hiệp.",
        "expired": "Biểu mẫu đăng nhập đã hết hạn hoặc không được gửi từ trang này. Hãy tải "
                   "lại trang và đăng nhập lại.",
        "bad_request": "Liên kết đăng nhập không hợp lệ: {reason}. Hãy mở lại bảng điều khiển.",
    },
}
# The authorize request's parameters, carried through the form unchanged.
CARRIED = ("response_type", "client_id", "redirect_uri", "code_challenge",
           "code_challenge_method", "state")


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """The `lang` asked for, else the browser's first language we have, else English."""
    if asked in LANGUAGES:
        return asked
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-Hans"
        if tag.startswith("vi"):
            return "vi"
        if tag.startswith("en"):
            return "en"
    return "en"


def _field(name: str, label: str, kind: str, *, value: str, error: str | None,
           autocomplete: str, hint: str | None = None) -> str:
    described = []
    hint_html = error_html = ""
    if hint:
        described.append(f"{name}-hint")
        hint_html = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>'
    if error:
        described.append(f"{name}-error")
        error_html = f'<p class="error" id="{name}-error" role="alert">{escape(error)}</p>'
    aria = f' aria-describedby="{" ".join(described)}"' if described else ""
    invalid = ' aria-invalid="true"' if error else ""
    return (f'<div class="field"><label for="{name}">{escape(label)}</label>{hint_html}'
            f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}" '
            f'autocomplete="{autocomplete}"{aria}{invalid}>{error_html}</div>')


def sign_in_page(lang: str, params: Mapping[str, str], csrf: str, *, library: str = "",
                 username: str = "", errors: Mapping[str, str] | None = None) -> str:
    """The sign-in form, carrying the authorize request; `errors` by field
    (library, username, password, form)."""
    t = TEXT[lang]
    errors = errors or {}
    hidden = "".join(f'<input type="hidden" name="{n}" value="{escape(params.get(n, ""))}">'
                     for n in CARRIED)
    links = " ".join(_language_link(params, code, code == lang) for code in LANGUAGES)
    form_error = (f'<p class="error" role="alert">{escape(errors["form"])}</p>'
                  if "form" in errors else "")
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["title"])}</title><link rel="stylesheet" href="/static/signin.css"></head>
<body><main>
<nav aria-label="{escape(t["languages"])}">{links}</nav>
<h1>{escape(t["heading"])}</h1><p>{escape(t["intro"])}</p>{form_error}
<form method="post" action="/oauth/authorize" novalidate>
{hidden}<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
{_field("library", t["library"], "text", value=library, error=errors.get("library"),
        autocomplete="organization", hint=t["library_hint"])}
{_field("username", t["username"], "text", value=username, error=errors.get("username"),
        autocomplete="username")}
{_field("password", t["password"], "password", value="", error=errors.get("password"),
        autocomplete="current-password")}
<button type="submit">{escape(t["submit"])}</button>
</form></main></body></html>
"""


def message_page(lang: str, message: str) -> str:
    """A page that only says what went wrong and what to do."""
    t = TEXT[lang]
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<title>{escape(t["title"])}</title><link rel="stylesheet" '
            f'href="/static/signin.css"></head><body><main><h1>{escape(t["heading"])}</h1>'
            f'<p class="error" role="alert">{escape(message)}</p></main></body></html>')


def _language_link(params: Mapping[str, str], code: str, current: bool) -> str:
    href = escape("/oauth/authorize?" + urlencode({**_carried(params), "lang": code}))
    mark = ' aria-current="true"' if current else ""
    return f'<a href="{href}" hreflang="{code}" lang="{code}"{mark}>{LANGUAGES[code]}</a>'


def _carried(params: Mapping[str, str]) -> dict[str, str]:
    return {n: params[n] for n in CARRIED if params.get(n)}
