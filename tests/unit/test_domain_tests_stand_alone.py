"""`make unit` runs tests/domain without the emulator or the suite's conftest, in seconds: the
domain tests and the fakes they run over import no emulator, no local runtime and no test stack."""

import subprocess
import sys

from tests.support.import_graph import REPOSITORY

# What a domain test must never need: the AWS emulator, the local runtime, the stack helpers.
HEAVY = ("moto", "local", "tests.support.stack", "tests.conftest")


def test_the_domain_tests_import_no_emulator_and_no_runtime():
    modules = sorted(
        ".".join(path.relative_to(REPOSITORY).with_suffix("").parts)
        for path in (REPOSITORY / "tests" / "domain").glob("test_*.py")
    )
    assert "tests.domain.test_money_use_cases" in modules
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules for h in {HEAVY!r} if m == h or m.startswith(h + '.')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPOSITORY,
        env={"PYTHONPATH": f"{REPOSITORY}:{REPOSITORY / 'shared'}", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]", found.stdout
