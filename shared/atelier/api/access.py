"""Who may call a route, declared once on the route itself.

Every route is registered with an `Access` (`@app.get(path, access=Access.scoped(Scope.LIBRARY_READ))`).
The same value both enforces the requirement, before the handler runs, and writes the operation's
`security` in the OpenAPI document, so the two cannot drift apart:

- `public`: no credentials are read at all (`security: [{}]`, the empty requirement);
- `signed`: no credentials are read; the handler verifies the sender's signature on the payload
  (inbound webhooks), documented as that sender's signature scheme;
- `optional`: anyone; a signed-in caller is recognised (a key needs the scope, if one is named);
- `signed_in`: a session or any key (only `GET /v1/me`);
- `scoped`: a session, or a key holding the scope (403 `insufficient_scope` naming it);
- `session`: a session only (403 `session_required` for a key): the account, its keys, email,
  consent, sessions, deletion, money-moving settings;
- `admin`: an admin's session; anyone else who is not an admin gets 404, as before (documented as
  the session scheme with the `admin` role, which OpenAPI 3.1 allows on any scheme).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from atelier import errors
from atelier.models.accounts import Principal, Scope

SESSION_SCHEME = "session"
API_KEY_SCHEME = "apiKey"
ADMIN_ROLE = "admin"

Security = list[dict[str, list[str]]]


class SessionRequiredError(errors.ForbiddenError):
    code = "session_required"
    default_message = "This needs a signed-in session; an API key cannot do it."


class InsufficientScopeError(errors.ForbiddenError):
    code = "insufficient_scope"
    default_message = "The API key does not have the scope this needs."

    def __init__(self, scope: Scope) -> None:
        super().__init__(
            f"The API key does not have the “{scope.value}” scope this needs.", details={"required_scope": scope.value}
        )


class AccessKind(StrEnum):
    PUBLIC = "public"
    SIGNED = "signed"
    OPTIONAL = "optional"
    SIGNED_IN = "signed_in"
    SCOPED = "scoped"
    SESSION = "session"
    ADMIN = "admin"


@dataclass(frozen=True)
class Access:
    kind: AccessKind
    scope: Scope | None = None
    # For `signed`: the alternative signature schemes (names in the document's securitySchemes).
    signatures: tuple[str, ...] = ()

    @classmethod
    def public(cls) -> Access:
        return cls(AccessKind.PUBLIC)

    @classmethod
    def signed(cls, *schemes: str) -> Access:
        if not schemes:
            raise ValueError("a signed route names the signature scheme(s) it verifies")
        return cls(AccessKind.SIGNED, signatures=schemes)

    @classmethod
    def optional(cls, scope: Scope | None = None) -> Access:
        return cls(AccessKind.OPTIONAL, scope)

    @classmethod
    def signed_in(cls) -> Access:
        return cls(AccessKind.SIGNED_IN)

    @classmethod
    def scoped(cls, scope: Scope) -> Access:
        return cls(AccessKind.SCOPED, scope)

    @classmethod
    def session(cls) -> Access:
        return cls(AccessKind.SESSION)

    @classmethod
    def admin(cls) -> Access:
        return cls(AccessKind.ADMIN)

    @property
    def reads_credentials(self) -> bool:
        return self.kind not in (AccessKind.PUBLIC, AccessKind.SIGNED)

    def security(self) -> Security:
        """The operation's OpenAPI security requirement: alternatives, any one of which suffices;
        an empty requirement (`{}`) means none is needed (public) or credentials are optional."""
        key_scopes = [self.scope.value] if self.scope else []
        session: Security = [{SESSION_SCHEME: []}]
        by_kind: dict[AccessKind, Security] = {
            AccessKind.PUBLIC: [{}],
            AccessKind.SIGNED: [{scheme: []} for scheme in self.signatures],
            AccessKind.OPTIONAL: [{}, *session, {API_KEY_SCHEME: key_scopes}],
            AccessKind.SIGNED_IN: [*session, {API_KEY_SCHEME: []}],
            AccessKind.SCOPED: [*session, {API_KEY_SCHEME: key_scopes}],
            AccessKind.SESSION: session,
            AccessKind.ADMIN: [{SESSION_SCHEME: [ADMIN_ROLE]}],
        }
        return by_kind[self.kind]

    def enforce(self, principal: Principal, *, require_admin: Callable[[str | None], object]) -> None:
        """Raises the error the caller gets when the route is not theirs to call."""
        if self.kind is AccessKind.ADMIN:
            # Non-admins, a key included, learn nothing: 404 as for any unknown route.
            require_admin(principal.account_id)
            if principal.via != "session":
                raise SessionRequiredError()
            return
        if self.kind in (AccessKind.SIGNED_IN, AccessKind.SCOPED, AccessKind.SESSION) and not principal.is_signed_in:
            raise errors.NotSignedInError()
        if principal.via != "api_key":
            return
        if self.kind is AccessKind.SESSION:
            raise SessionRequiredError()
        if self.scope is not None and self.scope not in principal.scopes:
            raise InsufficientScopeError(self.scope)
