"""The template is valid, follows the platform's operational rules, and agrees with the code."""

import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint import api as cfnlint_api

from tests.security.test_security_headers import html_policy_problems
from tests.support.template import ROOT, TEMPLATE_PATH, declared_routes, functions, resources, served_routes, template

SAM = ROOT / ".venv-sam" / "bin" / "sam"


def test_cfn_lint_is_clean():
    matches = cfnlint_api.lint_file(TEMPLATE_PATH)
    assert [str(match) for match in matches] == []


def test_sam_validate_lint_is_clean():
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    assert sam, "the SAM CLI is installed by `make test` into .venv-sam"
    result = subprocess.run(
        [sam, "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_globals_pin_the_runtime_architecture_and_tracing():
    function_globals = template()["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    variables = function_globals["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "STAGE"} <= set(
        variables
    )


@pytest.mark.parametrize("name", sorted(functions()))
def test_every_function_logs_to_its_own_group_kept_30_days(name):
    function = functions()[name]
    log_group_ref = function["Properties"]["LoggingConfig"]["LogGroup"]
    group = template()["Resources"][log_group_ref["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30


def test_every_log_group_is_kept_30_days():
    groups = resources("AWS::Logs::LogGroup")
    assert groups
    assert {name: body["Properties"]["RetentionInDays"] for name, body in groups.items()} == dict.fromkeys(groups, 30)


def _dead_letter_queue_names() -> set[str]:
    names = set()
    for queue in resources("AWS::SQS::Queue").values():
        policy = queue["Properties"].get("RedrivePolicy")
        if policy:
            names.add(policy["deadLetterTargetArn"]["Fn::GetAtt"][0])
    return names


def test_every_queue_has_a_dead_letter_queue():
    queues = resources("AWS::SQS::Queue")
    dead_letter_queues = _dead_letter_queue_names()
    work_queues = set(queues) - dead_letter_queues
    assert work_queues
    for name in work_queues:
        policy = queues[name]["Properties"]["RedrivePolicy"]
        assert policy["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
        assert 1 <= policy["maxReceiveCount"] <= 10


def test_every_queue_has_an_alarm_on_its_depth():
    alarmed = set()
    for alarm in resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties.get("Namespace") == "AWS/SQS":
            for dimension in properties["Dimensions"]:
                alarmed.add(dimension["Value"]["Fn::GetAtt"][0])
    assert set(resources("AWS::SQS::Queue")) <= alarmed


def test_queue_consumers_report_partial_failures_and_outlast_their_timeout():
    queues = resources("AWS::SQS::Queue")
    default_timeout = template()["Globals"]["Function"]["Timeout"]
    for function in functions().values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            queue = queues[event["Properties"]["Queue"]["Fn::GetAtt"][0]]
            timeout = function["Properties"].get("Timeout", default_timeout)
            assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def _grants_every_resource(policy: object) -> bool:
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in statements:
        granted = statement.get("Resource")
        if "*" in (granted if isinstance(granted, list) else [granted]):
            return True
    return False


def test_no_function_policy_grants_every_resource():
    offenders = [
        name
        for name, function in functions().items()
        for policy in function["Properties"].get("Policies", [])
        if _grants_every_resource(policy)
    ]
    offenders += [
        name
        for name, policy in {**resources("AWS::IAM::Policy"), **resources("AWS::IAM::ManagedPolicy")}.items()
        if _grants_every_resource(policy["Properties"]["PolicyDocument"])
    ]
    assert offenders == []


def test_buckets_are_private_and_encrypted():
    for name, bucket in resources("AWS::S3::Bucket").items():
        properties = bucket["Properties"]
        assert all(properties["PublicAccessBlockConfiguration"].values()), name
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"], name


def test_exports_expire_after_seven_days():
    rules = resources("AWS::S3::Bucket")["ExportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(rule["Status"] == "Enabled" and rule.get("ExpirationInDays") == 7 for rule in rules)


def test_money_and_content_tables_have_point_in_time_recovery():
    tables = resources("AWS::DynamoDB::Table")
    for name in ("MainTable", "LedgerTable"):
        recovery = tables[name]["Properties"]["PointInTimeRecoverySpecification"]
        assert recovery["PointInTimeRecoveryEnabled"] is True


def test_every_declared_route_reaches_a_handler_that_serves_it():
    missing = sorted(declared_routes() - served_routes())
    assert missing == [], f"declared in template.yaml but served by no handler: {missing}"


def test_every_served_route_is_declared_in_the_template():
    undeclared = sorted(served_routes() - declared_routes())
    assert undeclared == [], f"served by a handler but not declared in template.yaml: {undeclared}"


# -- web hosting (same origin), public media and CORS -----------------------------------------
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def distribution() -> dict:
    return resources("AWS::CloudFront::Distribution")["WebDistribution"]["Properties"]["DistributionConfig"]


def behaviours() -> dict[str, dict]:
    return {behaviour["PathPattern"]: behaviour for behaviour in distribution()["CacheBehaviors"]}


def origin_of(behaviour: dict) -> dict:
    return next(origin for origin in distribution()["Origins"] if origin["Id"] == behaviour["TargetOriginId"])


def test_the_studio_is_served_from_the_private_web_bucket_through_origin_access_control():
    default = distribution()["DefaultCacheBehavior"]
    origin = origin_of(default)
    assert origin["DomainName"] == {"Fn::GetAtt": ["WebBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    # The bucket lets the distribution alone read it.
    statements = resources("AWS::S3::BucketPolicy")["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    reader = next(statement for statement in statements if statement["Effect"] == "Allow")
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert reader["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in reader["Condition"]["StringEquals"]


def test_spa_fallback_is_a_viewer_request_function_not_custom_error_responses():
    default = distribution()["DefaultCacheBehavior"]
    [association] = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"]["Fn::GetAtt"][0] == "SpaFallbackFunction"
    # Custom error responses would turn the API's own 403 and 404 into the app's page.
    assert "CustomErrorResponses" not in distribution()
    code = resources("AWS::CloudFront::Function")["SpaFallbackFunction"]["Properties"]["FunctionCode"]
    assert "/index.html" in code


@pytest.mark.parametrize("pattern", ["/v1/*", "/s/*"])
def test_api_paths_go_to_api_gateway_uncached_with_the_viewers_headers(pattern):
    behaviour = behaviours()[pattern]
    origin = origin_of(behaviour)
    assert origin["DomainName"] == {"Fn::Sub": "${Api}.execute-api.${AWS::Region}.amazonaws.com"}
    assert origin["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    # Every viewer header but Host (cookies, Authorization, Origin, Idempotency-Key, X-Workspace-Id).
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST


def test_the_api_behaviour_allows_every_method_the_api_serves():
    assert set(behaviours()["/v1/*"]["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def test_public_media_is_cached_from_its_own_private_bucket():
    behaviour = behaviours()["/media/*"]
    origin = origin_of(behaviour)
    assert behaviour["CachePolicyId"] == CACHING_OPTIMIZED
    assert origin["DomainName"] == {"Fn::GetAtt": ["PublicMediaBucket", "RegionalDomainName"]}
    assert "OriginAccessControlId" in origin
    statements = resources("AWS::S3::BucketPolicy")["PublicMediaBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    reader = next(statement for statement in statements if statement["Effect"] == "Allow")
    assert reader["Resource"] == {"Fn::Sub": "${PublicMediaBucket.Arn}/media/*"}


def test_the_response_headers_policy_is_strict():
    config = resources("AWS::CloudFront::ResponseHeadersPolicy")["WebSecurityHeaders"]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]["SecurityHeadersConfig"]
    policy = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert directives["connect-src"].startswith("'self'")
    assert directives["img-src"].startswith("'self'")
    assert directives["frame-ancestors"] == "'none'"
    # The same bar as every HTML page the API serves.
    assert html_policy_problems(policy) == []
    assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert config["FrameOptions"]["FrameOption"] == "DENY"
    assert config["ContentTypeOptions"]["Override"] is True
    assert "ReferrerPolicy" in config
    default = distribution()["DefaultCacheBehavior"]
    assert default["ResponseHeadersPolicyId"] == {"Ref": "WebSecurityHeaders"}


def test_the_outputs_name_what_deploy_web_needs():
    outputs = template()["Outputs"]
    assert outputs["WebBucketName"]["Value"] == {"Ref": "WebBucket"}
    assert outputs["WebDistributionId"]["Value"] == {"Ref": "WebDistribution"}
    assert outputs["WebDistributionDomainName"]["Value"] == {"Fn::GetAtt": ["WebDistribution", "DomainName"]}


def test_the_share_page_route_is_served_by_the_gallery_function():
    events = functions()["GalleryFunction"]["Properties"]["Events"]
    assert {"Path": "/s/{token}", "Method": "GET"}.items() <= events["SharePage"]["Properties"].items()


def test_only_the_worker_loads_the_video_decoding_layer():
    loaders = [
        name
        for name, function in functions().items()
        if {"Ref": "MediaLayer"} in function["Properties"].get("Layers", [])
    ]
    assert loaders == ["WorkerFunction"]


def _grants_bucket(function: dict, bucket: str) -> bool:
    return any(
        isinstance(policy, dict)
        and any(
            isinstance(body, dict) and body.get("BucketName") == {"Ref": bucket}
            for name, body in policy.items()
            if name in ("S3CrudPolicy", "S3WritePolicy")
        )
        for policy in function["Properties"].get("Policies", [])
    )


@pytest.mark.parametrize(
    ("function", "why"),
    [
        ("JobsFunction", "publish, unpublish and delete assets"),
        ("GalleryFunction", "a minor-safety report holds an item"),
        ("AdminFunction", "moderation removes, quarantines, suspends, or dismisses"),
        ("AccountFunction", "the deletion countdown starts or is cancelled"),
        ("ScheduledFunction", "the purge"),
    ],
)
def test_every_function_that_hides_or_shows_public_items_may_write_public_media(function, why):
    assert _grants_bucket(functions()[function], "PublicMediaBucket"), why
