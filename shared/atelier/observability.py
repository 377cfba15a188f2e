"""The one place that creates the logger, tracer and metrics every function uses."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="atelier")
tracer = Tracer(service="atelier")
metrics = Metrics(namespace="Atelier", service="atelier")
