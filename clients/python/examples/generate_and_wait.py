"""Generate an image, be told by a signed webhook that it is done, and download it.

    export ATELIER_API_KEY=...                     # Settings > API keys: generate, library:read, webhooks:read
    export ATELIER_BASE_URL=http://127.0.0.1:3000  # with `make dev`; leave unset for production
    python examples/generate_and_wait.py "a lighthouse at dusk" -o lighthouse.png

The script listens on 127.0.0.1 and names that address as the job's ``webhook_url``, which ``make dev``
accepts. Against production the receiver must be reachable over public https: forward one (a tunnel,
a reverse proxy) to the local port and pass its address as ``--public-url``.

Deliveries to a job's own ``webhook_url`` are signed with the account's default webhook secret, which
the script reads with its key (``GET /v1/webhook-endpoints/default/secret``, the ``webhooks:read``
scope). ``ATELIER_WEBHOOK_SECRET``, when set, is used instead and the key needs no webhook scope.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import atelier
from atelier import Atelier, InsufficientScopeError
from atelier.webhooks import WebhookVerificationError

FINISHED_EVENTS = {"job.succeeded", "job.failed", "job.canceled"}


def start_receiver(secret: str, port: int) -> tuple[ThreadingHTTPServer, queue.Queue[dict[str, Any]]]:
    """A receiver that verifies each delivery and hands the verified ones over; others get 400."""
    verified: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                event = atelier.webhooks.verify(body, dict(self.headers.items()), secret)
            except WebhookVerificationError as error:
                print(f"refused a delivery: {error}", file=sys.stderr)
                self.send_response(400)
            else:
                verified.put(event)
                self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, verified


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompt")
    parser.add_argument("--model", default="local-image")
    parser.add_argument("-o", "--output", default="output.png")
    parser.add_argument("--port", type=int, default=0, help="the receiver's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--public-url", help="the receiver's public https address, forwarded to the local port")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the webhook")
    arguments = parser.parse_args()

    with Atelier() as client:
        try:
            secret = os.environ.get("ATELIER_WEBHOOK_SECRET") or client.webhook_endpoints.default_secret().secret
        except InsufficientScopeError:
            print(
                "The API key cannot read the default webhook secret: make one with the “webhooks:read” scope,"
                " or set ATELIER_WEBHOOK_SECRET.",
                file=sys.stderr,
            )
            return 2
        return generate_and_wait(client, secret, arguments)


def generate_and_wait(client: Atelier, secret: str, arguments: argparse.Namespace) -> int:
    server, verified = start_receiver(secret, arguments.port)
    webhook_url = arguments.public_url or f"http://127.0.0.1:{server.server_address[1]}/atelier-webhook"
    try:
        job = client.jobs.create(model=arguments.model, prompt=arguments.prompt, webhook_url=webhook_url)
        print(f"submitted {job.id}; waiting for its webhook at {webhook_url}", file=sys.stderr)
        while True:
            try:
                event = verified.get(timeout=arguments.timeout)
            except queue.Empty:
                print(f"no webhook for {job.id} within {arguments.timeout:g} s", file=sys.stderr)
                return 1
            data = event.get("data") or {}
            if event.get("type") in FINISHED_EVENTS and data.get("id") == job.id:
                break
        print(f"webhook {event['type']} for {job.id} (signature verified)", file=sys.stderr)
        if event["type"] != "job.succeeded":
            return 1
        written = client.assets.download(data["outputs"][0], arguments.output)
        print(f"downloaded {arguments.output} ({written} bytes)", file=sys.stderr)
        print(arguments.output)
        return 0
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
