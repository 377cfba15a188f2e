"""A session-wide guard for P3 ("no secrets, no tokens, no emails, no prompts in logs"): every log
record the platform emits during a test is formatted as it would reach CloudWatch and scanned, and
the test during which a secret was logged fails, naming what kind of secret (never the secret).

Records are attributed to the test running when they are emitted: a queue worker finishing work a
test started may log during the next test, which then carries the finding.
"""

from __future__ import annotations

import logging
import re
import string
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local import oidc, payments

# Tests that send prompts put this marker in them, so a prompt that reaches a log line is caught.
PROMPT_MARKER = "prompt-canary-7f3a"

SERVICE_LOGGER = "atelier"

# Documented local-only secrets: each would be a real secret in a deployed stack.
_LOCAL_SECRETS = (
    payments.STRIPE_SECRET_KEY,
    payments.STRIPE_WEBHOOK_SECRET,
    payments.PAYPAL_CLIENT_SECRET,
    payments.CREEM_API_KEY,
    payments.CREEM_WEBHOOK_SECRET,
    oidc.CLIENT_SECRET,
)


@dataclass(frozen=True)
class SecretKind:
    """A kind of secret: the pattern that finds it, and substrings one of which any match holds, so
    the pattern only runs on the few lines that could match (the guard scans every log line)."""

    name: str
    hints: tuple[str, ...]
    pattern: re.Pattern[str]

    def found_in(self, line: str) -> list[str]:
        if not any(hint in line for hint in self.hints):
            return []
        return self.pattern.findall(line)


SECRET_KINDS = (
    SecretKind("API key", ("atk_",), re.compile(r"\batk_[A-Za-z0-9_-]{16,}")),
    SecretKind("session token", ("ats_",), re.compile(r"\bats_[A-Za-z0-9_-]{16,}")),
    SecretKind(
        "bearer credential", ("Bearer", "bearer", "BEARER"), re.compile(r"\b(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
    ),
    SecretKind(
        "payment provider secret",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
        re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]{6,}|\bwhsec_[A-Za-z0-9_+/=-]{6,}"),
    ),
    SecretKind("configured secret", _LOCAL_SECRETS, re.compile("|".join(map(re.escape, _LOCAL_SECRETS)))),
    SecretKind("JWT (an OIDC id_token)", ("eyJ",), re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.")),
    # Accounts are named by id in logs; an address in a line is personal data (P3).
    SecretKind(
        "email address", ("@",), re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    ),
    SecretKind("prompt", (PROMPT_MARKER,), re.compile(re.escape(PROMPT_MARKER))),
)
RANDOM_TOKEN = "random token (share link, sign-in state, code)"

# What a 256-bit `secrets.token_urlsafe(32)` looks like on its own (share tokens, sign-in state,
# nonce, PKCE verifier, browser binding, authorization codes): a run of exactly 43 URL-safe
# characters. Runs are found by turning every other byte into a space: no regex per line.
_TOKEN_BYTES = frozenset((string.ascii_letters + string.digits + "_-").encode())
_TO_SPACES = bytes(byte if byte in _TOKEN_BYTES else ord(" ") for byte in range(256))


def _random_tokens(line: str) -> list[str]:
    runs = line.encode("utf-8", "replace").translate(_TO_SPACES).split()
    return [token for run in runs if len(run) == 43 and _looks_random(token := run.decode())]


def _looks_random(token: str) -> bool:
    # Identifiers and words of that length exist (a long snake_case name); random tokens mix cases
    # and digits (a 43-character token without a digit has a chance below one in a thousand).
    return any(c.isdigit() for c in token) and any(c.isupper() for c in token) and any(c.islower() for c in token)


def secrets_in(line: str) -> list[str]:
    """The kinds of secret found in a log line (empty for a clean line)."""
    found = [kind.name for kind in SECRET_KINDS if kind.found_in(line)]
    if _random_tokens(line):
        found.append(RANDOM_TOKEN)
    return found


@dataclass
class Finding:
    logger: str
    kinds: list[str]
    excerpt: str


def _redacted(line: str) -> str:
    """The line with every secret cut down to its first four characters, to say where it was."""
    for kind in SECRET_KINDS:
        if kind.found_in(line):
            line = kind.pattern.sub(lambda match: match.group(0)[:4] + "…", line)
    for token in _random_tokens(line):
        line = line.replace(token, token[:4] + "…")
    return line[:300]


def _is_service(record: logging.LogRecord) -> bool:
    return record.name == SERVICE_LOGGER or record.name.startswith(f"{SERVICE_LOGGER}.")


class _ScanningHandler(logging.Handler):
    """On the root logger, so it sees every record, the service logger's included (it propagates),
    without joining the service logger's own handlers: Powertools takes the first of those as its
    own, and a new Logger instance for the service (a fresh layer import) would take this one."""

    def __init__(self, guard: LogGuard) -> None:
        super().__init__(level=logging.NOTSET)
        self.guard = guard
        self.plain = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def addFilter(self, filter: Any) -> None:
        # Powertools asks every root handler to drop the service's records, so they are not printed
        # twice; this handler prints nothing and must see them.
        if type(filter).__name__ != "SuppressFilter":
            super().addFilter(filter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._format(record)
        except Exception:  # a record that cannot be formatted never reaches CloudWatch either
            return
        self.guard.scanned(record, line)

    def _format(self, record: logging.LogRecord) -> str:
        if _is_service(record):
            handler = getattr(logging.getLogger(SERVICE_LOGGER), "powertools_handler", None)
            if handler is not None and handler.formatter is not None:
                return handler.formatter.format(record)
        return self.plain.format(record)


@dataclass
class LogGuard:
    """The pytest plugin: scans for the whole session, and fails the phase of a test (setup, call or
    teardown) during which a secret was logged."""

    lines_scanned: int = 0
    findings_outside_tests: int = 0
    _current: str | None = None
    _findings: dict[str, list[Finding]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _handler: logging.Handler | None = None

    def start(self) -> None:
        self._handler = _ScanningHandler(self)
        logging.getLogger().addHandler(self._handler)

    def stop(self) -> None:
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None

    def scanned(self, record: logging.LogRecord, line: str) -> None:
        kinds = secrets_in(line)
        with self._lock:
            self.lines_scanned += 1
            if not kinds:
                return
            if self._current is None:
                self.findings_outside_tests += 1
                return
            self._findings.setdefault(self._current, []).append(Finding(record.name, kinds, _redacted(line)))

    def _enter(self, nodeid: str) -> None:
        with self._lock:
            self._current = nodeid

    # -- pytest hooks ----------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any]:
        self._enter(item.nodeid)
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any]:
        self._enter(item.nodeid)
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any]:
        self._enter(item.nodeid)
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        with self._lock:
            findings = self._findings.pop(item.nodeid, [])
            if call.when == "teardown":
                self._current = None
        if not findings or report.skipped:
            return
        lines = [
            f"{len(findings)} log line(s) emitted during this test's {call.when} hold a secret "
            "(P3: never a token, a key, an email or a prompt in a log):"
        ]
        lines += [f"  {f.logger}: {', '.join(f.kinds)}\n      {f.excerpt}" for f in findings[:10]]
        report.outcome = "failed"
        report.longrepr = "\n".join(lines)
