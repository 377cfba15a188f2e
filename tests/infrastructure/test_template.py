"""The template is valid, follows the platform's operational rules, and agrees with the code."""

import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint import api as cfnlint_api

from atelier.observability import SCHEDULED_TASK_FAILED, SCHEDULED_TASK_SUCCEEDED, SERVICE_NAME
from atelier.settings import BillingSettings, Settings
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
    # The rest of each function's environment is its own (tests/infrastructure/test_function_environment.py).
    variables = function_globals["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(variables)


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


# Actions IAM cannot scope to a resource (DetectModerationLabels without a custom adapter).
_UNSCOPABLE_ACTIONS = {"rekognition:DetectModerationLabels"}


def _grants_every_resource(policy: object) -> bool:
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in statements:
        granted = statement.get("Resource")
        actions = statement.get("Action")
        if set(actions if isinstance(actions, list) else [actions]) <= _UNSCOPABLE_ACTIONS:
            continue
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


def test_uploads_no_job_used_expire_by_their_tag_after_the_retention_sweep_had_its_chance():
    rules = resources("AWS::S3::Bucket")["AssetsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [rule] = [rule for rule in rules if rule.get("TagFilters")]
    assert rule["Status"] == "Enabled"
    assert rule["TagFilters"] == [{"Key": "unused", "Value": "true"}]
    assert "Prefix" not in rule  # keys are accounts/<id>/uploads/...: no prefix singles them out
    # The sweep deletes unused uploads after UNUSED_UPLOAD_DAYS; the rule is a later backstop.
    assert rule["ExpirationInDays"] > Settings().uploads.unused_upload_days + 1


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


def test_a_payment_no_account_can_take_alarms_whichever_provider_reported_it():
    # The use case counts each on UnmatchedPayment with a `provider` dimension; the alarm must sum them all.

    every_provider = BillingSettings.model_fields["payment_providers"].default_factory()  # type: ignore[call-arg,misc]
    alarm = resources("AWS::CloudWatch::Alarm")["UnmatchedPaymentAlarm"]["Properties"]
    watched = [
        {dimension["Name"]: dimension["Value"] for dimension in query["MetricStat"]["Metric"]["Dimensions"]}
        for query in alarm["Metrics"]
        if "MetricStat" in query and query["MetricStat"]["Metric"]["MetricName"] == "UnmatchedPayment"
    ]
    assert watched == [{"service": "atelier", "provider": provider} for provider in every_provider]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["Threshold"] == 0


def _scheduled_tasks() -> dict[str, int]:
    """Task name -> seconds between runs, from the scheduled function's Schedule events."""
    units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
    tasks = {}
    for event in functions()["ScheduledFunction"]["Properties"]["Events"].values():
        assert event["Type"] == "Schedule"
        name = event["Properties"]["Name"]["Fn::Sub"]
        amount, unit = event["Properties"]["Schedule"].removeprefix("rate(").removesuffix(")").split()
        tasks[name.removeprefix("atelier-${Stage}-")] = int(amount) * units[unit]
    return tasks


def _task_alarms(metric: str) -> dict[str, dict]:
    alarms = {}
    for alarm in resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties.get("Namespace") == "Atelier" and properties["MetricName"] == metric:
            dimensions = {dimension["Name"]: dimension["Value"] for dimension in properties["Dimensions"]}
            # The dimensions the scheduled function writes, exactly: an alarm on any other set sees nothing.
            assert set(dimensions) == {"service", "Task"}
            assert dimensions["service"] == SERVICE_NAME
            alarms[dimensions["Task"]] = properties
    return alarms


def test_the_scheduled_tasks_in_the_template_are_those_the_function_runs():
    from functions.scheduled.handler import _TASKS

    assert set(_scheduled_tasks()) == set(_TASKS)


def test_every_scheduled_task_alarms_when_a_run_fails():
    alarms = _task_alarms(SCHEDULED_TASK_FAILED)
    assert set(alarms) == set(_scheduled_tasks())
    for properties in alarms.values():
        assert properties["Statistic"] == "Sum"
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["Threshold"] == 0
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_every_scheduled_task_alarms_when_it_has_not_succeeded_for_longer_than_its_schedule_allows():
    alarms = _task_alarms(SCHEDULED_TASK_SUCCEEDED)
    tasks = _scheduled_tasks()
    assert set(alarms) == set(tasks)
    for task, properties in alarms.items():
        # A task that stopped running writes nothing: missing data must count against it.
        assert properties["TreatMissingData"] == "breaching"
        assert properties["Statistic"] == "Sum"
        assert properties["ComparisonOperator"] == "LessThanThreshold"
        assert properties["Threshold"] == 1
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        # Every period of the window breaches: no success at all within it.
        periods = properties["EvaluationPeriods"]
        assert properties.get("DatapointsToAlarm", periods) == periods
        window = properties["Period"] * periods
        # Long enough for at least two runs to have been due (no alarm on a run's ordinary jitter)...
        assert window >= 2 * tasks[task] or window >= tasks[task] + 3600, task
        # ...and within CloudWatch's limits: one day for periods under an hour, seven days otherwise.
        assert window <= (86400 if properties["Period"] < 3600 else 7 * 86400), task


def test_a_failed_invocation_of_the_scheduled_function_alarms():
    [alarm] = [
        alarm["Properties"]
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/Lambda"
        and alarm["Properties"]["MetricName"] == "Errors"
        and alarm["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ScheduledFunction"}}]
    ]
    assert alarm["MetricName"] == "Errors"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_every_table_is_used_by_some_function():
    # A table no function may read or write only costs money and misleads readers of the template.
    granted = set()
    for function in functions().values():
        for policy in function["Properties"].get("Policies", []):
            if isinstance(policy, dict):
                for name, arguments in policy.items():
                    if name.startswith("DynamoDB") and isinstance(arguments, dict):
                        granted.add(arguments["TableName"]["Ref"])
    assert set(resources("AWS::DynamoDB::Table")) <= granted


