"""The web studio: what the first gallery load ships and calls, and Lighthouse's scores.

    python -m bench.web [--json out.json]

Measured on the built app (`make web`: web/dist) served by the local runtime, with a gallery of
published images and a share link made through the API first:

- JavaScript and CSS of the first gallery load, gzip-compressed (what index.html loads; the other
  screens are lazy chunks, fetched when opened);
- the API calls and their bytes on the wire for the first gallery page (Chromium, via Playwright);
- Lighthouse's performance and accessibility scores (its default mobile profile, simulated
  throttling; lighthouse from web/node_modules, headless Chromium) for the gallery, the studio
  (signed in) and a share page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import INFO, MET, MISSED, Figure, pending, silenced_stdout, write

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DIST = WEB / "dist"
GROUP = "web studio"
FIRST_LOAD_GOAL_KB = 150
# Lighthouse goals: (performance, accessibility) per page.
GOALS = {"gallery": (95, 100), "studio": (90, 100), "share": (95, 100)}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"


def chrome_path() -> str:
    return os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def first_load_bytes(dist: Path = DIST) -> dict[str, int]:
    """Gzip sizes of the scripts and stylesheets index.html loads (its module preloads included)."""
    html = (dist / "index.html").read_text()
    paths = re.findall(r'<script[^>]+src="(/[^"]+)"', html)
    paths += re.findall(r'<link[^>]+href="(/[^"]+\.(?:css|js))"', html)
    sizes = {"js": 0, "css": 0, "html": len(gzip.compress(html.encode(), compresslevel=9))}
    for path in dict.fromkeys(paths):
        body = (dist / path.lstrip("/")).read_bytes()
        sizes["css" if path.endswith(".css") else "js"] += len(gzip.compress(body, compresslevel=9))
    return sizes


def seed(base_url: str, images: int) -> dict[str, str]:
    """A creator with published images and a share link; returns the session cookie and the share path."""
    from tests.support.client import ApiClient

    creator = ApiClient(base_url)
    creator.sign_in("bench.creator@example.com")
    version = creator.get("/v1/policies/terms").json()["version"]
    creator.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
    checkout = creator.post("/v1/billing/checkout", json={"item_id": "pack_studio", "provider": "stripe"}).json()
    creator.http.post(f"{checkout['url']}/pay")  # the sandbox takes the payment and delivers its webhooks
    jobs = []
    for index in range(images):
        while True:
            submitted = creator.post(
                "/v1/jobs",
                json={"kind": "image", "model": "local-image", "prompt": f"bench {index}", "params": {"width": 256}},
                headers={"Idempotency-Key": f"bench-{index}"},
            )
            if submitted.status_code != 429:
                break
            time.sleep(float(submitted.headers.get("Retry-After", "1")))  # the submission rate limit's answer
        jobs.append(submitted.json()["id"])
    outputs = []
    deadline = time.monotonic() + 300
    for job_id in jobs:
        while True:
            job = creator.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "canceled"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']}")
            time.sleep(0.2)
        outputs += job["outputs"]
    for asset_id in outputs:
        creator.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": "public"})
    share = creator.post("/v1/shares", json={"target_type": "asset", "target_id": outputs[0]}).json()
    cookie = "; ".join(f"{name}={value}" for name, value in creator.cookies.items())
    creator.close()
    return {"cookie": cookie, "share_path": f"/s/{share['token']}", "published": str(len(outputs))}


def network(url: str) -> dict[str, Any]:
    answer = subprocess.run(
        ["node", str(WEB / "scripts" / "first-load.mjs"), url, ".media-grid, main p"],
        capture_output=True,
        text=True,
        cwd=WEB,
        env={**os.environ, "CHROME_PATH": chrome_path()},
        check=True,
        timeout=180,
    )
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


def lighthouse(url: str, cookie: str | None, runs: int) -> tuple[float, float]:
    """The median scores of `runs` Lighthouse runs (one run's score moves with the machine's load)."""
    scores = [_lighthouse_once(url, cookie) for _ in range(runs)]
    return statistics.median(score[0] for score in scores), statistics.median(score[1] for score in scores)


def _lighthouse_once(url: str, cookie: str | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            "node",
            str(WEB / "node_modules" / "lighthouse" / "cli" / "index.js"),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            "--only-categories=performance,accessibility",
            f"--chrome-flags={CHROME_FLAGS}",
        ]
        if cookie:
            command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
        environment = {**os.environ, "CHROME_PATH": chrome_path()}
        subprocess.run(command, cwd=WEB, env=environment, check=True, timeout=300, stdout=sys.stderr)
        categories = json.loads(report.read_text())["categories"]
        return categories["performance"]["score"] * 100, categories["accessibility"]["score"] * 100


def measure(images: int, runs: int) -> list[Figure]:
    from local.runtime import LocalRuntime

    if not (DIST / "index.html").is_file():
        return [pending(GROUP, "web studio figures", "see docs/performance.md", "pending: `make web` has not run")]
    sizes = first_load_bytes()
    total_kb = (sizes["js"] + sizes["css"]) / 1024
    how_bytes = "bench/web.py: the scripts and stylesheets web/dist/index.html loads, gzip -9 (lazy screens excluded)"
    rows = [
        Figure(
            GROUP,
            "first gallery load: JavaScript + CSS (gzip)",
            f"<= {FIRST_LOAD_GOAL_KB} KB",
            f"**{total_kb:.1f} KB** (JS {sizes['js'] / 1024:.1f} KB, CSS {sizes['css'] / 1024:.1f} KB)",
            MET if total_kb <= FIRST_LOAD_GOAL_KB else MISSED,
            how_bytes,
            {"js_gzip": sizes["js"], "css_gzip": sizes["css"]},
        )
    ]
    with LocalRuntime(port=0, fire_schedules=False) as runtime:
        seeded = seed(runtime.api_url, images)
        loaded = network(f"{runtime.api_url}/")
        rows.append(
            Figure(
                GROUP,
                f"first gallery page ({seeded['published']} public images): API calls and bytes",
                "-",
                f"**{loaded['api_calls']} calls, {loaded['api_bytes'] / 1024:.1f} KB** "
                f"({', '.join(sorted(set(loaded['api_paths'])))}); {loaded['requests']} requests in all",
                INFO,
                "bench/web.py: Chromium (Playwright) loads / signed out until the network is idle; bytes are "
                "headers and bodies on the wire",
                loaded,
            )
        )
        pages = {
            "gallery": (f"{runtime.api_url}/", None),
            "studio": (f"{runtime.api_url}/studio", seeded["cookie"]),
            "share": (f"{runtime.api_url}{seeded['share_path']}", None),
        }
        for name, (url, cookie) in pages.items():
            performance, accessibility = lighthouse(url, cookie, runs)
            goal_performance, goal_accessibility = GOALS[name]
            met = performance >= goal_performance and accessibility >= goal_accessibility
            rows.append(
                Figure(
                    GROUP,
                    f"Lighthouse, {name} page: performance / accessibility",
                    f">= {goal_performance} / {goal_accessibility}",
                    f"**{performance:.0f} / {accessibility:.0f}**",
                    MET if met else MISSED,
                    f"bench/web.py: lighthouse 12 (web/node_modules), median of {runs} runs, default mobile profile "
                    "with simulated throttling, headless Chromium, the built app served by the local runtime"
                    + ("; signed in" if cookie else "; signed out"),
                    {"performance": performance, "accessibility": accessibility},
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="public images in the gallery")
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page (the median is kept)")
    parser.add_argument("--json", help="write the figures here for bench/report.py")
    options = parser.parse_args()
    with silenced_stdout():  # the handlers print their metrics; only the figures belong on stdout
        rows = measure(options.images, options.runs)
    for row in rows:
        print(f"{row.figure}: {row.result} (goal {row.goal}) {row.verdict}")
    write(options.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
