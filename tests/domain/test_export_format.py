"""The export archive's format, written from rows held in memory (tests/support/fakes.py): which
file each row goes to, the pointers it lists, what is withheld, and the manifest."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from atelier.data import keys
from atelier.data.accounts import identity_hash
from atelier.data.privacy import StoredRow
from atelier.models.accounts import Account
from atelier.models.privacy import Export, ExportStatus
from atelier.settings import Settings
from atelier.usecases.build_export import FORMAT_VERSION, write_archive
from tests.support.fakes import FakeObjectStore, FakePrivacy, FixedClock

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ACCOUNT = Account(
    id="acct_ada",
    email="ada@example.com",
    name="Ada",
    identity_issuer="https://issuer",
    identity_subject="sub-ada",
    created_at=NOW,
    default_workspace_id="ws_1",
    ledger_id="led_1",
)
PK = keys.account_pk(ACCOUNT.id)


def row(entity: str, sk: str, pk: str = PK, **attributes: object) -> StoredRow:
    return StoredRow(entity=entity, pk=pk, sk=sk, attributes={"entity": entity, **attributes})


def archive_of(privacy: FakePrivacy, objects: FakeObjectStore | None = None) -> zipfile.ZipFile:
    exports = FakeObjectStore()
    export = Export(id="exp_1", account_id=ACCOUNT.id, status=ExportStatus.RUNNING, requested_at=NOW)
    write_archive(
        ACCOUNT,
        export,
        "exports/acct_ada/exp_1.zip",
        privacy=privacy,  # type: ignore[arg-type]
        asset_objects=objects or FakeObjectStore(),  # type: ignore[arg-type]
        export_objects=exports,  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        settings=Settings.from_environ({}),
    )
    return zipfile.ZipFile(io.BytesIO(exports.objects["exports/acct_ada/exp_1.zip"]))


def records(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return json.loads(archive.read(name))


def test_each_row_goes_to_its_type_s_file_and_unknown_types_to_other_json():
    privacy = FakePrivacy(
        partition=[
            row("account", "ACCOUNT", email=ACCOUNT.email, consent={"marketing": False}, terms_version="v1"),
            row("wallet", "WALLET", balance=40),
            row("job", "JOB#job_1", prompt="a lighthouse", cost_credits=4),
            row("future_thing", "FUTURE#1", title="Future workflow"),
        ],
        ledger=[row("ledger_entry", "ENTRY#1", pk="led_1", credits=40)],
    )
    archive = archive_of(privacy)
    assert [r["balance"] for r in records(archive, "wallet.json")] == [40]
    assert records(archive, "jobs.json") == [
        {"type": "job", "key": "JOB#job_1", "prompt": "a lighthouse", "cost_credits": 4}
    ]
    assert [r["title"] for r in records(archive, "other.json")] == ["Future workflow"]
    assert [r["credits"] for r in records(archive, "ledger.json")] == [40]
    assert records(archive, "consents.json")[0]["terms_version"] == "v1"


def test_pointers_the_partition_lists_are_exported_and_token_hashes_are_not():
    identity_key = (keys.identity_pointer_pk(identity_hash("https://issuer", "sub-ada")), keys.POINTER_SK)
    session_key = (keys.session_pointer_pk("hash-1"), keys.POINTER_SK)
    privacy = FakePrivacy(
        partition=[
            row("account", "ACCOUNT", identity_issuer="https://issuer", identity_subject="sub-ada"),
            row("session", "SESSION#s1", token_hash="hash-1", session_id="s1"),
        ],
        elsewhere={
            identity_key: row("identity_link", "POINTER", pk=identity_key[0], account_id=ACCOUNT.id),
            session_key: row("session_token", "POINTER", pk=session_key[0], account_id=ACCOUNT.id),
        },
    )
    archive = archive_of(privacy)
    assert records(archive, "sessions.json") == [{"type": "session", "key": "SESSION#s1", "session_id": "s1"}]
    pointers = {r["type"]: r for r in records(archive, "pointers.json")}
    assert pointers["identity_link"]["key"] == identity_key[0]
    # A token pointer's key is the token's hash: withheld, as the hash itself is.
    assert "key" not in pointers["session_token"]


def test_a_pointer_now_owned_by_someone_else_is_not_exported():
    identity_key = (keys.identity_pointer_pk(identity_hash("https://issuer", "sub-ada")), keys.POINTER_SK)
    privacy = FakePrivacy(
        partition=[row("account", "ACCOUNT", identity_issuer="https://issuer", identity_subject="sub-ada")],
        elsewhere={identity_key: row("identity_link", "POINTER", pk=identity_key[0], account_id="acct_other")},
    )
    assert "pointers.json" not in archive_of(privacy).namelist()


def test_the_manifest_counts_rows_and_objects_and_lists_every_file_with_its_digest():
    objects = FakeObjectStore({"accounts/acct_ada/assets/a1.png": b"png", "accounts/other/x.png": b"no"})
    privacy = FakePrivacy(partition=[row("account", "ACCOUNT"), row("asset", "ASSET#a1", asset_id="a1")])
    archive = archive_of(privacy, objects)
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["format"], manifest["format_version"]) == ("atelier-export", FORMAT_VERSION)
    assert manifest["generated_at"].startswith("2026-12-06T12:00:00")
    assert manifest["counts"] == {"account": 1, "asset": 1, "stored_object": 1}
    listed = {entry["path"] for entry in manifest["files"]}
    assert {"README.txt", "account.json", "assets.json", "consents.json"} <= listed
    assert [name for name in archive.namelist() if name.startswith("assets/")] == ["assets/assets/a1.png"]
