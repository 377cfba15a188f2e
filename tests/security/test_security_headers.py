"""Every answer the API gives carries the security headers: HSTS, nosniff and frame denial, whichever
route family answers and whatever the status (2xx, 4xx, the gateway's own 404 and 413, redirects),
and an HTML page a strict Content-Security-Policy. The routes come from the running stack's route
table, so a route added to template.yaml is checked without anyone listing it here.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.gateway import MAX_BODY_BYTES
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in

ONE_YEAR = 365 * 24 * 3600
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PATH_VALUES = {"{provider}": "stripe", "{kind}": "terms", "{version}": "1"}


def concrete(path: str) -> str:
    """A request path for a route: known values where the route takes a fixed set, else a well-formed id."""
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return re.sub(r"\{[^}]+\}", "x_00000000000000000000000000", path)


def security_problems(answer: httpx.Response) -> list[str]:
    """What an answer lacks, one line each (empty when it carries everything)."""
    headers = answer.headers
    problems = []
    hsts = headers.get("strict-transport-security", "")
    max_age = re.search(r"max-age=(\d+)", hsts)
    if not max_age or int(max_age.group(1)) < ONE_YEAR or "includesubdomains" not in hsts.lower():
        problems.append(f"HSTS missing or weak: {hsts!r}")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    framing = directives(headers.get("content-security-policy", "")).get("frame-ancestors")
    if headers.get("x-frame-options", "").upper() != "DENY" and framing != ["'none'"]:
        problems.append("frames allowed: neither X-Frame-Options DENY nor frame-ancestors 'none'")
    if "text/html" in headers.get("content-type", ""):
        problems += html_policy_problems(headers.get("content-security-policy", ""))
    if "access-control-allow-origin" in headers:
        problems.append(f"a CORS grant: {headers['access-control-allow-origin']!r}")
    return problems


def directives(policy: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        if directive.strip():
            name, *sources = directive.split()
            found.setdefault(name.lower(), sources)
    return found


# Swagger UI (the docs page) sets inline style attributes from its own script, which no hash can
# allow (swagger-api/swagger-ui#3370, #10655): styles cannot run code, so 'unsafe-inline' is
# tolerated in style-src alone. Scripts get no such allowance.
STYLE_ALLOWANCE = {"style-src": {"'unsafe-inline'"}}
PERMISSIVE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:", "data:", "blob:"}


def html_policy_problems(policy: str) -> list[str]:
    found = directives(policy)
    problems = []
    if not policy:
        return ["an HTML page without a Content-Security-Policy"]
    if found.get("default-src") not in (["'none'"], ["'self'"]):
        problems.append(f"default-src is not 'none' or 'self': {found.get('default-src')}")
    for name, sources in found.items():
        permissive = set(sources) & PERMISSIVE_SOURCES - STYLE_ALLOWANCE.get(name, set())
        if name in ("img-src", "font-src"):
            permissive -= {"data:"}  # inert resources; the page's icons are data: URIs
        if permissive:
            problems.append(f"{name} allows {sorted(permissive)}")
    if "'unsafe-eval'" in policy:
        problems.append("'unsafe-eval' appears in the policy")
    script = found.get("script-src", found.get("default-src", []))
    if not all(source == "'self'" or source.startswith(("'sha256-", "'sha384-", "'nonce-")) for source in script):
        problems.append(f"script-src allows more than itself and named scripts: {script}")
    for name in ("frame-ancestors", "base-uri", "object-src"):
        if name == "object-src" and "object-src" not in found and found.get("default-src") == ["'none'"]:
            continue
        if found.get(name) != ["'none'"]:
            problems.append(f"{name} is not 'none': {found.get(name)}")
    return problems


@pytest.fixture(scope="module")
def member(stack: LocalRuntime) -> Iterator[ApiClient]:
    client = signed_in(stack.api_url, f"headers-{uuid.uuid4().hex[:8]}@example.com")
    yield client
    client.close()


def _body_for(method: str) -> dict[str, Any]:
    return {"content": b"{}", "headers": {"Content-Type": "application/json"}} if method in UNSAFE else {}


def test_every_route_answers_with_the_security_headers_whoever_asks(stack, member):
    # Given every route of the stack's route table
    routes = [(method, path) for method, path, _ in stack.routes]
    assert len(routes) >= 50
    failures = []
    statuses: set[int] = set()
    # When each is called anonymously, and (reads) signed in
    # (anonymous callers name a foreign Origin: no answer may grant it anything)
    foreign = {"Origin": "https://evil.example"}
    with httpx.Client(base_url=stack.api_url, follow_redirects=False, timeout=30, headers=foreign) as anonymous:
        for method, path in routes:
            answers = [anonymous.request(method, concrete(path), **_body_for(method))]
            if method == "GET":
                answers.append(member.get(concrete(path)))
            for answer in answers:
                statuses.add(answer.status_code)
                failures += [
                    f"{method} {path} ({answer.status_code}): {problem}" for problem in security_problems(answer)
                ]
    # Then every answer carries the headers, and the answers spanned successes, redirects and refusals
    assert failures == []
    assert {200, 302, 401, 404} <= statuses
    assert max(statuses) < 500


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/v1/no-such-route", {}, 404),
        ("GET", "/", {}, 404),
        ("PUT", "/v1/health", {}, 404),  # a method the resource lacks: a REST API answers it as unknown
        ("DELETE", "/v1/models", {}, 404),
        ("POST", "/v1/jobs", {"content": b" " * (MAX_BODY_BYTES + 1)}, 413),
    ],
    ids=["unknown-route", "root", "wrong-method", "wrong-method-delete", "too-large"],
)
def test_the_gateways_own_answers_carry_the_security_headers(stack, method, path, kwargs, status):
    answer = httpx.request(method, f"{stack.api_url}{path}", timeout=30, **kwargs)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] in ("not_found", "payload_too_large")
    assert security_problems(answer) == []


def test_a_foreign_preflight_is_answered_with_the_security_headers_and_no_grant(stack):
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    answer = httpx.request("OPTIONS", f"{stack.api_url}/v1/jobs", headers=headers, timeout=30)
    assert answer.status_code == 204
    assert security_problems(answer) == []


def test_the_docs_page_has_a_strict_content_security_policy(stack):
    answer = httpx.get(f"{stack.api_url}/v1/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert security_problems(answer) == []
    policy = directives(answer.headers["content-security-policy"])
    # Every inline script the page carries is allowed by its hash, and nothing else runs
    scripts = re.findall(r"<script>(.*?)</script>", answer.text, flags=re.DOTALL)
    assert len(scripts) == len(policy["script-src"]) == 2
    assert policy["connect-src"] == ["'self'"]
    assert policy["form-action"] == ["'none'"]


def test_json_answers_allow_nothing_to_run_or_load(stack, member):
    for answer in (member.get("/v1/me"), httpx.get(f"{stack.api_url}/v1/health"), member.get("/v1/jobs/x_1")):
        policy = directives(answer.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert answer.headers["content-type"].startswith("application/json")


def test_personal_answers_are_never_cached_by_anyone_else(member):
    for path in ("/v1/me", "/v1/billing/balance", "/v1/me/api-keys"):
        assert "no-store" in member.get(path).headers["cache-control"]


def test_redirects_carry_the_security_headers(stack):
    client = ApiClient(stack.api_url)
    login = client.get(f"/v1/auth/login?login_hint=redirects-{uuid.uuid4().hex[:6]}%40example.com")
    approved = client.http.get(login.headers["location"])
    callback = client.follow(approved.headers["location"])
    back = client.get("/v1/billing/return/stripe")
    for answer in (login, callback, back):
        assert answer.status_code == 302
        assert security_problems(answer) == []


def test_an_html_policy_that_allows_inline_scripts_is_caught():
    # The checks above would pass a page with a weak policy if this one did not fail
    weak = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    assert any("script-src" in problem for problem in html_policy_problems(weak))
    assert any("unsafe-eval" in problem for problem in html_policy_problems(weak + "; style-src 'unsafe-eval'"))
    assert html_policy_problems("") == ["an HTML page without a Content-Security-Policy"]
    assert json.dumps(directives("default-src 'none'; frame-ancestors 'none'")) == json.dumps(
        {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
    )
