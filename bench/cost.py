"""The AWS cost model: measured calls, request units and durations priced at list prices.

Used by bench/report.py, which renders `markdown(...)` into docs/performance.md. Every number comes
from the run's AWS-calls benchmark (calls, DynamoDB request units, S3 bytes, time outside the AWS
calls) and from template.yaml (each function's memory); the prices and the usage profile are stated
here, in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.figures import Figure

PRICES_AS_OF = "2025-06 (us-east-1 list prices, on-demand, no free tier; re-check before quoting)"
PRICE = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit (after the November 2024 reduction)
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET, HEAD
    "s3_gb_month": 0.023,  # Standard, first 50 TB
    "dynamodb_gb_month": 0.25,  # Standard table class, beyond the first 25 GB
    "ses_email": 0.10 / 1000,
    "transfer_out_gb": 0.09,  # first 10 TB a month to the internet
}
PRICE_NAMES = {
    "lambda_gb_second_arm64": "Lambda arm64, per GB-second",
    "lambda_request": "Lambda, per request",
    "api_gateway_rest_request": "API Gateway REST API, per request (first 333 M/month)",
    "dynamodb_rru": "DynamoDB on-demand, per read request unit (transactional reads 2 units)",
    "dynamodb_wru": "DynamoDB on-demand, per write request unit (transactional writes 2 units)",
    "sqs_request": "SQS standard, per request (64 KB chunk)",
    "s3_put": "S3 Standard PUT/COPY/POST/LIST, per request",
    "s3_get": "S3 Standard GET/HEAD, per request",
    "s3_gb_month": "S3 Standard storage, per GB-month (first 50 TB)",
    "dynamodb_gb_month": "DynamoDB storage, per GB-month",
    "ses_email": "SES, per email",
    "transfer_out_gb": "Data transfer out to the internet, per GB (first 10 TB)",
}

# In-region latency of one call from Lambda (typical medians), which replaces the emulator's round
# trips in the billed duration: the emulator answers more slowly than DynamoDB does.
CALL_MS = {"dynamodb": 5.0, "dynamodb.TransactWriteItems": 15.0, "sqs": 10.0, "s3": 25.0, "sesv2": 60.0}
DEFAULT_CALL_MS = 10.0

S3_PUT_OPERATIONS = {"PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload", "CopyObject"}
S3_LIST_OPERATIONS = {"ListObjectsV2", "ListObjects"}
S3_GET_OPERATIONS = {"GetObject", "HeadObject"}

# What the per-job and per-MAU figures assume beyond what is measured.
IMAGE_BYTES = 1.5 * 1024 * 1024  # a 1024x1024 PNG from a real provider (the local one makes smaller ones)
STATUS_POLLS_PER_JOB = 3  # the studio polls GET /v1/jobs/{id} until the job is done
VIEWS_PER_IMAGE = 3  # GET /v1/assets/{id} (a presigned URL) and the download it leads to
ITEMS_PER_JOB = 3  # the job, its asset and its ledger entries kept (7 years for the ledger)
ITEM_BYTES = 1024


@dataclass(frozen=True)
class Invocation:
    """One measured invocation, priced."""

    label: str
    kind: str
    function: str
    memory_mb: int
    billed_ms: int
    calls: Mapping[str, int]
    read_units: float
    write_units: float
    batch: int

    def lines(self) -> dict[str, float]:
        """Cost by service, in dollars."""
        cost = {
            "Lambda": PRICE["lambda_request"]
            + self.memory_mb / 1024 * self.billed_ms / 1000 * PRICE["lambda_gb_second_arm64"],
            "DynamoDB": self.read_units * PRICE["dynamodb_rru"] + self.write_units * PRICE["dynamodb_wru"],
            "API Gateway": PRICE["api_gateway_rest_request"] if self.kind == "route" else 0.0,
            "SQS": 0.0,
            "S3": 0.0,
            "SES": 0.0,
        }
        if self.kind == "queue":
            cost["SQS"] += 2 * PRICE["sqs_request"]  # the event source mapping's receive and delete
        for name, count in self.calls.items():
            service, operation = name.split(".", 1)
            if service == "sqs" and operation.startswith("SendMessage"):
                cost["SQS"] += count * PRICE["sqs_request"]
            elif service == "s3" and operation in S3_PUT_OPERATIONS | S3_LIST_OPERATIONS:
                cost["S3"] += count * PRICE["s3_put"]
            elif service == "s3" and operation in S3_GET_OPERATIONS:
                cost["S3"] += count * PRICE["s3_get"]
            elif service == "sesv2":
                cost["SES"] += count * PRICE["ses_email"]
        return cost

    @property
    def total(self) -> float:
        return sum(self.lines().values())


def billed_ms(data: Mapping[str, Any]) -> int:
    """Time outside the AWS calls as measured, plus each call at its in-region latency, rounded up to 1 ms."""
    own = max(0.0, data["seconds"] - data.get("aws_seconds", 0.0)) * 1000
    calls = sum(
        count * CALL_MS.get(name, CALL_MS.get(name.split(".")[0], DEFAULT_CALL_MS))
        for name, count in data["calls"].items()
    )
    return max(1, math.ceil(own + calls))


def function_memory() -> dict[str, int]:
    from tests.support.template import functions, template

    default = int(template()["Globals"]["Function"].get("MemorySize", 128))
    return {name: int(body["Properties"].get("MemorySize", default)) for name, body in functions().items()}


def invocations(rows: list[Figure]) -> dict[str, Invocation]:
    memory = function_memory()
    found: dict[str, Invocation] = {}
    for row in rows:
        data = row.data
        if row.group != "AWS calls" or not data or data.get("kind") not in ("route", "queue"):
            continue
        found.setdefault(
            row.figure,
            Invocation(
                label=row.figure,
                kind=data["kind"],
                function=data["function"],
                memory_mb=memory.get(data["function"], 512),
                billed_ms=billed_ms(data),
                calls=data["calls"],
                read_units=data["read_units"],
                write_units=data["write_units"],
                batch=int(data.get("batch", 1)),
            ),
        )
    return found


def _money(value: float) -> str:
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}"


def _unit(value: float) -> str:
    """A small dollar amount, readable: $5.37e-06."""
    return f"${value:.3g}" if value >= 0.01 else f"${value:.3e}"


def _find(measured: dict[str, Invocation], *prefixes: str) -> Invocation | None:
    for prefix in prefixes:
        for label, invocation in measured.items():
            if label.startswith(prefix):
                return invocation
    return None


def markdown(rows: list[Figure]) -> str:
    measured = invocations(rows)
    out: list[str] = ["## Cost model", ""]
    out.append(
        f"Prices: {PRICES_AS_OF}. Each measured invocation is priced from its own calls and DynamoDB request "
        "units (estimated per call from the items read and written: 4 KB per read unit, half for eventually "
        "consistent reads, 1 KB per write unit, twice for transactions) and from its billed Lambda duration: "
        "the time the invocation spent outside AWS calls, as measured, plus each call at a typical in-region "
        f"latency ({', '.join(f'{k} {v:g} ms' for k, v in CALL_MS.items())}, others {DEFAULT_CALL_MS:g} ms) "
        "instead of the emulator's round trips, at the function's memory from template.yaml."
    )
    out += ["", "| price | dollars |", "|---|---|"]
    out += [f"| {PRICE_NAMES[key]} | {value:.10g} |" for key, value in PRICE.items()]

    out += ["", "### Per invocation (the measured ones that the figures below use)", ""]
    out.append("| invocation | function, memory | billed ms | RRU | WRU | other calls | cost per 1,000 |")
    out.append("|---|---|---|---|---|---|---|")
    used = [
        ("POST /v1/jobs: submit an image job",),
        ("generation message: start, image",),
        ("GET /v1/jobs/{job_id}",),
        ("GET /v1/assets/{asset_id}",),
        ("GET /v1/assets",),
        ("GET /v1/gallery: first page",),
        ("GET /v1/me",),
        ("GET /v1/billing/balance",),
        ("GET /v1/auth/login",),
        ("GET /v1/auth/callback",),
        ("POST /v1/billing/checkout: stripe pack",),
        ("POST /v1/webhooks/stripe: checkout.session.completed",),
        ("POST /v1/webhooks/stripe: charge.succeeded",),
    ]
    table: dict[str, Invocation] = {}
    for prefixes in used:
        invocation = _find(measured, *prefixes)
        if invocation is None:
            continue
        table[prefixes[0]] = invocation
        others = ", ".join(f"{k} x{v}" for k, v in sorted(invocation.calls.items()) if not k.startswith("dynamodb."))
        out.append(
            f"| {invocation.label} | {invocation.function}, {invocation.memory_mb} MB | {invocation.billed_ms} | "
            f"{invocation.read_units:g} | {invocation.write_units:g} | {others or '-'} | "
            f"{_money(invocation.total * 1000)} |"
        )

    def cost(prefix: str) -> float:
        invocation = table.get(prefix)
        return invocation.total if invocation else 0.0

    # -- per 1,000 image jobs ----------------------------------------------------------------------
    submit = cost("POST /v1/jobs: submit an image job")
    worker = cost("generation message: start, image")
    status = cost("GET /v1/jobs/{job_id}")
    view = cost("GET /v1/assets/{asset_id}")
    image_gb = IMAGE_BYTES / 1024**3
    storage = image_gb * PRICE["s3_gb_month"]
    downloads = VIEWS_PER_IMAGE * (PRICE["s3_get"] + image_gb * PRICE["transfer_out_gb"])
    per_job = submit + worker + STATUS_POLLS_PER_JOB * status + VIEWS_PER_IMAGE * view
    out += ["", "### Per 1,000 image jobs", ""]
    out.append(
        f"One image job = submit ({_money(submit * 1000)} per 1,000) + the worker's start message "
        f"({_money(worker * 1000)}) + {STATUS_POLLS_PER_JOB} status polls ({_money(status * 1000)} each per 1,000) "
        f"+ {VIEWS_PER_IMAGE} views of the asset ({_money(view * 1000)} each per 1,000):"
    )
    out.append("")
    out.append(
        f"1,000 x ({submit:.3e} + {worker:.3e} + {STATUS_POLLS_PER_JOB} x {status:.3e} + {VIEWS_PER_IMAGE} x "
        f"{view:.3e}) = **{_money(per_job * 1000)} per 1,000 image jobs** (AWS, compute and requests)."
    )
    out.append("")
    out.append(
        f"Outside that: keeping the 1,000 outputs ({IMAGE_BYTES / 1024**2:.1f} MB each as a real provider makes "
        f"them) costs {_money(storage * 1000)} a month in S3, and downloading each {VIEWS_PER_IMAGE} times "
        f"{_money(downloads * 1000)} (S3 GETs and transfer out). The inference provider's charge (cents per image) "
        "dwarfs all of it."
    )

    # -- per 1,000 API requests ---------------------------------------------------------------------
    mix = {
        "GET /v1/jobs/{job_id}": 0.35,
        "GET /v1/assets": 0.15,
        "GET /v1/gallery: first page": 0.15,
        "GET /v1/me": 0.10,
        "GET /v1/billing/balance": 0.10,
        "POST /v1/jobs: submit an image job": 0.10,
        "GET /v1/assets/{asset_id}": 0.05,
    }
    present = {label: share for label, share in mix.items() if label in table}
    weight = sum(present.values()) or 1.0
    per_request = sum(cost(label) * share for label, share in present.items()) / weight
    out += ["", "### Per 1,000 API requests", ""]
    out.append("A studio session's mix of requests (shares of requests):")
    out.append("")
    out.append("| request | share | cost per 1,000 | weighted |")
    out.append("|---|---|---|---|")
    for label, share in present.items():
        out.append(
            f"| {label} | {share / weight:.0%} | {_money(cost(label) * 1000)} | "
            f"{_money(cost(label) * 1000 * share / weight)} |"
        )
    out.append(f"| **mix** | 100% | | **{_money(per_request * 1000)}** |")
    out.append("")
    out.append(
        f"API Gateway is {PRICE['api_gateway_rest_request'] * 1000 / max(per_request * 1000, 1e-12):.0%} of it: "
        "the REST API's $3.50 per million is the largest line (an HTTP API would be $1.00, see "
        "docs/decisions.md for why REST)."
    )

    # -- a million monthly active users -------------------------------------------------------------
    mau = 1_000_000
    jobs = 20
    requests = 150  # besides the job-related ones counted per job
    sign_ins = 2
    purchases = 0.05
    stored_gb = 100 / 1024  # outputs kept per account, at steady state
    login = cost("GET /v1/auth/login") + cost("GET /v1/auth/callback")
    purchase = (
        cost("POST /v1/billing/checkout: stripe pack")
        + cost("POST /v1/webhooks/stripe: checkout.session.completed")
        + cost("POST /v1/webhooks/stripe: charge.succeeded")
    )
    monthly = {
        "image jobs (requests, compute)": mau * jobs * per_job,
        "other API requests": mau * requests * per_request,
        "sign-ins": mau * sign_ins * login,
        "purchases (checkout and webhooks)": mau * purchases * purchase,
        "S3 storage of outputs": mau * stored_gb * PRICE["s3_gb_month"],
        "DynamoDB storage added": mau * jobs * ITEMS_PER_JOB * ITEM_BYTES / 1024**3 * PRICE["dynamodb_gb_month"],
        "downloads (S3 GET and transfer out)": mau * jobs * downloads,
    }
    out += ["", "### A million monthly active users", ""]
    out.append(
        f"Profile per active user per month: {jobs} image jobs (each as above), {requests} other API requests "
        f"(the mix above), {sign_ins} sign-ins, a purchase for {purchases:.0%} of users, "
        f"{stored_gb * 1024:.0f} MB of outputs kept, each output downloaded {VIEWS_PER_IMAGE} times."
    )
    out.append("")
    out.append("| line | arithmetic | per month |")
    out.append("|---|---|---|")
    arithmetic = {
        "image jobs (requests, compute)": f"1 M x {jobs} x {_unit(per_job)}",
        "other API requests": f"1 M x {requests} x {_unit(per_request)}",
        "sign-ins": f"1 M x {sign_ins} x {_unit(login)}",
        "purchases (checkout and webhooks)": f"1 M x {purchases} x {_unit(purchase)}",
        "S3 storage of outputs": f"1 M x {stored_gb:.4f} GB x ${PRICE['s3_gb_month']}",
        "DynamoDB storage added": (
            f"1 M x {jobs} jobs x {ITEMS_PER_JOB} items x {ITEM_BYTES} B x ${PRICE['dynamodb_gb_month']}/GB, "
            "each month's on top of the last"
        ),
        "downloads (S3 GET and transfer out)": f"1 M x {jobs} x {_unit(downloads)}",
    }
    for line, value in monthly.items():
        out.append(f"| {line} | {arithmetic[line]} | {_money(value)} |")
    backend = sum(value for line, value in monthly.items() if not line.startswith(("S3 storage", "downloads", "Dyn")))
    out.append(f"| **backend (requests and compute)** | | **{_money(backend)}** |")
    out.append(f"| **everything above** | | **{_money(sum(monthly.values()))}** |")
    out.append("")
    out.append(
        "Transfer out is priced at the first tier; at this volume tiers and a CDN in front of the assets bucket "
        "lower it. Not included: CloudWatch Logs (one line per request), alarms, the queues' idle long polls "
        "(a few cents a month each), SSM parameter reads (cached per container) and the inference providers."
    )
    out.append("")
    out += snapstart_lines(rows)
    return "\n".join(out) + "\n"


# -- SnapStart ----------------------------------------------------------------------------------------
# List prices, us-east-1, for Python and .NET functions: the snapshot cache per GB-second of memory for
# as long as a version is cached (3 hours at least), and each restore per GB of memory. Quoted from
# https://awsnegotiations.com/blog/lambda-snapstart-cost-impact/ (May 2026), which transcribes
# https://aws.amazon.com/lambda/pricing/ (that page renders its rates client-side). Since 2025-08-01
# the INIT phase of on-demand ZIP functions is billed like the invocation (AWS Compute Blog, "AWS
# Lambda standardizes billing for INIT Phase"), so a cold start without SnapStart pays for its init.
SNAPSTART_PRICE = {"cache_gb_second": 0.0000015046, "restore_gb": 0.0001397998}
SECONDS_PER_MONTH = 30 * 24 * 3600
SNAPSTART_GROUP = "SnapStart and python3.13"


def snapstart_lines(rows: list[Figure]) -> list[str]:
    """Per SnapStart function: what its snapshot costs to keep, and a cold start with and without it."""
    imports = {row.data["function"]: row.data for row in rows if row.group == SNAPSTART_GROUP and "py313" in row.data}
    restores = {
        row.data["function"]: row.data for row in rows if row.group == SNAPSTART_GROUP and "first_ms" in row.data
    }
    out = ["### SnapStart", ""]
    if not restores:
        return [*out, "No SnapStart figures in this run (bench/snapstart.py).", ""]
    from bench.snapstart import snapstart_functions

    logical = snapstart_functions()
    memory = function_memory()
    gb_second = PRICE["lambda_gb_second_arm64"]
    out.append(
        f"Prices: cache ${SNAPSTART_PRICE['cache_gb_second']:.10f} per GB-second of memory while a version is cached, "
        f"restore ${SNAPSTART_PRICE['restore_gb']} per GB per restore (us-east-1 list prices for Python; see "
        "bench/cost.py for the source). A cold start without SnapStart bills its INIT (the handler's import, "
        "measured on python3.13, plus the first request's client set-up, not counted here); with SnapStart it "
        "bills the restore and the after-restore hooks (the runtime's own load on restore is not measurable "
        "here and not counted). Each deploy publishes a version: a month of the live one is counted; older "
        "versions are cached (and charged) until deleted."
    )
    out += [
        "",
        "| function, memory | snapshot cache per month | cold start without SnapStart | with SnapStart | "
        "per 1,000 cold starts: without / with |",
        "|---|---|---|---|---|",
    ]
    cache_total = 0.0
    without_total = 0.0
    with_total = 0.0
    for function, data in sorted(restores.items()):
        memory_mb = memory.get(logical.get(function, ""), 512)
        gb = memory_mb / 1024
        cache = gb * SECONDS_PER_MONTH * SNAPSTART_PRICE["cache_gb_second"]
        init_ms = float(imports.get(function, {}).get("py313") or 0.0)
        without = gb * init_ms / 1000 * gb_second
        with_snapstart = gb * SNAPSTART_PRICE["restore_gb"] + gb * data["after_restore_ms"] / 1000 * gb_second
        cache_total += cache
        without_total += without
        with_total += with_snapstart
        out.append(
            f"| {function}, {memory_mb} MB | {_money(cache)} | {init_ms:.0f} ms INIT: {_unit(without)} | "
            f"restore + {data['after_restore_ms']:.1f} ms hooks: {_unit(with_snapstart)} | "
            f"{_money(without * 1000)} / {_money(with_snapstart * 1000)} |"
        )
    out.append(
        f"| **{len(restores)} functions** | **{_money(cache_total)}** | | | "
        f"**{_money(without_total * 1000)} / {_money(with_total * 1000)}** |"
    )
    out.append("")
    out.append(
        f"SnapStart buys latency, not savings: a restore costs more than the INIT it replaces, and the "
        f"snapshots cost {_money(cache_total)} a month to keep. At 1,000 cold starts a day per function "
        f"(30,000 a month each) the stack pays {_money(cache_total + 30 * with_total * 1000)} a month with "
        f"SnapStart against {_money(30 * without_total * 1000)} without."
    )
    out.append("")
    return out
