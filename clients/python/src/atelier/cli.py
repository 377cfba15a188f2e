"""``atelier``: the command line.

    atelier generate "a lighthouse" --model local-image -o out.png
    atelier jobs [--status succeeded] [--limit 20] [--json]
    atelier cancel JOB_ID
    atelier models
    atelier assets [--kind image]
    atelier download ASSET_ID -o file.png
    atelier export --wait [-o atelier-export.zip]      (a key made with the ``account:export`` scope)

Configuration: ``ATELIER_API_KEY`` and ``ATELIER_BASE_URL`` (``--base-url`` overrides it). Progress goes
to stderr (a bar on a terminal, a line per change elsewhere); results to stdout. Exit status: 0 done,
1 the job or export did not succeed, 2 usage or configuration, 3 an error from the API.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ._version import __version__
from .client import Atelier
from .errors import AtelierError, ConfigurationError, InsufficientScopeError
from .models import Export, Job

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API_ERROR = 3
BAR_WIDTH = 30


class Progress:
    """A progress bar on a terminal; elsewhere (a log, CI) one line each time the state changes."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = label
        self.interactive = stream.isatty()
        self.last = ""

    def show(self, status: str, fraction: float | None, note: str = "") -> None:
        if self.interactive:
            done = int(BAR_WIDTH * (fraction or 0.0))
            percent = f"{fraction * 100:3.0f}%" if fraction is not None else "    "
            bar = "#" * done + "-" * (BAR_WIDTH - done)
            self.stream.write(f"\r{self.label} [{bar}] {percent} {status:<9} {note}".rstrip() + " ")
            self.stream.flush()
            return
        line = f"{self.label}: {status}" + (f" {fraction * 100:.0f}%" if fraction is not None else "")
        line += f" {note}" if note else ""
        if line != self.last:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = line

    def end(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _job_progress(progress: Progress) -> Any:
    def show(job: Job) -> None:
        fraction = 1.0 if job.status == "succeeded" else job.progress
        note = f"(position {job.queue_position} in the queue)" if job.status == "queued" and job.queue_position else ""
        progress.show(job.status, fraction, note)

    return show


def _export_progress(progress: Progress) -> Any:
    def show(export: Export) -> None:
        progress.show(export.status, 1.0 if export.status == "ready" else None)

    return show


def _extension(content_type: str) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "video/mp4": ".mp4"}.get(
        content_type, mimetypes.guess_extension(content_type) or ""
    )


def _output_paths(output: str | None, count: int, asset_ids: Sequence[str]) -> list[Path]:
    """``-o out.png`` names the first output; further ones are ``out-2.png``, ``out-3.png``..."""
    if output is None:
        return [Path(asset_id) for asset_id in asset_ids]
    first = Path(output)
    return [first] + [first.with_name(f"{first.stem}-{index}{first.suffix}") for index in range(2, count + 1)]


def _params(pairs: Sequence[str]) -> dict[str, int | float | str | bool]:
    parsed: dict[str, int | float | str | bool] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise ConfigurationError(f"--param takes NAME=VALUE, not {pair!r}", code="usage")
        value: int | float | str | bool = text
        if text in ("true", "false"):
            value = text == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(text)
                    break
                except ValueError:
                    continue
        parsed[name] = value
    return parsed


def generate(client: Atelier, arguments: argparse.Namespace) -> int:
    kind = arguments.kind
    if kind is None:
        offered = {model.id: model for model in client.models.list()}
        if arguments.model not in offered:
            print(f"error: no model {arguments.model!r}; on offer: {', '.join(sorted(offered))}", file=sys.stderr)
            return EXIT_USAGE
        kind = offered[arguments.model].kind
    job = client.jobs.create(
        model=arguments.model,
        prompt=arguments.prompt,
        kind=kind,
        negative_prompt=arguments.negative_prompt,
        params=_params(arguments.param),
        webhook_url=arguments.webhook_url,
        cancel_after=arguments.cancel_after,
    )
    print(f"job {job.id} {job.status} ({job.cost_credits} credits)", file=sys.stderr)
    if arguments.no_wait:
        print(job.id)
        return 0
    progress = Progress(sys.stderr, job.id)
    try:
        job = client.jobs.wait(job.id, timeout=arguments.timeout, on_progress=_job_progress(progress))
    finally:
        progress.end()
    if job.status != "succeeded":
        reason = f": {job.error.message} ({job.error.code})" if job.error else ""
        print(f"job {job.id} {job.status}{reason}", file=sys.stderr)
        return EXIT_FAILED
    for asset_id, path in zip(job.outputs, _output_paths(arguments.output, len(job.outputs), job.outputs), strict=True):
        asset = client.assets.get(asset_id)
        target = path if path.suffix or arguments.output else path.with_suffix(_extension(asset.content_type))
        written = client.assets.download(asset, target)
        print(f"{target} ({written} bytes)", file=sys.stderr)
        print(target)
    return 0


