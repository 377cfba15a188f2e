"""The local runtime serves the built web studio as CloudFront will: files, the SPA fallback, the
cache lifetimes and the security headers, with API routes and stand-ins always first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.functions import ApiEvent
from local.gateway import Gateway, RestApi, Route, Router
from local.standins import LocalResponse, LocalRoutes, StandIn, StandInRegistry
from local.web import WebSite

STORAGE_ORIGIN = "http://127.0.0.1:4566"
INDEX = "<!doctype html><title>Atelier</title><script type=module src=/assets/index-abc123.js></script>"


def _function(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event["path"])}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('studio')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside the site")
    return tmp_path


def _gateway(web: WebSite | None) -> Gateway:
    api = RestApi("api", "dev", ())
    routes = [
        Route(ApiEvent("Health", "Get", "/v1/health", "GET", None), api),
        Route(ApiEvent("SharePage", "Get", "/s/{token}", "GET", None), api),
    ]
    stand_ins = StandInRegistry()
    local_routes = LocalRoutes()
    local_routes.get("/")(lambda request: LocalResponse.text("stand-in"))
    stand_ins.mount(StandIn("/_local/thing", local_routes, "a stand-in"))
    return Gateway(Router(routes), _function, stand_ins, "127.0.0.1", 0, web=web)


@pytest.fixture
def site(dist: Path) -> Iterator[httpx.Client]:
    gateway = _gateway(WebSite(dist, [STORAGE_ORIGIN]))
    gateway.start()
    try:
        with httpx.Client(base_url=gateway.url) as client:
            yield client
    finally:
        gateway.stop()


def test_the_root_serves_index_html_uncached_with_the_security_headers(site: httpx.Client) -> None:
    # When a browser opens the root
    response = site.get("/")
    # Then it gets the app's index.html, revalidated on every load, with CloudFront's headers
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert f"img-src 'self' data: {STORAGE_ORIGIN};" in policy
    assert "blob:" not in policy
    assert "base-uri 'none'" in policy


def test_hashed_assets_are_cached_for_a_year(site: httpx.Client) -> None:
    response = site.get("/assets/index-abc123.js")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_an_app_path_falls_back_to_index_html(site: httpx.Client) -> None:
    for path in ("/studio", "/library/anything", "/billing?checkout=success"):
        response = site.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX, path


def test_a_missing_hashed_asset_is_not_found_rather_than_the_app(site: httpx.Client) -> None:
    response = site.get("/assets/index-old.js")

    assert response.status_code == 404
    assert response.text != INDEX


def test_api_routes_and_stand_ins_win_over_the_app(site: httpx.Client) -> None:
    assert site.get("/v1/health").json() == "/v1/health"
    assert site.get("/s/tok_123").json() == "/s/tok_123"  # a declared route, such as the share page's
    assert site.get("/_local/thing").text == "stand-in"


def test_unknown_api_paths_never_fall_back(site: httpx.Client) -> None:
    for path in ("/v1/no-such-route", "/v1"):
        response = site.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path
    assert site.post("/studio").status_code == 404  # only reads are the app's


def test_paths_outside_the_site_are_never_served(dist: Path) -> None:
    # Given a file next to the site, When a path climbs out of the site to it
    response = WebSite(dist).serve("/../secret.txt")
    # Then the app answers, never the file
    assert response.body == INDEX.encode()


def test_without_a_build_the_gateway_answers_as_before(tmp_path: Path) -> None:
    gateway = _gateway(WebSite(tmp_path / "missing"))
    gateway.start()
    try:
        with httpx.Client(base_url=gateway.url) as client:
            response = client.get("/studio")
    finally:
        gateway.stop()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_local_checkout_returns_the_buyer_to_the_studio_billing_page() -> None:
    from local.payments import local_payments_environment

    environment = local_payments_environment("http://127.0.0.1:3000")

    assert environment["CHECKOUT_SUCCESS_URL"] == "http://127.0.0.1:3000/billing?checkout=success"
    assert environment["CHECKOUT_CANCEL_URL"] == "http://127.0.0.1:3000/billing?checkout=canceled"


def test_text_files_are_gzip_compressed_for_browsers_that_accept_it(dist: Path) -> None:
    # Given a script large enough to be worth compressing, as CloudFront compresses
    script = "console.log('studio');\n" * 200
    (dist / "assets" / "index-abc123.js").write_text(script)
    gateway = _gateway(WebSite(dist))
    gateway.start()
    try:
        with httpx.Client(base_url=gateway.url) as client:
            # When a browser that accepts gzip asks for it, Then it is compressed, and decodes to the file
            compressed = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
            assert compressed.headers["content-encoding"] == "gzip"
            assert int(compressed.headers["content-length"]) < len(script)
            assert compressed.text == script
            # When a client that does not accept it asks, Then it gets the file as it is
            plain = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
            assert "content-encoding" not in plain.headers
            assert plain.text == script
    finally:
        gateway.stop()
