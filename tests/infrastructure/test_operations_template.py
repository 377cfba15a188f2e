"""The template pages a person on what matters, protects the API, and deploys safely."""

import json
import re

import pytest

from atelier import observability
from tests.support.template import TEMPLATE_PATH, functions, resources, template

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
QUEUE_CONSUMERS = {"WorkerFunction", "ExporterFunction", "NoticesFunction"}


def alarms() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for kind in ALARM_TYPES:
        found.update({name: body["Properties"] for name, body in resources(kind).items()})
    return found


def metric_alarms_on(namespace: str, metric: str) -> dict[str, dict]:
    """Alarms that watch the metric directly or inside their metric math."""
    found = {}
    for name, alarm in alarms().items():
        watched = [(alarm.get("Namespace"), alarm.get("MetricName"))]
        for query in alarm.get("Metrics", []):
            if "MetricStat" in query:
                stat_metric = query["MetricStat"]["Metric"]
                watched.append((stat_metric["Namespace"], stat_metric["MetricName"]))
        if (namespace, metric) in watched:
            found[name] = alarm
    return found


def function_alarm(function: str, metric: str) -> dict:
    [alarm] = [
        alarm
        for alarm in metric_alarms_on("AWS/Lambda", metric).values()
        if alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    ]
    return alarm


@pytest.mark.parametrize("name", sorted(alarms()))
def test_every_alarm_notifies_the_one_alarm_topic(name):
    assert alarms()[name]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("name", sorted(alarms()))
def test_every_alarm_says_what_it_means(name):
    # Given the alarm's description, which is what the page shows
    description = alarms()[name]["AlarmDescription"]
    # Then it is a sentence an operator can act on
    assert len(description) > 30


@pytest.mark.parametrize("name", sorted(resources("AWS::CloudWatch::Alarm")))
def test_every_metric_math_alarm_returns_one_series_and_stays_within_the_limit(name):
    alarm = alarms()[name]
    if "Metrics" not in alarm:
        return
    assert [query["Id"] for query in alarm["Metrics"] if query["ReturnData"]] == [alarm["Metrics"][0]["Id"]]
    # CloudWatch takes at most 10 metric queries in one alarm.
    assert len(alarm["Metrics"]) <= 10
    ids = {query["Id"] for query in alarm["Metrics"][1:]}
    used = set(re.findall(r"[a-z][a-z0-9_]*", alarm["Metrics"][0]["Expression"])) - {"if", "fill"}
    assert used == ids


@pytest.mark.parametrize("function", sorted(functions()))
def test_every_function_pages_on_errors_throttles_and_a_duration_near_its_timeout(function):
    # Given the function's timeout (its own or the global one)
    timeout = functions()[function]["Properties"].get("Timeout", template()["Globals"]["Function"]["Timeout"])
    # Then its errors and throttles are alarmed, and its p99 duration at 80% of the timeout
    assert function_alarm(function, "Errors")["Threshold"] >= 0
    assert function_alarm(function, "Throttles")["ComparisonOperator"] == "GreaterThanThreshold"
    duration = function_alarm(function, "Duration")
    assert duration["ExtendedStatistic"] == "p99"
    assert duration["Threshold"] == timeout * 1000 * 0.8


def test_the_api_pages_on_its_5xx_rate_and_p99_latency():
    rate = alarms()["ApiServerErrorRateAlarm"]
    assert {q["MetricStat"]["Metric"]["MetricName"] for q in rate["Metrics"][1:]} == {"Count", "5XXError"}
    assert rate["Threshold"] == 5
    latency = alarms()["ApiLatencyAlarm"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == ("Latency", "p99", 3000)


def test_every_queue_pages_when_its_dead_letter_queue_is_not_empty_and_when_it_ages():
    queues = resources("AWS::SQS::Queue")
    dead_letter = {q for q, body in queues.items() if "RedrivePolicy" not in body["Properties"]}
    sources = set(queues) - dead_letter
    watched_visible = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in metric_alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible").values()
        if alarm["Threshold"] == 0
    }
    watched_age = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in metric_alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage").values()
    }
    assert dead_letter
    assert dead_letter <= watched_visible
    assert sources
    assert sources <= watched_age


