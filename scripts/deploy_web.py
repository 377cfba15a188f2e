"""Uploads the built web studio (web/dist) to the stack's web bucket and refreshes the distribution.

    python -m scripts.deploy_web --stack atelier-dev [--skip-build]

Builds the app (`npm ci && npm run build` in web/) unless told not to, reads the bucket and the
distribution from the stack's outputs, uploads hashed assets (`/assets/*`) with a year's immutable
cache lifetime and everything else (index.html above all) with a short one, then invalidates `/` and
`/index.html`. Older hashed assets are left in the bucket, so a page still open (or a cached
index.html) keeps loading the files it names.
"""

from __future__ import annotations

import argparse
import mimetypes
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DIST = WEB / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60, must-revalidate"


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def cache_control(relative: str) -> str:
    """Hashed build output lives under assets/ and never changes under its name."""
    return IMMUTABLE if relative.startswith("assets/") else SHORT


def content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if path.suffix == ".webmanifest":
        return "application/manifest+json"
    return guessed or "application/octet-stream"


def upload_order(dist: Path) -> list[Path]:
    """Every file, index.html last: the assets it names are in place before it is."""
    files = sorted(path for path in dist.rglob("*") if path.is_file())
    return [path for path in files if path.name != "index.html" or path.parent != dist] + [
        path for path in files if path.name == "index.html" and path.parent == dist
    ]


def build() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm (Node 20+) is needed to build the studio")
    subprocess.run([npm, "ci"], cwd=WEB, check=True)  # noqa: S603 - fixed arguments
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)  # noqa: S603 - fixed arguments


def deploy(stack: str, *, s3: Any, cloudformation: Any, cloudfront: Any, dist: Path = DIST) -> dict[str, Any]:
    if not (dist / "index.html").is_file():
        raise SystemExit(f"{dist}/index.html is missing: build the app first (npm run build in web/)")
    outputs = stack_outputs(cloudformation, stack)
    bucket, distribution = outputs["WebBucketName"], outputs["WebDistributionId"]
    uploaded = 0
    for path in upload_order(dist):
        relative = path.relative_to(dist).as_posix()
        s3.upload_file(
            str(path),
            bucket,
            relative,
            ExtraArgs={"ContentType": content_type(path), "CacheControl": cache_control(relative)},
        )
        uploaded += 1
    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/", "/index.html"]},
            "CallerReference": f"deploy-web-{time.time_ns()}",
        },
    )
    return {
        "bucket": bucket,
        "distribution": distribution,
        "files": uploaded,
        "invalidation": invalidation["Invalidation"]["Id"],
        "url": f"https://{outputs['WebDistributionDomainName']}/",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the CloudFormation stack (samconfig.toml's stack_name)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--skip-build", action="store_true", help="upload web/dist as it is")
    arguments = parser.parse_args(argv)
    import boto3

    if not arguments.skip_build:
        build()
    session = boto3.Session(region_name=arguments.region)
    result = deploy(
        arguments.stack,
        s3=session.client("s3"),
        cloudformation=session.client("cloudformation"),
        cloudfront=session.client("cloudfront"),
    )
    print(f"uploaded {result['files']} files to s3://{result['bucket']}; invalidation {result['invalidation']}")
    print(f"the studio: {result['url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
