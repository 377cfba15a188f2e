"""Atelier's Python client: ``Atelier`` and ``AsyncAtelier``, typed models, typed errors, and
``atelier.webhooks.verify`` for the signed webhooks Atelier sends.

    from atelier import Atelier

    with Atelier() as client:                      # ATELIER_API_KEY, ATELIER_BASE_URL
        job = client.jobs.create(model="local-image", prompt="a lighthouse at dusk")
        job = client.jobs.wait(job.id)
        client.assets.download(job.outputs[0], "lighthouse.png")
"""

from . import errors, models, webhooks
from ._transport import API_KEY_VARIABLE, BASE_URL_VARIABLE, DEFAULT_BASE_URL, LOCAL_BASE_URL
from ._version import __version__
from .client import AsyncAtelier, Atelier
from .errors import (
    APIConnectionError,
    APIStatusError,
    AtelierError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InsufficientCreditsError,
    InsufficientScopeError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
    WaitTimeoutError,
)
from .models import Asset, Export, Job, Model, WebhookDelivery, WebhookEndpoint
from .webhooks import WebhookVerificationError

__all__ = [
    "API_KEY_VARIABLE",
    "BASE_URL_VARIABLE",
    "DEFAULT_BASE_URL",
    "LOCAL_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "Asset",
    "AsyncAtelier",
    "Atelier",
    "AtelierError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "Export",
    "InsufficientCreditsError",
    "InsufficientScopeError",
    "InternalServerError",
    "Job",
    "Model",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "__version__",
    "errors",
    "models",
    "webhooks",
]
