"""Share links: a pointer keyed by the token's hash, listed in the owner's partition (with the hash)
so a purge finds it. Revoking deletes both; expiry is checked on every read (TTL is a backstop)."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError

from atelier import errors
from atelier.data import keys
from atelier.data.base import epoch_seconds, transaction, translate_errors
from atelier.data.items import ShareItem, ShareTokenItem
from atelier.models.gallery import Share, TargetType

# Days a pointer outlives its link before TTL may remove it.
_TTL_GRACE_SECONDS = 2 * 24 * 3600


def _to_share(item: ShareItem | ShareTokenItem, account_id: str, share_id: str) -> Share:
    return Share(
        id=share_id,
        account_id=account_id,
        target_type=TargetType(item.target_type),
        target_id=item.target_id,
        created_at=item.created_at,
        expires_at=item.link_expires_at,
    )


class ShareRepository:
    def create(self, share: Share, token_hash: str) -> None:
        ttl = epoch_seconds(share.expires_at) + _TTL_GRACE_SECONDS if share.expires_at else None
        listing = ShareItem(
            keys.account_pk(share.account_id),
            keys.share_sk(share.id),
            entity="share",
            share_id=share.id,
            token_hash=token_hash,
            target_type=share.target_type.value,
            target_id=share.target_id,
            created_at=share.created_at,
            link_expires_at=share.expires_at,
            expires_at=ttl,
        )
        pointer = ShareTokenItem(
            keys.share_token_pk(token_hash),
            keys.POINTER_SK,
            entity="share_token",
            account_id=share.account_id,
            share_id=share.id,
            target_type=share.target_type.value,
            target_id=share.target_id,
            created_at=share.created_at,
            link_expires_at=share.expires_at,
            expires_at=ttl,
        )
        with translate_errors(), transaction() as tx:
            tx.save(listing, condition=ShareItem.pk.does_not_exist())
            tx.save(pointer, condition=ShareTokenItem.pk.does_not_exist())

    def list(self, account_id: str) -> list[Share]:
        with translate_errors():
            return [
                _to_share(item, account_id, item.share_id)
                for item in ShareItem.query(
                    keys.account_pk(account_id), ShareItem.sk.startswith(keys.SHARE_PREFIX), scan_index_forward=False
                )
            ]

    def resolve(self, token_hash: str) -> Share | None:
        with translate_errors():
            try:
                item = ShareTokenItem.get(keys.share_token_pk(token_hash), keys.POINTER_SK, consistent_read=True)
            except ShareTokenItem.DoesNotExist:
                return None
        return _to_share(item, item.account_id, item.share_id)

    def revoke(self, account_id: str, share_id: str) -> None:
        with translate_errors():
            try:
                listing = ShareItem.get(keys.account_pk(account_id), keys.share_sk(share_id), consistent_read=True)
            except ShareItem.DoesNotExist as exc:
                raise errors.NotFoundError() from exc
            try:
                with transaction() as tx:
                    tx.delete(listing, condition=ShareItem.pk.exists())
                    tx.delete(ShareTokenItem(keys.share_token_pk(listing.token_hash), keys.POINTER_SK))
            except TransactWriteError as exc:
                raise errors.NotFoundError() from exc
