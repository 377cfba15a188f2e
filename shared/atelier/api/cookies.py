"""The only cookies Atelier ever sets (P12): the session, the sign-in state, and (read only, set by
the web client) the active workspace and the theme. All `__Host-` prefixed: Secure, Path=/, no
Domain, so no subdomain can plant or read them."""

from __future__ import annotations

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

SESSION_COOKIE = "__Host-session"
SIGN_IN_COOKIE = "__Host-signin"
WORKSPACE_COOKIE = "__Host-workspace"
THEME_COOKIE = "__Host-theme"
ALLOWED_COOKIES = frozenset({SESSION_COOKIE, SIGN_IN_COOKIE, WORKSPACE_COOKIE, THEME_COOKIE})


def _cookie(name: str, value: str, max_age: int) -> Cookie:
    assert name in ALLOWED_COOKIES
    return Cookie(
        name=name, value=value, path="/", secure=True, http_only=True, same_site=SameSite.LAX_MODE, max_age=max_age
    )


def session_cookie(token: str, max_age: int) -> Cookie:
    return _cookie(SESSION_COOKIE, token, max_age)


def sign_in_cookie(binding: str, max_age: int) -> Cookie:
    return _cookie(SIGN_IN_COOKIE, binding, max_age)


def cleared(name: str) -> Cookie:
    return _cookie(name, "", 0)


def parse_cookie_header(values: list[str]) -> dict[str, str]:
    """Cookies from one or more Cookie headers; the first value of a repeated name wins."""
    parsed: dict[str, str] = {}
    for header in values:
        for pair in header.split(";"):
            name, separator, value = pair.strip().partition("=")
            if separator and name and name not in parsed:
                parsed[name] = value.strip().strip('"')
    return parsed
