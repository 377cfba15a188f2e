"""The template is valid, follows the platform's operational rules, and agrees with the code."""

import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint import api as cfnlint_api

from atelier.observability import SCHEDULED_TASK_FAILED, SCHEDULED_TASK_SUCCEEDED, SERVICE_NAME
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
