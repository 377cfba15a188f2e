"""``python -m local`` (``make dev``): the whole stack on this machine, no Docker, no AWS account.

Environment knobs:
    PORT                 the API's port (default 3000; 0 picks a free one)
    HOST                 the address to listen on (default 127.0.0.1)
    EMULATOR_PORT        the AWS emulator's port (default: a free one)
    PARAMETER_OVERRIDES  the template's parameters, as `sam deploy --parameter-overrides` takes them:
                         'AdminEmails=me@example.com MinimumAge=18'. Providers in OidcProviders sit
                         beside the local OpenID Connect issuers.
    LOCAL_INFERENCE_QUEUE_SECONDS, LOCAL_INFERENCE_RUN_SECONDS
                         how long the inference providers' stand-ins take over a job (1 s and 2 s)

The inference providers' stand-ins (OpenAI, ModelArk, RunPod, Replicate) are mounted too, so the
models on those providers run here, and the providers that call back do so to this runtime.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from types import FrameType

from local.inference import inference_stand_ins
from local.runtime import DEFAULT_TEMPLATE, SCHEDULES_PREFIX, LocalRuntime, default_stand_ins
from local.template import TemplateError, load_document, parse_parameter_overrides

PARAMETER_OVERRIDES = "PARAMETER_OVERRIDES"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s  %(message)s")
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        parameters = parameter_overrides(os.environ.get(PARAMETER_OVERRIDES, ""))
        runtime = LocalRuntime(
            port=int(os.environ.get("PORT", "3000")),
            host=os.environ.get("HOST", "127.0.0.1"),
            emulator_port=int(os.environ.get("EMULATOR_PORT", "0")),
            parameters=parameters,
            stand_ins=[*default_stand_ins(parameters), *inference_stand_ins()],
        )
    except ValueError as exc:
        print(f"cannot start the local runtime: {exc}", file=sys.stderr)
        return 2
    try:
        runtime.start()
    except OSError as exc:
        print(f"cannot start the local runtime: {exc} (is PORT {runtime.port} in use?)", file=sys.stderr)
        return 1
    except TemplateError as exc:
        print(f"cannot start the local runtime: {exc}", file=sys.stderr)
        return 2
    try:
        print(banner(runtime), flush=True)
        while not stop_requested.wait(0.5):
            pass
        print("\nstopping...", flush=True)
    finally:
        runtime.stop()
    print("stopped", flush=True)
    return 0


def parameter_overrides(text: str) -> dict[str, str]:
    """PARAMETER_OVERRIDES read as `sam deploy` reads them; a name the template lacks is refused
    here, with the template's parameters listed, before anything starts."""
    overrides = parse_parameter_overrides(text)
    known = list(load_document(DEFAULT_TEMPLATE).get("Parameters") or {})
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise TemplateError(
            f"{PARAMETER_OVERRIDES} names {', '.join(unknown)}, which template.yaml does not have; "
            f"its parameters are: {', '.join(known)}"
        )
    return overrides


def banner(runtime: LocalRuntime) -> str:
    api = runtime.api_url
    lines = ["", "Atelier local runtime", ""]
    if runtime.web_built:
        lines.append(f"  Studio       {api}/")
    else:
        lines.append("  Studio       not built (make dev builds web/dist)")
    lines.append(f"  API          {api}")
    docs = [path for method, path, _ in runtime.routes if method == "GET" and path.endswith("/docs")]
    lines.extend(f"  Docs         {api}{path}" for path in docs)
    lines.append(f"  Emulator     {runtime.emulator_url}   (AWS_ENDPOINT_URL; any access key)")
    given = " ".join(_shown(name, value) for name, value in runtime.parameters.items())
    lines.append(
        "  Parameters   "
        + (given or "the template's defaults")
        + f"   (set with {PARAMETER_OVERRIDES}='AdminEmails=me@example.com MinimumAge=18', as sam deploy takes them)"
    )
    lines.append(f"  Tables       {', '.join(runtime.provisioned.tables) or '-'}")
    lines.append(f"  Queues       {', '.join(runtime.provisioned.queues) or '-'}")
    lines.append(f"  Buckets      {', '.join(runtime.provisioned.buckets) or '-'}")
    lines.append(f"  Senders      {', '.join(runtime.provisioned.email_identities) or '-'}")
    lines.append("  Routes")
    routes = sorted(runtime.routes, key=lambda route: (route[1], route[0]))
    lines.extend(_rows([f"{method:<7} {path:<40} {function}" for method, path, function in routes]))
    lines.append("  Queue consumers")
    lines.extend(_rows([f"{poller.queue_name:<48} {poller.source.function}" for poller in runtime.pollers]))
    lines.append(f"  Schedules    {api}{SCHEDULES_PREFIX}  (POST .../<name>/run runs one now)")
    schedules = runtime.scheduler.describe() if runtime.scheduler is not None else []
    lines.extend(_rows([f"{item['name']:<32} {item['expression']:<28} {item['function']}" for item in schedules]))
    lines.append("  Stand-ins")
    lines.extend(_rows([f"{api + stand_in.prefix:<48} {stand_in.description}" for stand_in in runtime.stand_ins]))
    for function, error in runtime.load_errors.items():
        lines.append(f"  ! {function} failed to load (see the log above): {error.splitlines()[0]}")
    lines.extend(["", "Ctrl-C stops.", ""])
    return "\n".join(lines)


def _shown(name: str, value: str) -> str:
    """A parameter as the banner shows it: providers by name only, as their settings may hold secrets."""
    if name == "OidcProviders":
        try:
            return f"OidcProviders=({', '.join(json.loads(value))})"
        except ValueError:
            return "OidcProviders=(unreadable)"
    return f"{name}={value}"


def _rows(rows: list[str]) -> list[str]:
    return [f"    {row}" for row in rows] or ["    -"]


if __name__ == "__main__":
    sys.exit(main())
