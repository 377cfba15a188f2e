"""Export of a large account: peak memory and time of building its archive, against plainly copying
the same bytes from the assets bucket to the exports bucket in the same run.

    python -m bench.export              # 2,000 assets, 1 GiB
    python -m bench.export --quick      # 200 assets, 100 MiB
    python -m bench.export --assets 500 --megabytes 250

The emulator runs in this process, with the account's rows and objects; the export and the plain
copy each run in a child process of their own, so each one's peak RSS is its own (not the
emulator's, which holds every object in memory). Goals: peak RSS under 256 MB whatever the size;
time at most 1.5x the plain copy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_RSS_MB = 256
GOAL_RATIO = 1.5
MIB = 1024 * 1024


# -- the children ----------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: on Linux that keeps the
    peak of the parent's memory the child was forked from, across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _warm(services: Any) -> None:
    """Makes every client the run uses, as a warm container would have them."""
    services.exports.get("acct_nobody", "exp_nobody")
    services.accounts.get("acct_nobody")
    services.privacy.count_partition("acct_nobody")
    list(services.privacy.ledger_rows("ldg_nobody"))
    list(services.asset_objects.list("nothing/"))
    list(services.export_objects.list("nothing/"))
    assert services.mailer.client is not None  # type: ignore[attr-defined]


def _timed_privacy(reading: list[float]) -> Any:
    """The privacy repository, adding the time spent reading rows (from the emulator's DynamoDB,
    far slower per item than DynamoDB itself) to `reading`."""
    from atelier.data.privacy import PrivacyRepository

    def timed(rows: Any) -> Any:
        while True:
            started = time.perf_counter()
            try:
                row = next(rows)
            except StopIteration:
                reading[0] += time.perf_counter() - started
                return
            reading[0] += time.perf_counter() - started
            yield row

    class TimedPrivacy(PrivacyRepository):
        def partition_rows(self, account_id: str) -> Any:
            return timed(super().partition_rows(account_id))

        def ledger_rows(self, ledger_id: str) -> Any:
            return timed(super().ledger_rows(ledger_id))

        def rows_at(self, item_keys: Any) -> Any:
            started = time.perf_counter()
            try:
                return super().rows_at(item_keys)
            finally:
                reading[0] += time.perf_counter() - started

    return TimedPrivacy()


def _child_export(account_id: str, export_id: str) -> dict[str, Any]:
    from atelier.services import get_services
    from atelier.usecases.build_export import BuildExportDeps, ExportMessage, build_export

    services = get_services()
    _warm(services)
    reading = [0.0]
    baseline_rss = _peak_rss_mb()
    started = time.perf_counter()
    status = build_export(
        BuildExportDeps(
            exports=services.exports,
            privacy=_timed_privacy(reading),
            accounts=services.accounts,
            asset_objects=services.asset_objects,
            export_objects=services.export_objects,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        ),
        ExportMessage(account_id=account_id, export_id=export_id),
        receive_count=1,
    )
    seconds = time.perf_counter() - started
    export = services.exports.get(account_id, export_id)
    assert export is not None
    return {
        "status": None if status is None else status.value,
        "seconds": seconds,
        "reading_rows_seconds": reading[0],
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": baseline_rss,
        "bytes": export.size_bytes,
    }


def _child_copy(account_id: str) -> dict[str, Any]:
    """Plainly copies the same bytes, S3 to S3, through this process: every object under the
    account's prefix read in chunks and written, as they come, into one multipart upload."""
    from atelier.integrations.storage import account_prefix
    from atelier.services import get_services

    services = get_services()
    _warm(services)
    baseline_rss = _peak_rss_mb()
    started = time.perf_counter()
    writer = services.export_objects.writer(
        "bench/plain-copy.bin", "application/octet-stream", part_bytes=services.settings.privacy.export_part_bytes
    )
    copied = 0
    for stored in services.asset_objects.list(account_prefix(account_id)):
        for chunk in services.asset_objects.stream(stored.key):
            writer.write(chunk)
            copied += len(chunk)
    writer.close()
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": baseline_rss,
        "bytes": copied,
    }


