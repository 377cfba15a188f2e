"""Purge of a large account: DynamoDB calls made, against the least a purge could make.

    python -m bench.purge               # 10,000 items
    python -m bench.purge --items 2000

The account holds jobs (each with its provider-job pointer), assets, sent emails, sessions and API
keys (each with its token pointer), workspaces and a ledger. The ideal is one BatchWriteItem per 25
items deleted plus the pages of one Query of the partition and one of the ledger; the goal is at
most 1.2x that, and not one Scan. Calls are counted with botocore's event hooks on every client
(bench.aws_calls); a small account is purged first so the clients are warm, as in a warm container.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.2


def _populate(items: int) -> tuple[str, str, int]:
    """An account whose partition and pointers add up to `items` items. Answers (account id, ledger
    id, items written)."""
    from atelier import tokens
    from atelier.data import keys
    from atelier.data.base import epoch_seconds
    from atelier.data.items import (
        ApiKeyItem,
        AssetItem,
        JobItem,
        PointerItem,
        SentEmailItem,
        SessionItem,
        WorkspaceItem,
    )
    from atelier.data.ledger_items import LedgerEntryItem
    from atelier.ids import IdPrefix, new_id
    from atelier.integrations.storage import output_key
    from atelier.services import get_services
    from tests.integration.test_privacy_helpers import create_account
    from tests.support.money import give_credits

    services = get_services()
    account = create_account()
    give_credits(account, 100)
    pk = keys.account_pk(account.id)
    now = datetime.now(UTC)
    written = 4  # account, wallet, default workspace, identity link
    budget = items - written
    share = {"job": 0.25, "asset": 0.2, "email": 0.15, "session": 0.05, "api_key": 0.01}
    counts = {name: int(budget * fraction) for name, fraction in share.items()}
    used = 2 * counts["job"] + counts["asset"] + counts["email"] + 2 * counts["session"] + 2 * counts["api_key"]
    counts["workspace"] = budget - used

    with JobItem.batch_write() as batch:
        for _ in range(counts["job"]):
            job_id = new_id(IdPrefix.JOB)
            batch.save(
                JobItem(
                    pk,
                    keys.job_sk(job_id),
                    entity="job",
                    job_id=job_id,
                    ledger_id=account.ledger_id,
                    workspace_id=account.default_workspace_id,
                    kind="image",
                    model="local-image",
                    prompt=f"a bench prompt {secrets.token_hex(8)}",
                    params={"width": 512, "height": 512},
                    status="succeeded",
                    provider="local",
                    provider_job_id=f"pj-{job_id}",
                    cost_credits=2,
                    charged_credits=2,
                    created_at=now,
                    deadline_at=now + timedelta(minutes=10),
                )
            )
            batch.save(
                PointerItem(
                    keys.provider_job_pk("local", f"pj-{job_id}"),
                    keys.POINTER_SK,
                    entity="provider_job",
                    account_id=account.id,
                    ref_id=job_id,
                    created_at=now,
                )
            )
        for index in range(counts["asset"]):
            asset_id = new_id(IdPrefix.ASSET)
            batch.save(
                AssetItem(
                    pk,
                    keys.asset_sk(asset_id),
                    entity="asset",
                    asset_id=asset_id,
                    workspace_id=account.default_workspace_id,
                    kind="image",
                    content_type="image/png",
                    size_bytes=1000,
                    sha256="0" * 64,
                    object_key=output_key(account.id, f"job_{index}", 0, "png"),
                    created_at=now,
                )
            )
        for _ in range(counts["email"]):
            email_id = new_id(IdPrefix.EMAIL)
            batch.save(
                SentEmailItem(
                    pk,
                    keys.email_sk(email_id),
                    entity="sent_email",
                    email_id=email_id,
                    kind="billing",
                    subject="Your receipt",
                    sent_at=now,
                    expires_at=epoch_seconds(now + timedelta(days=30)),
                )
            )
        for _ in range(counts["session"]):
            token_hash = tokens.hash_token(tokens.new_token())
            session_id = new_id(IdPrefix.SESSION)
            batch.save(
                SessionItem(
                    pk,
                    keys.session_sk(session_id),
                    entity="session",
                    session_id=session_id,
                    token_hash=token_hash,
                    created_at=now,
                )
            )
            batch.save(
                PointerItem(
                    keys.session_pointer_pk(token_hash),
                    keys.POINTER_SK,
                    entity="session_token",
                    account_id=account.id,
                    ref_id=session_id,
                    created_at=now,
                )
            )
        for _ in range(counts["api_key"]):
            token_hash = tokens.hash_token(tokens.new_token())
            key_id = new_id(IdPrefix.API_KEY)
            batch.save(
                ApiKeyItem(
                    pk,
                    keys.api_key_sk(key_id),
                    entity="api_key",
                    api_key_id=key_id,
                    name="bench",
                    prefix="atk_",
                    token_hash=token_hash,
                    created_at=now,
                )
            )
            batch.save(
                PointerItem(
                    keys.api_key_pointer_pk(token_hash),
                    keys.POINTER_SK,
                    entity="api_key_token",
                    account_id=account.id,
                    ref_id=key_id,
                    created_at=now,
                )
            )
        for _ in range(counts["workspace"]):
            workspace_id = new_id(IdPrefix.WORKSPACE)
            batch.save(
                WorkspaceItem(
                    pk,
                    keys.workspace_sk(workspace_id),
                    entity="workspace",
                    workspace_id=workspace_id,
                    name="bench",
                    created_at=now,
                )
            )
    with LedgerEntryItem.batch_write() as batch:
        for index in range(100):
            batch.save(
                LedgerEntryItem(
                    account.ledger_id,
                    keys.ledger_entry_sk(new_id(IdPrefix.LEDGER_ENTRY)),
                    entity="ledger_entry",
                    at=now,
                    credits=-1,
                    kind="hold",
                    reference=f"job_{index}",
                )
            )
    for index in range(50):
        services.asset_storage.put(output_key(account.id, f"job_{index}", 0, "png"), b"x" * 1000, "image/png")
    total = written + sum(counts.values()) + counts["job"] + counts["session"] + counts["api_key"]
    return account.id, account.ledger_id, total


def _pages(table_model: type, hash_key: str) -> int:
    from atelier.data.privacy import _pages as pages

    return sum(1 for _ in pages(table_model, hash_key))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    options = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

    from bench.aws_calls import counting, install

    install()
    from tests.support.stack import running_stack

    with running_stack(stand_ins=[]):
        from atelier.data import keys
        from atelier.data.base import MainTableModel
        from atelier.data.ledger_items import LedgerEntryItem
        from atelier.services import get_services
        from tests.integration.test_privacy_helpers import AFTER_THE_DEADLINE, create_account, purger, schedule

        services = get_services()
        warm = create_account()
        schedule(warm)
        purger(clock=AFTER_THE_DEADLINE).purge(warm.id)

        started = time.perf_counter()
        account_id, ledger_id, written = _populate(options.items)
        print(f"populated {written} items in {time.perf_counter() - started:.1f} s")
        schedule(services.accounts.require(account_id))
        partition_pages = _pages(MainTableModel, keys.account_pk(account_id))
        ledger_pages = _pages(LedgerEntryItem, ledger_id)

        with counting() as calls:
            started = time.perf_counter()
            finished = purger(clock=AFTER_THE_DEADLINE).run_due()
            seconds = time.perf_counter() - started
        assert finished["purged"] == 1, finished
        assert services.accounts.get(account_id) is None

    dynamodb = {name: count for name, count in calls.items() if name.startswith("dynamodb.")}
    made = sum(dynamodb.values())
    ideal = math.ceil(written / 25) + partition_pages + ledger_pages
    scans = sum(count for name, count in dynamodb.items() if name.endswith(".Scan"))
    ratio = made / ideal
    print(f"Purge of an account with {written} items ({partition_pages} partition pages, {ledger_pages} ledger pages)")
    print(f"  time                 {seconds:.1f} s (against the emulator)")
    print(f"  DynamoDB calls       {made}")
    pages = partition_pages + ledger_pages
    print(f"  ideal                {ideal}  (= {written} / 25 batch writes + {pages} query pages)")
    print(f"  ratio                {ratio:.3f}x (goal <= {GOAL_RATIO}x): {'met' if ratio <= GOAL_RATIO else 'MISSED'}")
    print(f"  Scans                {scans} (goal 0): {'met' if scans == 0 else 'MISSED'}")
    for name, count in sorted(Counter(calls).items()):
        print(f"    {name:<40} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
