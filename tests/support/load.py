"""Mixed traffic against the running local runtime: what a few dozen people and their scripts do at
once (health checks, sign-ins, their profile, jobs and assets, new jobs, the gallery, share links,
API-key calls) plus some deliberately bad requests, for a fixed number of requests.

The traffic is planned up front from a seed, then sent by a pool of threads over keep-alive
connections to 127.0.0.1. Every answer is judged against what that kind of request may answer:
the expected 429s of rate limits and the chosen 4xx of the bad requests are fine, anything else
(a 5xx, a transport error, a 4xx a good request should not get, a profile answered for someone
else) is a problem. Latency is measured per HTTP request, from sending to the whole answer read.

Used by tests/reliability/test_load.py and bench/load.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

IMAGE_JOB = {
    "kind": "image",
    "model": "local-image",
    "prompt": "a quiet harbour",
    "params": {"width": 64, "height": 64},
}
FINAL = {"succeeded", "failed", "canceled"}

# What each kind of request may answer. Sign-ins are limited per address (429); job submissions per
# account, by the jobs in flight, and by credits.
EXPECTED: dict[str, set[int]] = {
    "health": {200},
    "catalog": {200},
    "models": {200},
    "terms": {200},
    "me": {200},
    "me by key": {200},
    "balance": {200},
    "jobs": {200},
    "jobs by key": {200},
    "job": {200},
    "assets": {200},
    "submit": {202, 402, 429},
    "submit by key": {202, 402, 429},
    "gallery": {200},
    "share view": {200},
    "share create": {201},
    "publish": {200},
    "sign-in login": {302, 429},
    "sign-in issuer": {302},
    "sign-in callback": {302},
    # The deliberate mistakes, each with the one answer it must get.
    "bad: anonymous profile": {401},
    "bad: someone's job": {404},
    "bad: invalid job": {422},
    "bad: malformed json": {400},
    "bad: cookie without origin": {403},
    "bad: unknown route": {404},
    "bad: revoked-looking key": {401},
}

# How often each action is planned (sign-in is three requests).
MIX: dict[str, int] = {
    "health": 8,
    "catalog": 3,
    "models": 3,
    "terms": 2,
    "me": 10,
    "me by key": 5,
    "balance": 5,
    "jobs": 7,
    "jobs by key": 4,
    "job": 5,
    "assets": 6,
    "submit": 5,
    "submit by key": 3,
    "gallery": 8,
    "share view": 6,
    "share create": 2,
    "publish": 1,
    "sign-in": 2,
    "bad": 8,
}
BAD = [kind.removeprefix("bad: ") for kind in EXPECTED if kind.startswith("bad: ")]


@dataclass
class Visitor:
    """A signed-in person with an API key, and what they made so far."""

    account_id: str
    session_token: str
    api_key: str
    jobs: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)


@dataclass
class Answered:
    kind: str
    status: int | None  # None: no answer (a transport error)
    seconds: float


@dataclass
class LoadReport:
    answers: list[Answered]
    problems: list[str]
    seconds: float
    workers: int
    cpu_seconds: float = 0.0  # of this whole process: the runtime's work and the clients'

    @property
    def requests(self) -> int:
        return len(self.answers)

    def by_status(self) -> Counter[str]:
        return Counter("transport error" if answer.status is None else str(answer.status) for answer in self.answers)

    def percentile(self, share: float) -> float:
        latencies = sorted(answer.seconds for answer in self.answers)
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{status} x{count}" for status, count in sorted(self.by_status().items()))
        kinds = Counter(answer.kind for answer in self.answers)
        return [
            f"load: {self.requests} requests by {self.workers} workers in {self.seconds:.1f} s: "
            f"{self.throughput:.1f} requests/s, latency p50 {self.percentile(0.5) * 1000:.0f} ms, "
            f"p95 {self.percentile(0.95) * 1000:.0f} ms, max {self.percentile(1.0) * 1000:.0f} ms; "
            f"{self.cpu_seconds:.1f} s of CPU in this process",
            f"load: by status: {statuses}",
            "load: by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())),
        ]


def welcome(base_url: str, count: int, *, credits: int = 100_000, workers: int = 8) -> list[Visitor]:
    """People made through the real code: account, session, terms, credits, an API key and one
    finished image, published."""
    from atelier.services import get_services
    from atelier.usecases.open_session import open_session
    from tests.support.money import give_credits, new_account

    services = get_services()
    with httpx.Client(base_url=base_url, timeout=120) as http:
        terms = http.get("/v1/policies/terms").json()["version"]

        def make(_: int) -> Visitor:
            account = new_account()
            token, _session = open_session(
                account, sessions=services.sessions, clock=services.clock, settings=services.settings
            )
            headers = {"Cookie": f"__Host-session={token}", "Origin": base_url}
            accepted = http.post("/v1/me/terms", json={"version": terms, "age_confirmed": True}, headers=headers)
            assert accepted.status_code == 200, accepted.text
            give_credits(account, credits)
            key = http.post("/v1/me/api-keys", json={"name": "load"}, headers=headers)
            assert key.status_code == 201, key.text
            visitor = Visitor(account.id, token, key.json()["key"])
            submitted = http.post("/v1/jobs", json=IMAGE_JOB, headers=headers)
            assert submitted.status_code == 202, submitted.text
            visitor.jobs.append(submitted.json()["id"])
            job = _finished(http, visitor.jobs[0], headers)
            assert job["status"] == "succeeded", job
            visitor.assets.append(job["outputs"][0])
            published = http.patch(f"/v1/assets/{visitor.assets[0]}", json={"visibility": "public"}, headers=headers)
            assert published.status_code == 200, published.text
            return visitor

        # The first one alone: every code path's first use (clients, connections) is then warm,
        # instead of being set up by several threads at once.
        first = make(0)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return [first, *pool.map(make, range(1, count))]


def _finished(http: httpx.Client, job_id: str, headers: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = http.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in FINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


class Traffic:
    """A seeded plan of actions, sent by `workers` threads; `run` answers the report."""

    def __init__(self, base_url: str, visitors: list[Visitor], *, seed: int, workers: int = 8) -> None:
        self.base_url = base_url
        self.visitors = visitors
        self.rng = random.Random(seed)
        self.workers = workers
        self.http = httpx.Client(
            base_url=base_url,
            timeout=60,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers * 2),
        )
        self.lock = threading.Lock()
        self.answers: list[Answered] = []
        self.problems: list[str] = []
        self.share_tokens: list[str] = []
        self.sign_ins = 0

    def close(self) -> None:
        self.http.close()

    # -- planning ------------------------------------------------------------------------------
    def plan(self, requests: int) -> list[tuple[str, int, Any]]:
        """(action, visitor, detail) until the requests they make add up to `requests`."""
        actions, weights = zip(*MIX.items(), strict=True)
        planned: list[tuple[str, int, Any]] = []
        total = 0
        while total < requests:
            action = self.rng.choices(actions, weights)[0]
            detail = self.rng.choice(BAD) if action == "bad" else self.rng.random()
            planned.append((action, self.rng.randrange(len(self.visitors)), detail))
            total += 3 if action == "sign-in" else 1
        return planned

    # -- sending -------------------------------------------------------------------------------
    def send(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        visitor: Visitor | None = None,
        by_key: bool = False,
        origin: bool = True,
        http: httpx.Client | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        headers = dict(kwargs.pop("headers", None) or {})
        if visitor is not None and by_key:
            headers["Authorization"] = f"Bearer {visitor.api_key}"
        elif visitor is not None:
            headers["Cookie"] = f"__Host-session={visitor.session_token}"
            if origin and method in ("POST", "PUT", "PATCH", "DELETE"):
                headers["Origin"] = self.base_url
        started = time.perf_counter()
        try:
            response = (http or self.http).request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            self.record(Answered(kind, None, time.perf_counter() - started), f"{kind}: {type(exc).__name__}: {exc}")
            return None
        answered = Answered(kind, response.status_code, time.perf_counter() - started)
        problem = None
        if response.status_code not in EXPECTED[kind]:
            problem = f"{kind}: {method} {path} answered {response.status_code}: {response.text[:200]}"
        self.record(answered, problem)
        return response

    def record(self, answered: Answered, problem: str | None) -> None:
        with self.lock:
            self.answers.append(answered)
            if problem:
                self.problems.append(problem)

    def act(self, planned: tuple[str, int, Any]) -> None:
        action, index, detail = planned
        visitor = self.visitors[index]
        try:
            ACTIONS[action](self, visitor, detail)
        except Exception as exc:  # a broken answer (not JSON, fields missing) is a problem, not a crash
            with self.lock:
                self.problems.append(f"{action}: {type(exc).__name__}: {exc}")

    def run(self, requests: int) -> LoadReport:
        planned = self.plan(requests)
        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="load") as pool:
            list(pool.map(self.act, planned))
        return LoadReport(
            list(self.answers),
            list(self.problems),
            time.perf_counter() - started,
            self.workers,
            time.process_time() - cpu,
        )

    # -- the actions ---------------------------------------------------------------------------
    def _me(self, visitor: Visitor, by_key: bool) -> None:
        kind = "me by key" if by_key else "me"
        response = self.send(kind, "GET", "/v1/me", visitor=visitor, by_key=by_key)
        if response is not None and response.status_code == 200 and response.json()["id"] != visitor.account_id:
            with self.lock:
                self.problems.append(f"{kind}: {visitor.account_id} was answered with {response.json()['id']}")

    def _submit(self, visitor: Visitor, by_key: bool) -> None:
        kind = "submit by key" if by_key else "submit"
        response = self.send(kind, "POST", "/v1/jobs", visitor=visitor, by_key=by_key, json=IMAGE_JOB)
        if response is not None and response.status_code == 202:
            with self.lock:
                visitor.jobs.append(response.json()["id"])

    def _job(self, visitor: Visitor, detail: float) -> None:
        with self.lock:
            job_id = visitor.jobs[int(detail * len(visitor.jobs))]
        response = self.send("job", "GET", f"/v1/jobs/{job_id}", visitor=visitor)
        if response is not None and response.status_code == 200:
            job = response.json()
            if job["id"] != job_id:
                with self.lock:
                    self.problems.append(f"job: asked for {job_id}, answered {job['id']}")
            if job["status"] == "succeeded":
                with self.lock:
                    visitor.assets.extend(asset for asset in job["outputs"] if asset not in visitor.assets)

    def _share_create(self, visitor: Visitor, detail: float) -> None:
        with self.lock:
            asset = visitor.assets[int(detail * len(visitor.assets))]
        body = {"target_type": "asset", "target_id": asset}
        response = self.send("share create", "POST", "/v1/shares", visitor=visitor, json=body)
        if response is not None and response.status_code == 201:
            with self.lock:
                self.share_tokens.append(response.json()["token"])

    def _share_view(self, visitor: Visitor, detail: float) -> None:
        with self.lock:
            token = self.share_tokens[int(detail * len(self.share_tokens))] if self.share_tokens else None
        if token is None:
            self._share_create(visitor, detail)
            return
        self.send("share view", "GET", f"/v1/s/{token}")

    def _publish(self, visitor: Visitor, detail: float) -> None:
        with self.lock:
            asset = visitor.assets[int(detail * len(visitor.assets))]
        self.send("publish", "PATCH", f"/v1/assets/{asset}", visitor=visitor, json={"visibility": "public"})

    def _sign_in(self, visitor: Visitor, detail: float) -> None:
        """The whole browser dance, on a connection of its own: login, the issuer, the callback."""
        with self.lock:
            self.sign_ins += 1
            email = f"load-{self.sign_ins}-{int(detail * 1e6)}@example.com"
        cookies: dict[str, str] = {}
        with httpx.Client(base_url=self.base_url, timeout=60, follow_redirects=False) as browser:
            query = urlencode({"redirect_to": "/", "login_hint": email})
            login = self.send("sign-in login", "GET", f"/v1/auth/login?{query}", http=browser)
            if login is None or login.status_code != 302:
                return
            _keep_cookies(login, cookies)
            issuer = self.send("sign-in issuer", "GET", login.headers["location"], http=browser)
            if issuer is None or issuer.status_code != 302:
                return
            back = urlsplit(issuer.headers["location"])
            callback = self.send(
                "sign-in callback",
                "GET",
                f"{back.path}?{back.query}",
                http=browser,
                headers={"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())},
            )
            if callback is not None and callback.status_code == 302:
                _keep_cookies(callback, cookies)
                if "__Host-session" not in cookies:
                    with self.lock:
                        self.problems.append("sign-in: the callback set no session")

    def _bad(self, visitor: Visitor, which: str) -> None:
        kind = f"bad: {which}"
        if which == "anonymous profile":
            self.send(kind, "GET", "/v1/me")
        elif which == "someone's job":
            other = self.visitors[(self.visitors.index(visitor) + 1) % len(self.visitors)]
            with self.lock:
                job_id = other.jobs[0]
            self.send(kind, "GET", f"/v1/jobs/{job_id}", visitor=visitor if other is not visitor else None)
        elif which == "invalid job":
            self.send(kind, "POST", "/v1/jobs", visitor=visitor, json={"kind": "image", "model": "local-image"})
        elif which == "malformed json":
            body = b'{"kind": "image", "model": '
            headers = {"Content-Type": "application/json"}
            self.send(kind, "POST", "/v1/jobs", visitor=visitor, content=body, headers=headers)
        elif which == "cookie without origin":
            self.send(kind, "POST", "/v1/jobs", visitor=visitor, origin=False, json=IMAGE_JOB)
        elif which == "unknown route":
            self.send(kind, "GET", "/v1/nothing-here", visitor=visitor)
        else:
            self.send(kind, "GET", "/v1/me", headers={"Authorization": f"Bearer {visitor.api_key[:-4]}AAAA"})


def _keep_cookies(response: httpx.Response, cookies: dict[str, str]) -> None:
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            cookies[name] = morsel.value


def _simple(kind: str, path: str, *, signed_in: bool = False, by_key: bool = False) -> Callable[..., None]:
    def action(traffic: Traffic, visitor: Visitor, _: Any) -> None:
        traffic.send(kind, "GET", path, visitor=visitor if signed_in or by_key else None, by_key=by_key)

    return action


def _gallery(traffic: Traffic, visitor: Visitor, detail: float) -> None:
    traffic.send("gallery", "GET", "/v1/gallery?kind=image" if detail < 0.3 else "/v1/gallery")


ACTIONS: dict[str, Callable[[Traffic, Visitor, Any], None]] = {
    "health": _simple("health", "/v1/health"),
    "catalog": _simple("catalog", "/v1/billing/catalog"),
    "models": _simple("models", "/v1/models"),
    "terms": _simple("terms", "/v1/policies/terms"),
    "me": lambda traffic, visitor, _: traffic._me(visitor, by_key=False),
    "me by key": lambda traffic, visitor, _: traffic._me(visitor, by_key=True),
    "balance": _simple("balance", "/v1/billing/balance", signed_in=True),
    "jobs": _simple("jobs", "/v1/jobs?limit=20", signed_in=True),
    "jobs by key": _simple("jobs by key", "/v1/jobs?limit=5", by_key=True),
    "job": Traffic._job,
    "assets": _simple("assets", "/v1/assets?limit=20", signed_in=True),
    "submit": lambda traffic, visitor, _: traffic._submit(visitor, by_key=False),
    "submit by key": lambda traffic, visitor, _: traffic._submit(visitor, by_key=True),
    "gallery": _gallery,
    "share view": Traffic._share_view,
    "share create": Traffic._share_create,
    "publish": Traffic._publish,
    "sign-in": Traffic._sign_in,
    "bad": Traffic._bad,
}
