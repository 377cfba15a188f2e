"""The first request after a SnapStart restore, against the emulator: it imports nothing (everything
it needs was imported and built before the snapshot) and is answered as a warm one would be.

Each function is probed in a fresh interpreter (bench/snapstart.py's probe, the same one the
benchmark times): import the handler, run the before-snapshot and after-restore hooks, then send one
of the function's own requests.
"""

import pytest

from bench.snapstart import REQUESTS, run_probe, snapstart_functions


@pytest.mark.parametrize("function", sorted(snapstart_functions()))
def test_the_first_request_after_a_restore_imports_nothing(stack, function):
    # Given a function warmed before its snapshot and restored from it
    # When its first request after the restore arrives
    result = run_probe(function, warm=1)

    # Then the request imported no module, and was answered without a server error or failed record
    assert result["imported"] == []
    assert result["status"] is None or result["status"] < 500, result
    assert not result["batch_failures"], result


def test_every_snapstart_function_has_a_probe_request():
    # Given the functions the template runs with SnapStart
    # When the probe's requests are looked up
    # Then each function has one
    assert set(snapstart_functions()) <= set(REQUESTS)
