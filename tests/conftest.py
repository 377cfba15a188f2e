from collections.abc import Iterator

import pytest

from local.runtime import LocalRuntime
from tests.support.client import ApiClient
from tests.support.stack import running_stack


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