def jobs(client: Atelier, arguments: argparse.Namespace) -> int:
    page = client.jobs.list(status=arguments.status, limit=arguments.limit)
    if arguments.json:
        print(json.dumps([job.model_dump(mode="json") for job in page.items], indent=2))
        return 0
    for job in page.items:
        created = job.created_at.strftime("%Y-%m-%d %H:%M")
        prompt = job.prompt if len(job.prompt) <= 40 else job.prompt[:39] + "…"
        print(f"{job.id}  {job.status:<9}  {job.kind:<5}  {job.model:<20}  {created}  {prompt}")
    return 0


def cancel(client: Atelier, arguments: argparse.Namespace) -> int:
    job = client.jobs.cancel(arguments.job_id)
    print(f"{job.id} {job.status}")
    return 0


def models(client: Atelier, arguments: argparse.Namespace) -> int:
    for model in client.models.list():
        print(f"{model.id:<24}  {model.kind:<5}  {model.provider:<10}  {model.name}")
    return 0


def assets(client: Atelier, arguments: argparse.Namespace) -> int:
    page = client.assets.list(kind=arguments.kind, limit=arguments.limit)
    for asset in page.items:
        size = f"{asset.width}x{asset.height}" if asset.width and asset.height else ""
        print(f"{asset.id}  {asset.kind:<6}  {asset.content_type:<10}  {asset.size_bytes:>9}  {size}")
    return 0


def download(client: Atelier, arguments: argparse.Namespace) -> int:
    asset = client.assets.get(arguments.asset_id)
    target = Path(arguments.output or asset.id + _extension(asset.content_type))
    written = client.assets.download(asset, target)
    print(f"{target} ({written} bytes)", file=sys.stderr)
    print(target)
    return 0


def export(client: Atelier, arguments: argparse.Namespace) -> int:
    requested = client.exports.create()
    print(f"export {requested.id} {requested.status}", file=sys.stderr)
    if not arguments.wait:
        print(requested.id)
        return 0
    progress = Progress(sys.stderr, requested.id)
    try:
        finished = client.exports.wait(requested.id, timeout=arguments.timeout, on_progress=_export_progress(progress))
    finally:
        progress.end()
    if finished.status != "ready":
        reason = f": {finished.error}" if finished.error else ""
        print(f"export {finished.id} {finished.status}{reason}", file=sys.stderr)
        return EXIT_FAILED
    target = Path(arguments.output or f"atelier-export-{finished.id}.zip")
    written = client.exports.download(finished, target)
    print(f"{target} ({written} bytes)", file=sys.stderr)
    print(target)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="atelier", description="Generate images and videos with Atelier.", epilog="ATELIER_API_KEY is required."
    )
    root.add_argument("--version", action="version", version=f"atelier-client {__version__}")
    root.add_argument("--base-url", help="the API's base URL (default: ATELIER_BASE_URL, else production)")
    commands = root.add_subparsers(dest="command", required=True)

    made = commands.add_parser("generate", help="submit a job, wait for it with a progress bar, download its outputs")
    made.add_argument("prompt")
    made.add_argument("--model", required=True, help="a model id (`atelier models` lists them)")
    made.add_argument("--kind", choices=["image", "video"], help="default: the model's own")
    made.add_argument("-o", "--output", help="file for the first output (more: name-2.ext...); default: the asset id")
    made.add_argument("--negative-prompt")
    made.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a model parameter")
    made.add_argument("--webhook-url", help="a receiver for the job's signed completion event")
    made.add_argument("--cancel-after", help="cancel it if not done this long after submission: 300s, 5m, 1h")
    made.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    made.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
    made.set_defaults(run=generate)

    listed = commands.add_parser("jobs", help="list jobs, newest first")
    listed.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "canceled"])
    listed.add_argument("--limit", type=int, default=20)
    listed.add_argument("--json", action="store_true", help="the jobs as JSON")
    listed.set_defaults(run=jobs)

    canceled = commands.add_parser("cancel", help="cancel a job and release its credits")
    canceled.add_argument("job_id")
    canceled.set_defaults(run=cancel)

    commands.add_parser("models", help="the models on offer").set_defaults(run=models)

    library = commands.add_parser("assets", help="list the library's assets, newest first")
    library.add_argument("--kind", choices=["image", "video", "upload"])
    library.add_argument("--limit", type=int, default=20)
    library.set_defaults(run=assets)

    fetched = commands.add_parser("download", help="download an asset")
    fetched.add_argument("asset_id")
    fetched.add_argument("-o", "--output")
    fetched.set_defaults(run=download)

    archived = commands.add_parser("export", help="request an archive of all your data (needs account:export)")
    archived.add_argument("--wait", action="store_true", help="wait until it is ready and download the zip")
    archived.add_argument("-o", "--output", help="where to save the zip (default: atelier-export-<id>.zip)")
    archived.add_argument("--timeout", type=float, default=600.0)
    archived.set_defaults(run=export)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        with Atelier(base_url=arguments.base_url) as client:
            status: int = arguments.run(client, arguments)
            return status
    except ConfigurationError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except AtelierError as error:
        request = f" [request {error.request_id}]" if error.request_id else ""
        print(f"error: {error}{request}", file=sys.stderr)
        if isinstance(error, InsufficientScopeError) and error.required_scope:
            print(f"Make a key with the “{error.required_scope}” scope (Settings > API keys).", file=sys.stderr)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
