"""The fault injector fires where, what and as often as it is armed, and leaves nothing hooked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from atelier import errors
from atelier.integrations.inference.base import GenerationRequest, ProviderError
from atelier.integrations.inference.local import LocalProvider
from atelier.integrations.payments.paypal import PayPalProvider
from tests.support.faults import FaultInjector, FaultTally

TABLE = "atelier-test-main"


def dynamodb() -> Any:
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def get_item(client: Any, key: str = "a") -> Any:
    return client.get_item(TableName=TABLE, Key={"PK": {"S": key}, "SK": {"S": "x"}})


def test_an_armed_aws_call_raises_the_modelled_error_as_often_as_armed():
    client = dynamodb()
    with Stubber(client) as stub, FaultInjector(only_from=None) as faults:
        stub.add_response("get_item", {"Item": {"PK": {"S": "a"}}})
        faults.arm("dynamodb", "GetItem", error="ProvisionedThroughputExceededException", times=1)
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException) as raised:
            get_item(client)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        # The fault is spent: the next call reaches the service
        assert get_item(client)["Item"] == {"PK": {"S": "a"}}
    assert faults.fired == {"dynamodb.GetItem": 1}
    assert faults.calls == {"dynamodb.GetItem": 2}


def test_when_chooses_the_calls_and_other_operations_pass():
    client = dynamodb()
    with Stubber(client) as stub, FaultInjector(only_from=None) as faults:
        stub.add_response("get_item", {"Item": {"PK": {"S": "a"}}})
        faults.arm(
            "dynamodb", "GetItem", error="ThrottlingException", when=lambda params: params["Key"]["PK"]["S"] == "b"
        )
        faults.arm("dynamodb", "PutItem", error="ThrottlingException")
        assert get_item(client, "a")["Item"] == {"PK": {"S": "a"}}
        with pytest.raises(ClientError, match="ThrottlingException"):
            get_item(client, "b")
    assert faults.fired == {"dynamodb.GetItem": 1}


def test_after_lets_the_call_happen_then_loses_its_answer():
    client = dynamodb()
    with Stubber(client) as stub, FaultInjector(only_from=None) as faults:
        stub.add_response("get_item", {})
        faults.arm("dynamodb", "GetItem", error="timeout", after=True)
        with pytest.raises(ReadTimeoutError):
            get_item(client)
        stub.assert_no_pending_responses()


def test_a_cancelled_transaction_names_its_reason_on_the_first_item():
    client = dynamodb()
    with FaultInjector(only_from=None) as faults:
        faults.arm("dynamodb", "TransactWriteItems", error="TransactionCanceledException", reason="TransactionConflict")
        item = {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "a"}, "SK": {"S": "x"}}}}
        with pytest.raises(client.exceptions.TransactionCanceledException) as raised:
            client.transact_write_items(TransactItems=[item, item, item])
    reasons = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert reasons == ["TransactionConflict", "None", "None"]


def test_only_calls_made_by_the_platform_fire_by_default():
    client = dynamodb()
    with Stubber(client) as stub, FaultInjector() as faults:
        stub.add_response("get_item", {})
        faults.arm("dynamodb", "GetItem", error="ThrottlingException")
        # This module is not the platform's code: the call goes through
        get_item(client)
    assert faults.total == 0
    assert faults.calls == {}


def test_an_adapter_method_raises_what_the_adapter_raises_and_is_restored_on_exit():
    original = LocalProvider.__dict__["submit"]
    request = GenerationRequest(job_id="job_1", kind="image", model="local-image", prompt="a kite")
    with FaultInjector(only_from=None) as faults:
        faults.arm("inference", "submit", error="timeout", times=2)
        for _ in range(2):
            with pytest.raises(ProviderError) as raised:
                LocalProvider().submit(request)
            assert raised.value.details == {"reason": "timeout"}
        assert LocalProvider().submit(request).status.is_final
    assert LocalProvider.__dict__["submit"] is original
    assert faults.fired == {"inference.submit": 2}


def test_a_payment_providers_api_call_fails_as_a_dependency_outage():
    provider = PayPalProvider(client_id="id", client_secret="secret", webhook_id="wh", api_base="http://127.0.0.1:9")
    with FaultInjector(only_from=None) as faults:
        faults.arm("paypal", "api", when=lambda params: params["path"].endswith("/capture"))
        with pytest.raises(errors.DependencyUnavailableError):
            provider._send("POST", "/v2/checkout/orders/O-1/capture", authorised=False)
    assert faults.fired == {"paypal.api": 1}


def test_concurrent_calls_fire_a_fault_exactly_as_often_as_armed():
    with FaultInjector(only_from=None) as faults:
        faults.arm("inference", "cancel", times=5)

        def cancel(_: int) -> str:
            try:
                LocalProvider().cancel("loc_missing")
            except ProviderError:
                return "fault"
            return "called"

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(cancel, range(40)))
    assert outcomes.count("fault") == 5
    assert faults.fired == {"inference.cancel": 5}


def test_one_injector_at_a_time_and_the_tally_adds_them_up():
    tally = FaultTally()
    with FaultInjector(only_from=None) as first:
        with pytest.raises(RuntimeError), FaultInjector():
            pass
        first.arm("inference", "cancel", times=1)
        with pytest.raises(ProviderError):
            LocalProvider().cancel("loc_missing")
    tally.add(first)
    tally.add(first)
    assert tally.total == 2
    assert list(tally.lines())[1] == "  inference.cancel: 2 (unavailable 2)"
