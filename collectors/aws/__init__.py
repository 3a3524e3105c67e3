"""The built-in ``aws`` collector: accounts, storage, logging and the SageMaker model life cycle.

boto3 and the collector's service modules are imported only when a collection runs, so loading the plugin
(``annexa --help``, ``annexa plugins``, ``annexa rules check``) stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from annexa.collectors.aws.accounts import account_scopes
from annexa.collectors.aws.schema import CONFIG_SCHEMA, KINDS, NAME, VERSION
from annexa.plugins import CollectorSpec, hookimpl

if TYPE_CHECKING:
    from annexa.collectors.aws.collector import AwsCollector

__all__ = ["CONFIG_SCHEMA", "KINDS", "AwsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds=KINDS,
        config_schema=CONFIG_SCHEMA,
        factory=_collector,
        description="AWS accounts: IAM, S3, CloudTrail, CloudWatch Logs, KMS, Config, SageMaker, Bedrock.",
        scopes=account_scopes,
    )


def _collector() -> AwsCollector:
    from annexa.collectors.aws.collector import AwsCollector

    return AwsCollector()


def __getattr__(name: str) -> Any:
    if name == "AwsCollector":
        from annexa.collectors.aws.collector import AwsCollector

        return AwsCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
