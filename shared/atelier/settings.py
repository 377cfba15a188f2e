"""Settings: one pydantic model over the environment, read once through a cached getter.

Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from atelier import __version__


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaSeparated = Annotated[list[str], BeforeValidator(_comma_separated)]


class Settings(BaseModel):
    """Every setting, named as its environment variable in lower case."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str = __version__
    stage: str = "dev"
    log_level: str = "INFO"
    aws_region: str = "us-east-1"

    # Where the API is reachable from the outside, e.g. https://api.example.com (no trailing slash).
    api_base_url: str = ""
    # Origins allowed to make cookie-authenticated unsafe requests; the API's own origin is always allowed.
    web_origins: CommaSeparated = Field(default_factory=list)
    # Set by the local runtime only: enables the `/_local/` stand-ins' integrations.
    local_runtime: bool = False

    main_table_name: str = "atelier-dev-main"
    ledger_table_name: str = "atelier-dev-ledger"
    idempotency_table_name: str = "atelier-dev-idempotency"
    assets_bucket_name: str = "atelier-dev-assets"
    exports_bucket_name: str = "atelier-dev-exports"
    generation_queue_url: str = ""
    export_queue_url: str = ""

    # Salt for one-way hashes of client addresses used as rate-limit keys (never logged raw).
    address_hash_salt: str = "atelier-address-salt"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {name.lower(): value for name, value in environ.items()}
        # Lambda sets AWS_REGION; boto3 users often set AWS_DEFAULT_REGION only.
        if "aws_region" not in values and "aws_default_region" in values:
            values["aws_region"] = values["aws_default_region"]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)
