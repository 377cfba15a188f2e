"""Secrets from SSM Parameter Store (SecureString), cached for a few minutes per container."""

from __future__ import annotations


def get_secret(parameter_name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(parameter_name, decrypt=True, max_age=300)
    return str(value)