@pytest.mark.parametrize("table", sorted(resources("AWS::DynamoDB::Table")))
def test_every_table_pages_on_throttles_and_system_errors(table):
    def watches_table(alarm):
        return all(
            {"Name": "TableName", "Value": {"Ref": table}} in q["MetricStat"]["Metric"]["Dimensions"]
            for q in alarm["Metrics"][1:]
        )

    assert any(watches_table(a) for a in metric_alarms_on("AWS/DynamoDB", "ReadThrottleEvents").values())
    assert any(watches_table(a) for a in metric_alarms_on("AWS/DynamoDB", "WriteThrottleEvents").values())
    assert any(watches_table(a) for a in metric_alarms_on("AWS/DynamoDB", "SystemErrors").values())


@pytest.mark.parametrize(
    "metric",
    ["AccountsPastPurgeTime", "ExportsFailed", "WebhookSignatureFailures", "ProviderErrors", "UnmatchedPayment"],
)
def test_business_failures_page_a_person(metric):
    assert metric_alarms_on("Atelier", metric)


def test_the_business_metrics_alarmed_on_are_the_ones_the_code_emits():
    for metric in (
        "AccountsPastPurgeTime",
        "ExportsFailed",
        "WebhookSignatureFailures",
        "ProviderErrors",
        "ProviderCalls",
    ):
        assert metric in observability.BUSINESS_METRICS


def test_email_reputation_pages_before_ses_reviews_the_account():
    bounce = metric_alarms_on("AWS/SES", "Reputation.BounceRate")
    complaint = metric_alarms_on("AWS/SES", "Reputation.ComplaintRate")
    assert [a["Threshold"] for a in bounce.values()] == [0.04]
    assert [a["Threshold"] for a in complaint.values()] == [0.0008]


def test_the_platform_unhealthy_composite_names_only_existing_alarms():
    rule = alarms()["PlatformUnhealthyAlarm"]["AlarmRule"]["Fn::Sub"]
    named = re.findall(r'ALARM\("\$\{(\w+)\}"\)', rule)
    assert "ApiServerErrorRateAlarm" in named
    assert set(named) <= set(resources("AWS::CloudWatch::Alarm"))


