"""Creates the template's tables, queues, buckets and email identities in the emulator.

Everything is read from the template: adding a table, queue or bucket there is all it takes for
the local runtime to create it. Creation is idempotent, so provisioning an emulator that already
holds the resources (moto's state is process-wide) changes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from local.emulator import emulator_client
from local.template import REGION, Template

logger = logging.getLogger(__name__)

# CloudFormation's AWS::SQS::Queue properties that are queue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


@dataclass
class ProvisionedResources:
    """Physical names of what was created, for the start-up banner."""

    tables: list[str] = field(default_factory=list)
    queues: dict[str, str] = field(default_factory=dict)  # name -> URL
    buckets: list[str] = field(default_factory=list)
    email_identities: list[str] = field(default_factory=list)


def provision(template: Template, endpoint_url: str) -> ProvisionedResources:
    created = ProvisionedResources()
    dynamodb = emulator_client("dynamodb", endpoint_url)
    for logical_id in template.logical_ids("AWS::DynamoDB::Table"):
        created.tables.append(_create_table(dynamodb, template, logical_id))
    for logical_id in template.logical_ids("AWS::Serverless::SimpleTable"):
        created.tables.append(_create_simple_table(dynamodb, template, logical_id))

    sqs = emulator_client("sqs", endpoint_url)
    # A queue's redrive policy names its dead-letter queue, which must exist first.
    for logical_id in template.in_dependency_order(template.logical_ids("AWS::SQS::Queue")):
        name, url = _create_queue(sqs, template, logical_id)
        created.queues[name] = url

    s3 = emulator_client("s3", endpoint_url)
    for logical_id in template.logical_ids("AWS::S3::Bucket"):
        created.buckets.append(_create_bucket(s3, template, logical_id))

    sesv2 = emulator_client("sesv2", endpoint_url)
    for logical_id in template.logical_ids("AWS::SES::EmailIdentity"):
        created.email_identities.append(_create_email_identity(sesv2, template, logical_id))
    return created


# -- DynamoDB --------------------------------------------------------------------------------
def _create_table(dynamodb: Any, template: Template, logical_id: str) -> str:
    properties = template.resource(logical_id).properties
    name = template.physical_name(logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = properties.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [_index(index) for index in properties["GlobalSecondaryIndexes"]]
    if properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [_index(index) for index in properties["LocalSecondaryIndexes"]]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))}

    if not _create(lambda: dynamodb.create_table(**request), "ResourceInUseException"):
        return name
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        # moto records the TTL attribute but never expires items (see DESIGN.md, emulator gaps).
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    logger.info("table created: %s", name)
    return name


def _create_simple_table(dynamodb: Any, template: Template, logical_id: str) -> str:
    properties = template.resource(logical_id).properties
    name = template.physical_name(logical_id)
    key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    request = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": attribute_type}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    _create(lambda: dynamodb.create_table(**request), "ResourceInUseException")
    return name


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in index.items() if key in _INDEX_KEYS}


# -- SQS -------------------------------------------------------------------------------------
def _create_queue(sqs: Any, template: Template, logical_id: str) -> tuple[str, str]:
    properties = template.resource(logical_id).properties
    name = template.physical_name(logical_id)
    attributes = {key: _queue_attribute(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    logger.info("queue created: %s", name)
    return name, url


def _queue_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# -- S3 --------------------------------------------------------------------------------------
def _create_bucket(s3: Any, template: Template, logical_id: str) -> str:
    properties = template.resource(logical_id).properties
    name = template.physical_name(logical_id)
    request: dict[str, Any] = {"Bucket": name}
    if REGION != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": REGION}
    if not _create(lambda: s3.create_bucket(**request), "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        return name

    # The settings below shape how the bucket behaves; moto accepts them but enforces few
    # (it never expires objects), so a setting moto rejects is reported and skipped.
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        _configure(
            name,
            "versioning",
            lambda: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]}),
        )
    encryption = properties.get("BucketEncryption")
    if encryption:
        _configure(
            name,
            "encryption",
            lambda: s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [_encryption_rule(rule) for rule in encryption["ServerSideEncryptionConfiguration"]]
                },
            ),
        )
    cors = properties.get("CorsConfiguration")
    if cors:
        _configure(
            name,
            "cors",
            lambda: s3.put_bucket_cors(
                Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(rule) for rule in cors["CorsRules"]]}
            ),
        )
    lifecycle = properties.get("LifecycleConfiguration")
    if lifecycle:
        _configure(
            name,
            "lifecycle",
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]}
            ),
        )
    logger.info("bucket created: %s", name)
    return name


def _encryption_rule(rule: dict[str, Any]) -> dict[str, Any]:
    renamed = {"ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    renamed = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's flattened lifecycle rule in the S3 API's nested shape."""
    converted: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"]}
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters", [])]
    if len(tags) == 1 and not rule.get("Prefix"):
        converted["Filter"] = {"Tag": tags[0]}
    elif tags:
        converted["Filter"] = {"And": {"Prefix": rule.get("Prefix", ""), "Tags": tags}}
    else:
        converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = rule["ExpirationInDays"]
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        converted["Expiration"] = expiration
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpirationInDays" in rule:
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    if "Transitions" in rule:
        converted["Transitions"] = [
            {"Days": transition["TransitionInDays"], "StorageClass": transition["StorageClass"]}
            for transition in rule["Transitions"]
            if "TransitionInDays" in transition
        ]
    return converted


# -- SES -------------------------------------------------------------------------------------
def _create_email_identity(sesv2: Any, template: Template, logical_id: str) -> str:
    # The emulator, like SES in the sandbox, only sends from verified identities; moto verifies at once.
    identity = str(template.resource(logical_id).properties["EmailIdentity"])
    if _create(lambda: sesv2.create_email_identity(EmailIdentity=identity), "AlreadyExistsException"):
        logger.info("email identity created: %s", identity)
    return identity


# -- helpers ---------------------------------------------------------------------------------
def _create(call: Any, *already_exists_codes: str) -> bool:
    """Runs a create call; False when the resource already existed."""
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in already_exists_codes:
            return False
        raise
    return True


def _configure(bucket: str, setting: str, call: Any) -> None:
    try:
        call()
    except (ClientError, ParamValidationError) as exc:
        logger.warning("bucket %s: %s setting skipped (%s)", bucket, setting, exc)
