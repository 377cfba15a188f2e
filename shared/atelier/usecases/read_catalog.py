"""The catalog of credit packs and subscription plans, from settings."""

from __future__ import annotations

from atelier import errors
from atelier.models.billing import CatalogItem
from atelier.settings import Settings


def catalog_items(settings: Settings) -> list[CatalogItem]:
    packs = [CatalogItem(kind="pack", **item) for item in settings.billing.catalog.get("packs", [])]
    plans = [CatalogItem(kind="plan", **item) for item in settings.billing.catalog.get("plans", [])]
    return packs + plans


def catalog_item(item_id: str, settings: Settings) -> CatalogItem:
    for item in catalog_items(settings):
        if item.id == item_id:
            return item
    raise errors.InvalidFieldError("No such catalog item.", details=[{"field": "item_id", "location": "body"}])
