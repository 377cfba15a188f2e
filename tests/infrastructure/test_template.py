"""The template is valid, follows the platform's operational rules, and agrees with the code."""

import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint import api as cfnlint_api

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
    from atelier.settings import Settings

    every_provider = Settings.model_fields["payment_providers"].default_factory()  # type: ignore[call-arg,misc]
    alarm = resources("AWS::CloudWatch::Alarm")["UnmatchedPaymentAlarm"]["Properties"]
    watched = [
        {dimension["Name"]: dimension["Value"] for dimension in query["MetricStat"]["Metric"]["Dimensions"]}
        for query in alarm["Metrics"]
        if "MetricStat" in query and query["MetricStat"]["Metric"]["MetricName"] == "UnmatchedPayment"
    ]
    assert watched == [{"service": "atelier", "provider": provider} for provider in every_provider]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["Threshold"] == 0
