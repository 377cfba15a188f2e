"""Reference uploads over real HTTP: no longer unlimited free storage. Starting one needs the terms,
counts against a quota of unused uploads, and is rate limited."""

from collections.abc import Iterator

import pytest

from local.runtime import LocalRuntime
from tests.support.personas import sign_up
from tests.support.stack import running_stack

RATE_LIMIT = 5
MAX_UNUSED = 3
SMALL = {"filename": "ref.png", "content_type": "image/png", "size_bytes": 1000}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPLOAD_RATE_LIMIT", str(RATE_LIMIT))
        patch.setenv("MAX_UNUSED_UPLOADS", str(MAX_UNUSED))
        with running_stack() as runtime:
            yield runtime


def test_uploads_in_a_row_meet_the_quota_then_the_rate_limit(stack: LocalRuntime) -> None:
    # Given an account that accepted the terms
    client, _account = sign_up(stack.api_url, "many-uploads@example.com")

    # When it starts uploads in a row and never uses them
    answers = [client.post("/v1/uploads", json=SMALL) for _ in range(RATE_LIMIT + 1)]

    # Then the first ones are started, the next are refused by the quota of unused uploads, and once
    # the window's starts are spent it is told to wait
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201] * MAX_UNUSED + [409] * (RATE_LIMIT - MAX_UNUSED) + [429], statuses
    assert answers[MAX_UNUSED].json()["error"]["code"] == "upload_quota_exceeded"
    assert answers[MAX_UNUSED].json()["error"]["details"]["max_unused_uploads"] == MAX_UNUSED
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) > 0
    client.close()
