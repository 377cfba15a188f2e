"""API keys: a token pointer looked up by the key's hash, and the owner's listing with metadata."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pynamodb.exceptions import TransactWriteError

from atelier import errors
from atelier.data import keys
from atelier.data.base import transaction, translate_errors
from atelier.data.items import ApiKeyItem, PointerItem
from atelier.models.accounts import DEFAULT_SCOPES, ApiKey, Scope


def _scopes(stored: set[str] | None) -> frozenset[Scope]:
    """A key stored before keys had scopes has none recorded: it gets the default scopes."""
    if not stored:
        return DEFAULT_SCOPES
    return frozenset(Scope(scope) for scope in stored if scope in Scope)


def _to_api_key(account_id: str, item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        id=item.api_key_id,
        account_id=account_id,
        name=item.name,
        prefix=item.prefix,
        created_at=item.created_at,
        scopes=_scopes(item.scopes),
        last_used_at=item.last_used_at,
    )


class FoundApiKey(NamedTuple):
    account_id: str
    api_key_id: str
    ledger_id: str | None
    default_workspace_id: str | None
    scopes: frozenset[Scope]
    # On the pointer (`last_seen_at`), so authentication knows without a second read when to record a use.
    last_used_at: datetime | None = None


class ApiKeyRepository:
    def create(self, api_key: ApiKey, token_hash: str) -> None:
        pointer = PointerItem(
            keys.api_key_pointer_pk(token_hash),
            keys.POINTER_SK,
            entity="api_key_token",
            account_id=api_key.account_id,
            ref_id=api_key.id,
            ledger_id=api_key.ledger_id,
            default_workspace_id=api_key.default_workspace_id,
            created_at=api_key.created_at,
            scopes={scope.value for scope in api_key.scopes},
        )
        listing = ApiKeyItem(
            keys.account_pk(api_key.account_id),
            keys.api_key_sk(api_key.id),
            entity="api_key",
            api_key_id=api_key.id,
            name=api_key.name,
            prefix=api_key.prefix,
            token_hash=token_hash,
            created_at=api_key.created_at,
            scopes={scope.value for scope in api_key.scopes},
        )
        with translate_errors(), transaction() as tx:
            tx.save(pointer, condition=PointerItem.pk.does_not_exist())
            tx.save(listing, condition=ApiKeyItem.pk.does_not_exist())

    def find_by_token_hash(self, token_hash: str) -> FoundApiKey | None:
        """The account and scopes of a live key."""
        with translate_errors():
            try:
                pointer = PointerItem.get(keys.api_key_pointer_pk(token_hash), keys.POINTER_SK, consistent_read=True)
            except PointerItem.DoesNotExist:
                return None
        if pointer.entity != "api_key_token" or pointer.ref_id is None:
            return None
        return FoundApiKey(
            pointer.account_id,
            pointer.ref_id,
            pointer.ledger_id,
            pointer.default_workspace_id,
            _scopes(pointer.scopes),
            pointer.last_seen_at,
        )

    def record_use(self, found: FoundApiKey, token_hash: str, at: datetime) -> None:
        """Notes when the key was used, on its pointer and its listing; nothing if it was revoked
        meanwhile (the rows are never recreated)."""
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.update(
                        PointerItem(keys.api_key_pointer_pk(token_hash), keys.POINTER_SK),
                        actions=[PointerItem.last_seen_at.set(at)],
                        condition=PointerItem.pk.exists(),
                    )
                    tx.update(
                        ApiKeyItem(keys.account_pk(found.account_id), keys.api_key_sk(found.api_key_id)),
                        actions=[ApiKeyItem.last_used_at.set(at)],
                        condition=ApiKeyItem.pk.exists(),
                    )
            except TransactWriteError:
                return

    def list(self, account_id: str) -> list[ApiKey]:
        with translate_errors():
            items = ApiKeyItem.query(keys.account_pk(account_id), ApiKeyItem.sk.startswith(keys.API_KEY_PREFIX))
            return [_to_api_key(account_id, item) for item in items]

    def count(self, account_id: str) -> int:
        with translate_errors():
            return ApiKeyItem.count(keys.account_pk(account_id), ApiKeyItem.sk.startswith(keys.API_KEY_PREFIX))

    def revoke(self, account_id: str, api_key_id: str) -> None:
        with translate_errors():
            try:
                listing = ApiKeyItem.get(keys.account_pk(account_id), keys.api_key_sk(api_key_id), consistent_read=True)
            except ApiKeyItem.DoesNotExist as exc:
                raise errors.NotFoundError() from exc
            with transaction() as tx:
                tx.delete(PointerItem(keys.api_key_pointer_pk(listing.token_hash), keys.POINTER_SK))
                tx.delete(listing)
