"""`make deploy-web`: hashed assets get a year's immutable lifetime, index.html a short one and goes
up last, the bucket and distribution come from the stack's outputs, and `/` and `/index.html` are
invalidated."""

from pathlib import Path
from typing import Any

import pytest

from scripts.deploy_web import IMMUTABLE, SHORT, deploy

OUTPUTS = {
    "WebBucketName": "atelier-dev-web-1",
    "WebDistributionId": "E123",
    "WebDistributionDomainName": "d1.cloudfront.net",
}


class FakeCloudFormation:
    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        assert StackName == "atelier-dev"
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]}]}


class FakeS3:
    def __init__(self) -> None:
        self.uploads: list[tuple[str, str, dict[str, str]]] = []

    def upload_file(self, path: str, bucket: str, key: str, ExtraArgs: dict[str, str]) -> None:
        self.uploads.append((bucket, key, ExtraArgs))


class FakeCloudFront:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[str]]] = []

    def create_invalidation(self, DistributionId: str, InvalidationBatch: dict[str, Any]) -> dict[str, Any]:
        self.batches.append((DistributionId, InvalidationBatch["Paths"]["Items"]))
        return {"Invalidation": {"Id": "I1"}}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html><head></head></html>")
    (tmp_path / "assets" / "index-3f2a9c.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-77aa01.css").write_text("body{}")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def test_hashed_assets_are_immutable_index_is_short_lived_and_uploaded_last(dist: Path):
    # Given a built app
    s3, cloudfront = FakeS3(), FakeCloudFront()
    # When it is deployed to the stack
    result = deploy("atelier-dev", s3=s3, cloudformation=FakeCloudFormation(), cloudfront=cloudfront, dist=dist)
    # Then every file went to the stack's web bucket with its type and lifetime, index.html last
    lifetimes = {key: extra["CacheControl"] for _, key, extra in s3.uploads}
    assert lifetimes == {
        "assets/index-3f2a9c.js": IMMUTABLE,
        "assets/index-77aa01.css": IMMUTABLE,
        "favicon.svg": SHORT,
        "index.html": SHORT,
    }
    assert s3.uploads[-1][1] == "index.html"
    assert {bucket for bucket, _, _ in s3.uploads} == {"atelier-dev-web-1"}
    types = {key: extra["ContentType"] for _, key, extra in s3.uploads}
    assert types["index.html"] == "text/html"
    assert types["assets/index-77aa01.css"] == "text/css"
    # And the distribution was told to fetch the new index.html
    assert cloudfront.batches == [("E123", ["/", "/index.html"])]
    assert result["url"] == "https://d1.cloudfront.net/"


def test_nothing_is_uploaded_without_a_built_index(tmp_path: Path):
    # Given no build output
    s3 = FakeS3()
    # When a deploy is attempted
    # Then it stops before touching the bucket
    with pytest.raises(SystemExit):
        deploy("atelier-dev", s3=s3, cloudformation=FakeCloudFormation(), cloudfront=FakeCloudFront(), dist=tmp_path)
    assert s3.uploads == []
