"""Lists and revokes API keys. A revoked key stops working on the next request."""

from __future__ import annotations

from atelier import errors
from atelier.data.api_keys import ApiKeyRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.models.accounts import ApiKey


def list_api_keys(account_id: str, *, api_keys: ApiKeyRepository) -> list[ApiKey]:
    return sorted(api_keys.list(account_id), key=lambda key: key.created_at, reverse=True)


def revoke_api_key(account_id: str, api_key_id: str, *, api_keys: ApiKeyRepository) -> None:
    if not has_prefix(api_key_id, IdPrefix.API_KEY):
        raise errors.NotFoundError()
    api_keys.revoke(account_id, api_key_id)