def test_alarm_email_is_required_for_staging_and_prod():
    rule = template()["Rules"]["AlarmEmailRequiredForStagingAndProd"]
    assert rule["RuleCondition"] == {
        "Fn::Or": [{"Fn::Equals": [{"Ref": "Stage"}, "staging"]}, {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}]
    }
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_the_web_acl_guards_the_api_stage_with_managed_rules_and_a_rate_limit():
    [acl_name] = [
        name for name, acl in resources("AWS::WAFv2::WebACL").items() if acl["Properties"]["Scope"] == "REGIONAL"
    ]
    acl = resources("AWS::WAFv2::WebACL")[acl_name]["Properties"]
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    [rate] = [r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["AggregateKeyType"] == "IP"
    [association] = resources("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_name, "Arn"]}
    assert "/restapis/${Api}/stages/${Api.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_the_web_distribution_has_the_same_rules_in_a_cloudfront_web_acl_where_it_can():
    # Given the template's web ACLs
    acls = resources("AWS::WAFv2::WebACL")
    web_acl = acls["WebDistributionWebAcl"]
    # Then the distribution's ACL is CLOUDFRONT-scoped, created only in us-east-1 (the one region
    # allowing that scope), has the API's rules, and the distribution uses it there
    assert web_acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert web_acl["Condition"] == "IsUsEast1"
    assert template()["Conditions"]["IsUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert web_acl["Properties"]["Rules"] == acls["ApiWebAcl"]["Properties"]["Rules"]
    distribution = template()["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    assert distribution["WebACLId"] == {
        "Fn::If": ["IsUsEast1", {"Fn::GetAtt": ["WebDistributionWebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }


def test_api_access_logs_carry_no_address_and_are_kept_30_days():
    api = template()["Resources"]["Api"]["Properties"]
    setting = api["AccessLogSetting"]
    log_format = setting["Format"]
    assert "sourceIp" not in log_format
    assert "userAgent" not in log_format
    assert "X-Forwarded-For" not in log_format
    assert "$context.requestId" in log_format
    group = template()["Resources"][setting["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Properties"]["RetentionInDays"] == 30


def test_method_throttling_is_set_per_stage():
    [method] = template()["Resources"]["Api"]["Properties"]["MethodSettings"]
    assert method["ThrottlingRateLimit"] == {"Fn::FindInMap": ["StageThrottling", {"Ref": "Stage"}, "RateLimit"]}
    stages = template()["Parameters"]["Stage"]["AllowedValues"]
    assert set(template()["Mappings"]["StageThrottling"]) == set(stages)


@pytest.mark.parametrize("function", sorted(QUEUE_CONSUMERS))
def test_queue_consumers_reserve_their_concurrency_from_a_parameter(function):
    properties = functions()[function]["Properties"]
    _condition, value, _none = properties["ReservedConcurrentExecutions"]["Fn::If"]
    assert value["Ref"] in template()["Parameters"]
    [event] = properties["Events"].values()
    assert event["Properties"]["ScalingConfig"]["Fn::If"][1] == {"MaximumConcurrency": value}


def test_every_function_is_published_through_an_alias_and_deployed_with_a_preference():
    function_globals = template()["Globals"]["Function"]
    assert function_globals["AutoPublishAlias"] == "live"
    assert function_globals["DeploymentPreference"]["Type"] == "Canary10Percent5Minutes"
    assert {"Ref": "ApiServerErrorRateAlarm"} in function_globals["DeploymentPreference"]["Alarms"]
    for name, function in functions().items():
        own = function["Properties"].get("DeploymentPreference")
        consumer = not any(event["Type"] == "Api" for event in function["Properties"]["Events"].values())
        if consumer:
            assert own["Type"] == "AllAtOnce", name
            assert own["Alarms"] == [{"Ref": f"{name}ErrorsAlarm"}], name
        else:
            assert own is None, name


def test_the_dashboard_covers_traffic_queues_jobs_money_privacy_and_email():
    [dashboard] = resources("AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"].replace("${", "{"))
    titles = " | ".join(w["properties"].get("title", w["properties"].get("markdown", "")) for w in body["widgets"])
    for topic in ("Traffic", "Queues", "Jobs", "Money", "Privacy", "Email"):
        assert topic in titles
    series = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    metrics = {m[1] for m in series if isinstance(m[1], str)}
    custom = {m[1] for m in series if m[0] == "Atelier"}
    assert custom <= set(observability.BUSINESS_METRICS) | {
        observability.SCHEDULED_TASK_FAILED,
        observability.SCHEDULED_TASK_SUCCEEDED,
        "UnmatchedPayment",
    }
    assert "ApproximateAgeOfOldestMessage" in metrics


def test_every_runbook_section_an_alarm_names_exists():
    # Given the runbook's section headings
    runbook = (TEMPLATE_PATH.parent / "docs" / "runbook.md").read_text()
    headings = {line.lstrip("#").strip().split(" (`")[0] for line in runbook.splitlines() if line.startswith("#")}
    # Then every section an alarm's description points to is there
    named = {
        section
        for alarm in alarms().values()
        for section in re.findall(r'runbook "([^"]+)"', str(alarm["AlarmDescription"]))
    }
    assert named
    assert named <= headings


def test_the_runbook_has_a_section_for_every_alarm():
    runbook = (TEMPLATE_PATH.parent / "docs" / "runbook.md").read_text()
    for name in alarms():
        described = re.search(r'runbook "([^"]+)"', str(alarms()[name]["AlarmDescription"]))
        assert described or name.removesuffix("Alarm") in runbook or name in runbook, name
