"""The local runtime runs invocations side by side in one process, where Powertools keeps one metric
set for all of them: one invocation's flush must not empty another's midway (it failed that
request with "Must contain at least one metric")."""

from __future__ import annotations

import threading
import warnings

import pytest
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from local.functions import serialise_metrics


def test_an_invocation_flushing_its_metrics_is_not_emptied_midway_by_another(monkeypatch, capsys):
    serialise_metrics()
    metrics = Metrics(namespace="Probe", service="probe")
    metrics.clear_metrics()
    first_serialising = threading.Event()
    second_flushed = threading.Event()
    serialise = AmazonCloudWatchEMFProvider.serialize_metric_set

    def serialise_slowly(self, *args, **kwargs):
        if threading.current_thread().name == "first":
            # Leave room for the second invocation's flush: it must wait for this one to finish.
            first_serialising.set()
            second_flushed.wait(timeout=0.5)
        return serialise(self, *args, **kwargs)

    monkeypatch.setattr(AmazonCloudWatchEMFProvider, "serialize_metric_set", serialise_slowly)
    failures: list[BaseException] = []

    def first() -> None:
        try:
            metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
            metrics.flush_metrics()
        except Exception as exc:  # the failure is what the test looks for
            failures.append(exc)

    def second() -> None:
        assert first_serialising.wait(timeout=10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it finds the set flushed already, as in Lambda
            metrics.flush_metrics()
        second_flushed.set()

    threads = [threading.Thread(target=first, name="first"), threading.Thread(target=second, name="second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    # And the metric was printed once, by the invocation that recorded it
    assert capsys.readouterr().out.count('"Requests":[1.0]') == 1
    metrics.clear_metrics()


@pytest.fixture(autouse=True)
def _no_leftover_metrics():
    yield
    Metrics(namespace="Probe", service="probe").clear_metrics()
