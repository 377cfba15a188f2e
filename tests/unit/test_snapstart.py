"""SnapStart hooks: registered by every SnapStart function, run in the runtime's order, and a
restore leaves nothing that two environments restored from one snapshot would share.

Snapshots are simulated in fresh interpreters (the hooks freeze the garbage collector and replace
process-wide state, which a test process must not keep): `local_hooks` runs the before-snapshot
hooks, then `os.fork` makes two copies of that process, the way two execution environments resume
from one snapshot (with the `random` state the fork itself reseeds put back as the snapshot had
it), and each copy runs the after-restore hooks.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from atelier import snapstart
from tests.support.template import ROOT, function_dir, functions, template


def snapstart_function_dirs() -> list[str]:
    default = template()["Globals"]["Function"]["SnapStart"]["ApplyOn"]
    return sorted(
        function_dir(body)
        for body in functions().values()
        if (body["Properties"].get("SnapStart") or {}).get("ApplyOn", default) == "PublishedVersions"
    )


def run_fresh(code: str) -> dict:
    """Runs `code` in a fresh interpreter (no AWS is called); answers the JSON its last line prints."""
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "snapshot-key",
        "AWS_SECRET_ACCESS_KEY": "snapshot-secret",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    environment.pop("AWS_PROFILE", None)
    environment.pop("AWS_SESSION_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_template_runs_most_functions_with_snapstart():
    # Given the template
    # When the functions it runs with SnapStart are listed
    found = snapstart_function_dirs()

    # Then they are every function but the exporter (which needs more /tmp than SnapStart allows)
    assert set(found) == {function_dir(body) for body in functions().values()} - {"exporter"}


@pytest.mark.parametrize("function", snapstart_function_dirs())
def test_every_snapstart_function_registers_its_hooks(function):
    # Given a SnapStart function's handler module, imported as Lambda imports it
    module = importlib.import_module(f"functions.{function}.handler")

    # When the hooks registered for this very module are looked up (the local runtime imports
    # handlers again in environments of its own, and each import registers its own hooks)
    resolver = getattr(module, "app", None)
    registered = [
        arguments[0]
        for hook, arguments, _ in snapstart.local_hooks.before_snapshot
        if hook is snapstart.warm and arguments[0].function == function and arguments[0].resolver is resolver
    ]

    # Then it has registered the warm-up before the snapshot and the renewal after a restore,
    # and an HTTP function hands over the resolver it serves with
    assert registered, f"{function} registered no warm-up for the resolver it serves with"
    assert (snapstart.renew, (registered[-1],), {}) in snapstart.local_hooks.after_restore


def test_hooks_run_in_the_runtimes_order():
    # Given a registry with two hooks of each kind
    registry = snapstart.HookRegistry()
    ran: list[str] = []
    registry.register_before_snapshot(ran.append, "first before")
    registry.register_before_snapshot(ran.append, "second before")
    registry.register_after_restore(ran.append, "first after")
    registry.register_after_restore(ran.append, "second after")

    # When a snapshot and a restore are simulated
    registry.run_before_snapshot()
    registry.run_after_restore()

    # Then before-snapshot hooks run last-registered first and after-restore hooks in order, as on Lambda
    assert ran == ["second before", "first before", "first after", "second after"]


_TWO_RESTORED_COPIES = """
    import json, os, random, sys, uuid

    import functions.{function}.handler
    from atelier import snapstart
    from atelier.data.base import Transaction
    from atelier.ids import IdPrefix, new_id
    from atelier.tokens import new_token

    snapstart.local_hooks.run_before_snapshot()
    snapshot_random_state = random.getstate()
    copies = []
    for _ in range(2):
        read, write = os.pipe()
        if os.fork() == 0:  # one environment restored from the snapshot
            os.close(read)
            # A fork reseeds `random` in the child; a restored snapshot does not: undo it.
            random.setstate(snapshot_random_state)
            snapstart.local_hooks.run_after_restore()
            drawn = {{
                "random": [random.random() for _ in range(4)],
                "job_id": new_id(IdPrefix.JOB),
                "idempotency_key": f"checkout-{{new_id(IdPrefix.CHECKOUT)}}",
                "session_token": new_token("ats_"),
                "request_id": str(uuid.uuid4()),
                "transaction_token": Transaction()._transaction._client_request_token,
            }}
            os.write(write, json.dumps(drawn).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            copies.append(json.loads(answer.read()))
        os.wait()
    print(json.dumps(copies))
"""


@pytest.mark.parametrize("function", ["jobs", "worker"])
def test_two_environments_restored_from_one_snapshot_share_no_random_state(function):
    # Given one snapshot of a warmed function, restored twice
    # When each restored copy draws random numbers, ids, an idempotency key, a token and transaction tokens
    first, second = run_fresh(_TWO_RESTORED_COPIES.format(function=function))

    # Then nothing the two copies drew is the same, the `random` sequence included
    assert set(first) == set(second)
    for name in first:
        assert first[name] != second[name], name


def test_a_restore_gives_the_snapshots_clients_fresh_credentials_and_empty_pools():
    # Given a warmed function whose AWS clients hold a pooled connection and the snapshot's credentials
    # When the environment is restored where other credentials are in force
    found = run_fresh(
        """
        import json, os

        import functions.gallery.handler
        from atelier import snapstart

        snapstart.local_hooks.run_before_snapshot()
        clients = [ref() for ref in snapstart._snapshot_clients]
        for client in clients:
            client._endpoint.http_session._manager.connection_from_host("pooled.invalid", 443, "https")
        os.environ["AWS_ACCESS_KEY_ID"] = "restored-key"
        snapstart.local_hooks.run_after_restore()
        print(json.dumps({
            "clients": len(clients),
            "keys": sorted({client._request_signer._credentials.access_key for client in clients}),
            "pooled": sum(len(client._endpoint.http_session._manager.pools) for client in clients),
        }))
        """
    )

    # Then every client (DynamoDB, S3, SQS, SES) signs with the credentials resolved after the restore
    # and keeps no connection opened before it
    assert found["clients"] >= 4
    assert found["keys"] == ["restored-key"]
    assert found["pooled"] == 0


def test_a_restore_forgets_secrets_providers_and_timed_caches():
    # Given a warmed function that has read a secret, built a provider and cached the terms in force
    found = run_fresh(
        """
        import json

        import functions.account.handler
        from atelier import snapstart
        from atelier.services import get_services
        from atelier.usecases import read_policy
        from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
        from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

        snapstart.local_hooks.run_before_snapshot()
        services = get_services()
        services._inference_providers["local"] = object()
        read_policy._cache[(0, "terms")] = (0.0, None)
        provider = DEFAULT_PROVIDERS.setdefault("ssm", SSMProvider())
        provider.add_to_cache(("/atelier/a-secret", None), "rotated since", max_age=300)

        # When the environment is restored
        snapstart.local_hooks.run_after_restore()
        print(json.dumps({
            "providers": len(services._inference_providers),
            "policies": len(read_policy._cache),
            "secrets": len(provider.store),
        }))
        """
    )

    # Then the secret, the provider built from one and the cache timed on the monotonic clock are gone
    assert found == {"providers": 0, "policies": 0, "secrets": 0}
