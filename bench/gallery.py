"""Gallery page: AWS calls per request, against the goal of one Query plus at most one BatchGetItem
(and never a Scan).

    python -m bench.gallery

Publishes assets of several owners through the real code against the embedded emulator (the local
runtime's, from template.yaml), then counts the calls one gallery page makes (bench.aws_calls).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GOAL = {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}


def scenario(owners: int = 5, per_owner: int = 6, limit: int = 24) -> dict[str, int]:
    from atelier.data.items import AssetItem
    from atelier.ids import IdPrefix, new_id
    from atelier.models.generation import Visibility
    from atelier.services import get_services
    from atelier.usecases.browse_gallery import BrowseGalleryDeps, browse_gallery
    from bench.aws_calls import counting, install
    from tests.support.money import new_account

    install()
    services = get_services()
    now = datetime.now(UTC)
    for _ in range(owners):
        account = new_account()
        for _ in range(per_owner):
            asset_id = new_id(IdPrefix.ASSET)
            AssetItem(
                f"ACCOUNT#{account.id}",
                f"ASSET#{asset_id}",
                entity="asset",
                asset_id=asset_id,
                workspace_id=account.default_workspace_id,
                kind="image",
                content_type="image/png",
                size_bytes=1,
                sha256="0" * 64,
                object_key=f"accounts/{account.id}/outputs/x/{asset_id}.png",
                created_at=now,
                screened_at=now,
            ).save()
            services.assets.update(
                account.id,
                asset_id,
                labels=None,
                rating=None,
                clear_rating=False,
                visibility=Visibility.PUBLIC,
                published_at=datetime.now(UTC),
            )

    def page(kind: str | None) -> int:
        return len(
            browse_gallery(
                BrowseGalleryDeps.from_services(services),
                kind=kind,
                cursor=None,
                limit=limit,
                media_base_url="http://127.0.0.1:3000",
            ).items
        )

    page(None)  # warm clients, as in a warm container
    figures: dict[str, int] = {}
    for kind in (None, "image"):
        with counting() as calls:
            shown = page(kind)
        label = kind or "all"
        print(f"gallery page ({label}, {shown} items): {dict(calls)}  goal: {GOAL}, no Scan")
        figures[f"{label}.Query"] = calls.get("dynamodb.Query", 0)
        figures[f"{label}.BatchGetItem"] = calls.get("dynamodb.BatchGetItem", 0)
        figures[f"{label}.Scan"] = calls.get("dynamodb.Scan", 0)
        figures[f"{label}.total"] = sum(count for name, count in calls.items() if name.startswith("dynamodb."))
    return figures


def main() -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
    from tests.support.stack import running_stack

    with running_stack():
        figures = scenario()
    ok = all(
        figures[f"{k}.Query"] <= 1 and figures[f"{k}.BatchGetItem"] <= 1 and figures[f"{k}.Scan"] == 0
        for k in ("all", "image")
    )
    print("goal met" if ok else "goal missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