# -- the run ---------------------------------------------------------------------------------------
def _populate(assets: int, total_bytes: int) -> tuple[str, str]:
    """An account with `assets` stored outputs (rows and objects) adding up to `total_bytes`, and a
    queued export of it."""
    from atelier.data.items import AssetItem
    from atelier.data.jobs import asset_item
    from atelier.ids import IdPrefix, new_id
    from atelier.integrations.storage import output_key
    from atelier.models.generation import Asset
    from atelier.services import get_services
    from atelier.usecases.request_export import RequestExportDeps, request_export
    from tests.integration.test_privacy_helpers import create_account
    from tests.support.generation import KeptMessages

    services = get_services()
    account = create_account()
    size = max(1, total_bytes // assets)
    block = os.urandom(size)
    now = datetime.now(UTC)
    with AssetItem.batch_write() as batch:
        for index in range(assets):
            job_id = new_id(IdPrefix.JOB)
            key = output_key(account.id, job_id, 0, "png")
            # Every object differs (its first bytes), so nothing could be deduplicated by accident.
            services.asset_storage.put(key, index.to_bytes(8, "big") + block[8:], "image/png")
            batch.save(
                asset_item(
                    Asset(
                        id=new_id(IdPrefix.ASSET),
                        account_id=account.id,
                        workspace_id=account.default_workspace_id,
                        job_id=job_id,
                        kind="image",
                        content_type="image/png",
                        size_bytes=size,
                        sha256="0" * 64,
                        object_key=key,
                        labels=["bench"],
                        created_at=now,
                    )
                )
            )
    export = request_export(
        RequestExportDeps(
            exports=services.exports,
            rate_limiter=services.rate_limiter,
            queue=KeptMessages(),
            clock=services.clock,
            settings=services.settings,
        ),
        account.id,
    )
    return account.id, export.id


def _run_child(environment: dict[str, str], *arguments: str) -> dict[str, Any]:
    answer = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", *arguments],
        env={**os.environ, **environment, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}", "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if answer.returncode != 0:
        raise RuntimeError(answer.stderr[-4000:])
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="200 assets, 100 MiB")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        kind, *rest = options.child
        result = _child_export(rest[0], rest[1]) if kind == "export" else _child_copy(rest[0])
        print(json.dumps(result))
        return 0
    if options.quick:
        options.assets, options.megabytes = 200, 100

    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
    from tests.support.stack import running_stack

    with running_stack(stand_ins=[]) as runtime:
        started = time.perf_counter()
        account_id, export_id = _populate(options.assets, options.megabytes * MIB)
        print(f"populated {options.assets} assets, {options.megabytes} MiB in {time.perf_counter() - started:.1f} s")
        environment = runtime.environment()
        copy = _run_child(environment, "copy", account_id)
        export = _run_child(environment, "export", account_id, export_id)

    ratio = export["seconds"] / copy["seconds"]
    print(f"Export of {options.assets} assets, {options.megabytes} MiB (archive {export['bytes'] / MIB:.1f} MiB)")
    print(f"{'':<22} {'seconds':>8} {'MiB/s':>7} {'peak RSS MB':>12}")
    for name, row in (("plain copy S3 -> S3", copy), ("export (zip, hashes)", export)):
        rate = row["bytes"] / MIB / row["seconds"]
        print(f"{name:<22} {row['seconds']:>8.2f} {rate:>7.1f} {row['peak_rss_mb']:>12.1f}")
    objects_only = (export["seconds"] - export["reading_rows_seconds"]) / copy["seconds"]
    print(
        f"of the export's time, {export['reading_rows_seconds']:.2f} s went to reading the account's rows from the "
        f"emulator's DynamoDB; without it the export takes {objects_only:.2f}x the plain copy"
    )
    rss_verdict = "met" if export["peak_rss_mb"] < GOAL_RSS_MB else "MISSED"
    ratio_verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"peak RSS of the export: {export['peak_rss_mb']:.1f} MB (goal < {GOAL_RSS_MB} MB): {rss_verdict}")
    print(f"time against the plain copy: {ratio:.2f}x (goal <= {GOAL_RATIO}x): {ratio_verdict}")
    assert export["status"] == "ready", export
    return 0


if __name__ == "__main__":
    sys.exit(main())
