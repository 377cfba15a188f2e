"""Why the transaction that submits a job was refused: the domain errors of its steps. The use case
reads on from the first two (what the earlier request made; what stops the account); the others
are the answer as they stand."""

from __future__ import annotations

from atelier import errors


class IdempotencyKeyTakenError(errors.ConflictError):
    """An earlier request with the same Idempotency-Key holds it."""

    default_message = "Retry the request."


class AccountMayNotGenerateError(errors.ConflictError):
    """The account may not generate now: not active, suspended, or without the terms in force."""

    default_message = "Retry the request."


class UploadRejectedError(errors.InvalidFieldError):
    code = "upload_rejected"
    default_message = "The uploaded file is not an image we can use."
