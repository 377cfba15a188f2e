"""Sign-ins in progress: written at login, consumed exactly once at the callback."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError

from atelier.data import keys
from atelier.data.base import epoch_seconds, is_conditional_failure, translate_errors
from atelier.data.items import SignInStateItem
from atelier.models.accounts import SignInState


class SignInStateRepository:
    def save(self, state: SignInState) -> None:
        item = SignInStateItem(
            keys.sign_in_state_pk(state.state_hash),
            keys.POINTER_SK,
            entity="sign_in_state",
            browser_binding_hash=state.browser_binding_hash,
            nonce=state.nonce,
            code_verifier=state.code_verifier,
            provider=state.provider,
            redirect_to=state.redirect_to,
            state_expires_at=state.expires_at,
            expires_at=epoch_seconds(state.expires_at),
        )
        with translate_errors():
            item.save(condition=SignInStateItem.pk.does_not_exist())

    def consume(self, state_hash: str) -> SignInState | None:
        """Deletes and returns the state in one call, so a callback URL works once only."""
        with translate_errors():
            try:
                old = SignInStateItem._get_connection().delete_item(
                    keys.sign_in_state_pk(state_hash),
                    keys.POINTER_SK,
                    condition=SignInStateItem.pk.exists(),
                    return_values="ALL_OLD",
                )
            except DeleteError as exc:
                if is_conditional_failure(exc):
                    return None
                raise
        attributes = (old or {}).get("Attributes")
        if not attributes:
            return None
        stored = SignInStateItem.from_raw_data(attributes)
        return SignInState(
            state_hash=state_hash,
            browser_binding_hash=stored.browser_binding_hash,
            nonce=stored.nonce,
            code_verifier=stored.code_verifier,
            provider=stored.provider,
            redirect_to=stored.redirect_to,
            expires_at=stored.state_expires_at,
        )
