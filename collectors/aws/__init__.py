"""The built-in ``aws`` collector: accounts, storage, logging and the SageMaker model life cycle.

boto3 is imported only when a collection runs, so loading the plugin (``annexa --help``,
``annexa plugins``) stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator

from annexa.collectors.aws.accounts import account_scopes
from annexa.collectors.aws.collector import NAME, VERSION, AwsCollector
from annexa.collectors.aws.schema import CONFIG_SCHEMA, KINDS
from annexa.plugins import CollectorSpec, hookimpl

__all__ = ["CONFIG_SCHEMA", "KINDS", "AwsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds=KINDS,
        config_schema=CONFIG_SCHEMA,
        factory=AwsCollector,
        description="AWS accounts: IAM, S3, CloudTrail, CloudWatch Logs, KMS, Config, SageMaker, Bedrock.",
        scopes=account_scopes,
    )
