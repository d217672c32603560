"""Secrets from AWS Secrets Manager through Powertools parameters (cached across invocations)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

CACHE_SECONDS = 300


def secret_value(arn: str) -> str:
    value = parameters.get_secret(arn, max_age=CACHE_SECONDS)
    return value if isinstance(value, str) else value.decode()
