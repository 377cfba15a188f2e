"""The embedded emulator runs one request at a time, so DynamoDB conditional writes cannot race.

The workload: an item holds balance=10 and 20 threads each try one conditional decrement
(``balance >= 1``) at the same moment. DynamoDB guarantees exactly 10 succeed and the balance ends
at 0. moto's plain threaded server gives no such guarantee: two threads can both read 1 and both
write 0 (more than 10 successes) or interleave into a negative balance.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.emulator import SerialMotoServer

logger = logging.getLogger(__name__)

THREADS = 20
STARTING_BALANCE = 10
SERIALISED_ROUNDS = 50
MAX_PLAIN_ROUNDS = 200
MIN_PLAIN_ROUNDS = 50


@dataclass(frozen=True)
class RoundResult:
    successes: int
    balance: int

    @property
    def raced(self) -> bool:
        return self.successes != STARTING_BALANCE or self.balance != 0


class BalanceWorkload:
    """20 simultaneous conditional decrements of one item, round after round."""

    def __init__(self, endpoint_url: str) -> None:
        # No retries: a retried write could apply twice and pass for a race (or hide one).
        config = Config(max_pool_connections=THREADS + 5, retries={"total_max_attempts": 1})
        self.client: Any = boto3.client(
            "dynamodb",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )
        self.table = f"balances-{uuid.uuid4().hex[:8]}"
        self.client.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self._pool = ThreadPoolExecutor(max_workers=THREADS)

    def close(self) -> None:
        self._pool.shutdown()
        self.client.delete_table(TableName=self.table)

    def run_round(self) -> RoundResult:
        self.client.put_item(
            TableName=self.table, Item={"pk": {"S": "wallet"}, "balance": {"N": str(STARTING_BALANCE)}}
        )
        start_together = threading.Barrier(THREADS)

        def decrement() -> bool:
            start_together.wait()
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": "wallet"}},
                    UpdateExpression="SET balance = balance - :one",
                    ConditionExpression="balance >= :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                return False
            return True

        successes = sum(self._pool.map(lambda _: decrement(), range(THREADS)))
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": "wallet"}}, ConsistentRead=True)["Item"]
        return RoundResult(successes, int(item["balance"]["N"]))


@pytest.fixture
def serialised_workload() -> Iterator[BalanceWorkload]:
    with SerialMotoServer(serialise=True) as emulator:
        workload = BalanceWorkload(emulator.endpoint_url)
        yield workload
        workload.close()


class _CheckThenPause:
    """A parsed condition that pauses after it is evaluated: moto checks a condition, then writes,
    with no lock between the two; the pause widens that gap so that concurrent requests meet in it
    on a busy machine as on an idle one (a race left to the scheduler shows or not by luck)."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser

    def parse(self) -> Any:
        condition = self._parser.parse()
        evaluate = condition.expr

        def expr_then_pause(item: Any) -> Any:
            outcome = evaluate(item)
            threading.Event().wait(0.01)
            return outcome

        condition.expr = expr_then_pause
        return condition


@pytest.fixture
def plain_workload(monkeypatch: pytest.MonkeyPatch) -> Iterator[BalanceWorkload]:
    from moto.dynamodb import models as dynamodb_models

    make_parser = dynamodb_models.create_condition_expression_parser
    monkeypatch.setattr(
        dynamodb_models,
        "create_condition_expression_parser",
        lambda *args, **kwargs: _CheckThenPause(make_parser(*args, **kwargs)),
    )
    with SerialMotoServer(serialise=False) as emulator:
        workload = BalanceWorkload(emulator.endpoint_url)
        yield workload
        workload.close()


def test_serialised_emulator_lets_exactly_the_balance_through(serialised_workload: BalanceWorkload) -> None:
    # Given a balance of 10 and the serialised emulator
    # When 20 threads decrement it at once, for 50 rounds
    results = [serialised_workload.run_round() for _ in range(SERIALISED_ROUNDS)]

    # Then every round lets exactly 10 through and ends at 0
    assert [(result.successes, result.balance) for result in results] == [(10, 0)] * SERIALISED_ROUNDS


def test_plain_threaded_emulator_races(plain_workload: BalanceWorkload, record_property: Any) -> None:
    # Given the same workload against moto's plain threaded server
    # When rounds run (at least 50, then until a race shows, at most 200)
    results: list[RoundResult] = []
    while len(results) < MAX_PLAIN_ROUNDS:
        results.append(plain_workload.run_round())
        if len(results) >= MIN_PLAIN_ROUNDS and any(result.raced for result in results):
            break

    # Then at least one round let more than 10 through or went below 0: the race the lock prevents
    raced = [result for result in results if result.raced]
    record_property("plain_rounds", len(results))
    record_property("plain_rounds_raced", len(raced))
    logger.warning(
        "plain moto server: %d of %d rounds raced (worst: %d successes, balance %d)",
        len(raced),
        len(results),
        max((result.successes for result in raced), default=STARTING_BALANCE),
        min((result.balance for result in raced), default=0),
    )
    assert raced, f"no race in {len(results)} rounds"
