from collections.abc import Iterator
from typing import Any

import pytest

from local.runtime import LocalRuntime
from tests.support.client import ApiClient
from tests.support.log_guard import LogGuard
from tests.support.stack import running_stack

# pytester: the log guard's own test runs a small session of its own.
pytest_plugins = ("pytester",)

_LOG_GUARD = "atelier-log-guard"
_LINES_SCANNED = "log_guard_lines_scanned"
_FINDINGS_OUTSIDE_TESTS = "log_guard_findings_outside_tests"


def pytest_configure(config: pytest.Config) -> None:
    # Every test runs under the guard: a secret in any log line fails the test that logged it (P3).
    guard = LogGuard()
    guard.start()
    config.pluginmanager.register(guard, _LOG_GUARD)


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.pluginmanager.get_plugin(_LOG_GUARD)
    if isinstance(guard, LogGuard):
        guard.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    guard = session.config.pluginmanager.get_plugin(_LOG_GUARD)
    workeroutput = getattr(session.config, "workeroutput", None)
    if isinstance(guard, LogGuard) and workeroutput is not None:
        # An xdist worker: its figure travels to the controller, which prints the total.
        workeroutput[_LINES_SCANNED] = guard.lines_scanned
        workeroutput[_FINDINGS_OUTSIDE_TESTS] = guard.findings_outside_tests


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """(xdist, on the controller) Adds up what each worker's guard scanned."""
    guard = node.config.pluginmanager.get_plugin(_LOG_GUARD)
    output = getattr(node, "workeroutput", {})
    if isinstance(guard, LogGuard):
        guard.lines_scanned += int(output.get(_LINES_SCANNED, 0))
        guard.findings_outside_tests += int(output.get(_FINDINGS_OUTSIDE_TESTS, 0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    guard = config.pluginmanager.get_plugin(_LOG_GUARD)
    if isinstance(guard, LogGuard):
        terminalreporter.write_line(
            f"log guard: {guard.lines_scanned} log lines scanned for secrets; "
            f"{guard.findings_outside_tests} found outside any test"
        )


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    """The whole platform from template.yaml, one per test module (each start resets the emulator)."""
    with running_stack() as runtime:
        yield runtime


@pytest.fixture
def anonymous(stack: LocalRuntime) -> Iterator[ApiClient]:
    client = ApiClient(stack.api_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def provider_retries_never_wait() -> Iterator[list[float]]:
    """Every test starts with closed provider circuits, and provider retries record their waits
    instead of sleeping (answered, for the tests that look at them)."""
    from atelier.integrations.resilience import forget_breakers, sleeping_with

    forget_breakers()
    waits: list[float] = []
    with sleeping_with(waits.append):
        yield waits
    forget_breakers()