# SnapStart serves published versions only, and not with more than 512 MB of /tmp, provisioned
# concurrency or EFS.
SNAPSTART_EPHEMERAL_LIMIT_MB = 512


def _function_setting(name: str, key: str):
    return functions()[name]["Properties"].get(key, template()["Globals"]["Function"].get(key))


@pytest.mark.parametrize("name", sorted(functions()))
def test_every_function_is_served_through_its_published_alias(name):
    # Given a function of the template
    # When its alias setting is read (its own, or the Globals')
    # Then a version is published on each deploy and every event source and API integration uses the alias
    assert _function_setting(name, "AutoPublishAlias") == "live"


@pytest.mark.parametrize("name", sorted(functions()))
def test_snapstart_is_on_wherever_the_function_allows_it(name):
    # Given a function and what SnapStart cannot serve
    properties = functions()[name]["Properties"]
    ephemeral_mb = int((properties.get("EphemeralStorage") or {}).get("Size", 512))
    cannot = (
        ephemeral_mb > SNAPSTART_EPHEMERAL_LIMIT_MB
        or "ProvisionedConcurrencyConfig" in properties
        or "FileSystemConfigs" in properties
    )

    # When its SnapStart setting is read (its own over the Globals')
    apply_on = {**(template()["Globals"]["Function"].get("SnapStart") or {}), **(properties.get("SnapStart") or {})}

    # Then SnapStart is on unless the function needs something SnapStart cannot serve
    assert apply_on.get("ApplyOn") == ("None" if cannot else "PublishedVersions")


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


@pytest.mark.parametrize("layer", ["VideoLayer", "ProvenanceLayer"])
def test_only_the_functions_that_finish_jobs_load_the_media_layers(layer):
    # The worker and the scheduled sweep (which finishes overdue jobs and screens older items)
    # decode video with PyAV and sign with c2pa-python; no other function carries that weight.
    loaders = sorted(
        name for name, function in functions().items() if {"Ref": layer} in function["Properties"].get("Layers", [])
    )
    assert loaders == ["ScheduledFunction", "WorkerFunction"]


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
