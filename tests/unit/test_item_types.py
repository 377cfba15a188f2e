"""The registry of item types (atelier.data.item_types) knows every row Atelier stores, each
declared once; the template's table of item types says the same; the export files and pointer
rules it gives are those the export format promises."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from pynamodb.models import Model

import atelier.data
from atelier.data import item_types, keys
from atelier.data.accounts import identity_hash
from atelier.data.base import LedgerTableModel, MainTableModel
from atelier.data.expiry import ExpiringItem
from atelier.data.item_types import BY_ENTITY, ITEM_TYPES, Purge
from atelier.data.suppressions import address_hash
from tests.support.item_type_table import documented_rows

DATA = Path(atelier.data.__file__).parent
# Bases of item types, of which no row is an instance.
_BASES = {"MainTableModel", "LedgerTableModel", "ExpiringItem", "_AnyMainItem", "_LedgerKeys"}


def _item_classes() -> list[type[Model]]:
    for module in pkgutil.iter_modules(atelier.data.__path__):
        importlib.import_module(f"atelier.data.{module.name}")
    found: list[type[Model]] = []
    pending: list[type[Model]] = [MainTableModel, LedgerTableModel, ExpiringItem]
    while pending:
        klass = pending.pop()
        pending.extend(klass.__subclasses__())
        if klass.__name__ not in _BASES and klass not in found:
            found.append(klass)
    return found


def _entities_written_in_the_data_layer() -> set[str]:
    """Every `entity="..."` and `X.entity.set("...")` in shared/atelier/data."""
    found = set()
    for path in DATA.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "entity" and isinstance(node.value, ast.Constant):
                found.add(node.value.value)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "set"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "entity"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_every_item_class_is_in_the_registry():
    registered = {item_type.model for item_type in ITEM_TYPES}
    missing = [klass.__name__ for klass in _item_classes() if klass not in registered]
    assert not missing, f"item classes missing from atelier.data.item_types: {missing}"


def test_every_entity_the_data_layer_writes_is_in_the_registry():
    missing = _entities_written_in_the_data_layer() - set(BY_ENTITY)
    assert not missing, f"entities missing from atelier.data.item_types: {sorted(missing)}"
    assert len(BY_ENTITY) == len(ITEM_TYPES), "an entity is registered twice"


def test_each_stored_row_is_declared_once():
    # One key shape, one item type; and only the generic pointer class stands for several types.
    shapes = [(item_type.table, item_type.pk, item_type.sk) for item_type in ITEM_TYPES]
    assert len(shapes) == len(set(shapes))
    per_class: dict[str, list[str]] = {}
    for item_type in ITEM_TYPES:
        per_class.setdefault(item_type.model.__name__, []).append(item_type.entity)
    shared = {name for name, entities in per_class.items() if len(entities) > 1}
    assert shared == {"PointerItem"}
    account_rows = [t for t in ITEM_TYPES if (t.pk, t.sk) == ("ACCOUNT#<account id>", "ACCOUNT")]
    asset_rows = [t for t in ITEM_TYPES if t.sk == "ASSET#<asset id>"]
    assert [t.model.__name__ for t in account_rows + asset_rows] == ["AccountItem", "AssetItem"]


def test_the_template_table_of_item_types_matches_the_registry():
    documented = documented_rows()
    registered = {(t.table, t.label, t.pk, t.sk) for t in ITEM_TYPES}
    assert documented - registered == set(), "rows in template.yaml that the registry lacks (or spells otherwise)"
    assert registered - documented == set(), "registry entries without their row in template.yaml"


def test_the_table_reader_reads_names_shapes_with_spaces_and_skips_prose():
    text = "\n".join(
        [
            "  #   item type        PK                        SK",
            "  #   ---------------  ------------------------  ------",
            "  #   workspace        ACCOUNT#<account id>      WORKSPACE#<ws id>         -   -",
            "  #                    a continuation line",
            "  # Prose about the table.",
            "  #   moderation audit MODAUDIT#<yyyy-mm>        <at>#<audit id>           -   -",
            "  MainTable:",
        ]
    )
    assert documented_rows(text) == {
        ("main", "workspace", "ACCOUNT#<account id>", "WORKSPACE#<ws id>"),
        ("main", "moderation audit", "MODAUDIT#<yyyy-mm>", "<at>#<audit id>"),
    }


def test_the_export_files_are_those_of_the_export_format():
    assert item_types.export_files() == {
        "account": "account.json",
        "session": "sessions.json",
        "api_key": "api_keys.json",
        "workspace": "workspaces.json",
        "job": "jobs.json",
        "idempotency_key": "idempotency_keys.json",
        "upload": "uploads.json",
        "upload_quota": "uploads.json",
        "asset": "assets.json",
        "wallet": "wallet.json",
        "hold": "holds.json",
        "checkout": "checkouts.json",
        "subscription": "subscriptions.json",
        "sent_email": "emails.json",
        "export": "exports.json",
        "export_lock": "exports.json",
        "webhook_endpoint": "webhook_endpoints.json",
        "webhook_delivery": "webhook_deliveries.json",
        "my_report": "reports.json",
        "ledger_entry": "ledger.json",
        "payment_record": "payments.json",
        "reversal": "payments.json",
        "identity_link": "pointers.json",
        "session_token": "pointers.json",
        "api_key_token": "pointers.json",
        "provider_job": "pointers.json",
        "asset_pointer": "pointers.json",
    }


def test_the_partition_rows_list_their_pointers():
    listed = item_types.pointers_listed_by
    account = {"identity_issuer": "https://issuer", "identity_subject": "sub-1", "email": "Ada@Example.com"}
    assert listed("account", account) == [
        (keys.identity_pointer_pk(identity_hash("https://issuer", "sub-1")), "POINTER"),
        (keys.suppression_pk(address_hash("ada@example.com")), "POINTER"),
    ]
    assert listed("session", {"token_hash": "t1"}) == [(keys.session_pointer_pk("t1"), "POINTER")]
    assert listed("api_key", {"token_hash": "t2"}) == [(keys.api_key_pointer_pk("t2"), "POINTER")]
    assert listed("job", {"provider": "runpod", "provider_job_id": "j"}) == [
        (keys.provider_job_pk("runpod", "j"), "POINTER")
    ]
    assert listed("share", {"token_hash": "t3"}) == [(keys.share_token_pk("t3"), "POINTER")]
    assert listed("asset", {"asset_id": "a"}) == [(keys.asset_pointer_pk("a"), "POINTER")]
    assert listed("workflow", {"workflow_id": "w"}) == [(keys.workflow_pointer_pk("w"), "POINTER")]
    # A row without what its rule keys on, or of a type that lists nothing, lists no pointer.
    assert listed("job", {"provider": "runpod"}) == []
    assert listed("wallet", {"balance": 1}) == []
    assert listed("never-heard-of", {}) == []


def test_every_type_the_partition_holds_is_purged_with_it():
    for item_type in ITEM_TYPES:
        in_partition = item_type.pk == "ACCOUNT#<account id>"
        assert in_partition == (item_type.purge in (Purge.PARTITION, Purge.ACCOUNT_ROW)), item_type.entity


def test_the_architecture_page_s_table_of_item_types_is_the_registry_s():
    from scripts.item_types_doc import PAGE, rendered

    page = PAGE.read_text(encoding="utf-8")
    assert rendered(page) == page, "docs/architecture.md is stale: run python -m scripts.item_types_doc"
