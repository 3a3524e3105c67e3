"""The ``aws`` collector: (account, region, kind) tasks on a bounded thread pool.

Each task lists one kind in one account and region; per-resource calls come back as follow-up tasks
for the same pool, so nothing waits on a nested pool and the number of concurrent calls never exceeds
``max_workers``. A task whose calls fail (access denied, a service not enabled in the region, a
timeout after botocore's adaptive retries) reports a gap for its kind and scope, naming the denied
action; everything else is still collected, and no rule over that kind can pass on the partial view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue

from annexa.collectors.aws import bedrock, cloudtrail, configservice, iam, kms, logs, s3, sagemaker
from annexa.collectors.aws import schema as k
from annexa.collectors.aws.accounts import Account, Clients, resolve
from annexa.collectors.aws.calls import GRANT_HINT, AwsCallError
from annexa.collectors.aws.limits import shared_limits
from annexa.collectors.aws.scope import Batch, Scope, Task
from annexa.model.evidence import Evidence
from annexa.plugins import CollectorError, CollectRequest

DEFAULT_REGIONS = ("us-east-1",)


@dataclass(frozen=True, slots=True)
class Job:
    """How one kind is collected: the function that fills a batch, and whether it is per region."""

    kind: str
    run: Callable[[Batch], None]
    regional: bool = True


JOBS: tuple[Job, ...] = (
    Job(k.ACCOUNT, iam.collect_account, regional=False),
    Job(k.IAM_ROLE, iam.collect_roles, regional=False),
    Job(k.S3_BUCKET, s3.collect_buckets),
    Job(k.CLOUDTRAIL_TRAIL, cloudtrail.collect_trails),
    Job(k.CLOUDTRAIL_ACTIVITY, cloudtrail.collect_activity),
    Job(k.LOG_GROUP, logs.collect_log_groups),
    Job(k.KMS_KEY, kms.collect_keys),
    Job(k.CONFIG_RECORDER, configservice.collect_recorders),
    Job(k.CONFIG_RULE, configservice.collect_rules),
    Job(k.SAGEMAKER_MODEL, sagemaker.collect_models),
    Job(k.SAGEMAKER_MODEL_PACKAGE, sagemaker.collect_model_packages),
    Job(k.SAGEMAKER_MODEL_CARD, sagemaker.collect_model_cards),
    Job(k.SAGEMAKER_ENDPOINT, sagemaker.collect_endpoints),
    Job(k.SAGEMAKER_MONITORING_SCHEDULE, sagemaker.collect_monitoring_schedules),
    Job(k.SAGEMAKER_TRAINING_JOB, sagemaker.collect_training_jobs),
    Job(k.SAGEMAKER_NOTEBOOK, sagemaker.collect_notebooks),
    Job(k.BEDROCK_GUARDRAIL, bedrock.collect_guardrails),
    Job(k.BEDROCK_INVOCATION_LOGGING, bedrock.collect_invocation_logging),
)


class AwsCollector:
    """Reads AWS accounts with boto3; judges nothing."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        jobs = [job for job in JOBS if not request.kinds or job.kind in request.kinds]
        if not jobs:
            return
        try:
            import boto3  # noqa: F401  (imported here so that `annexa --help` never loads it)
        except ImportError as exc:  # pragma: no cover - boto3 is a dependency; kept for slim installs
            raise CollectorError(
                "boto3 is not installed", hint="pip install boto3 (an annexa dependency)"
            ) from exc
        settings = request.config
        with shared_limits(settings, request.now) as limits:
            clients = Clients(settings, limits)
            try:
                yield from self._collect(request, jobs, clients)
            finally:  # what this task called and how often it was throttled: the scan's figures
                for name, value in clients.figures.figures(limits).items():
                    request.report_figure(name, value)

    def _collect(self, request: CollectRequest, jobs: list[Job], clients: Clients) -> Iterator[Evidence]:
        settings = request.config
        accounts, unreachable = resolve(settings, clients)
        for failed in unreachable:
            for job in jobs:
                request.report_gap(job.kind, f"{failed.account_id}/*", failed.message)
        if not accounts:
            reasons = "; ".join(f.message for f in unreachable)
            raise CollectorError(f"no AWS account could be reached: {reasons}", hint=GRANT_HINT)
        regions = tuple(settings.get("regions") or DEFAULT_REGIONS)
        tasks = [
            Task(_scope(account, region, clients, request), job.kind, job.run)
            for account in accounts
            for job in jobs
            for region in (regions if job.regional else (k.GLOBAL_REGION,))
        ]
        yield from _run(tasks, int(settings.get("max_workers", 16)), request)


def _scope(account: Account, region: str, clients: Clients, request: CollectRequest) -> Scope:
    # IAM, Organizations and the account API are global; their calls go to the first region's endpoint.
    api_region = (
        region if region != k.GLOBAL_REGION else str((request.config.get("regions") or DEFAULT_REGIONS)[0])
    )
    return Scope(
        account_id=account.account_id,
        region=region,
        client=lambda service: clients.get(account, api_region, service),
        fields=request.fields,
        now=request.now,
        settings=request.config,
    )


def _run(tasks: list[Task], workers: int, request: CollectRequest) -> Iterator[Evidence]:
    """Run tasks and their follow-ups on one bounded pool, yielding items as batches finish.

    Finished batches arrive on a queue (not ``wait(FIRST_COMPLETED)``, which rescans every pending
    future each time and turns thousands of per-resource follow-ups quadratic).
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="annexa-aws")
    finished: SimpleQueue[Future[Batch]] = SimpleQueue()

    def submit(task: Task) -> None:
        pool.submit(_execute, task).add_done_callback(finished.put)

    try:
        for task in tasks:
            submit(task)
        outstanding = len(tasks)
        while outstanding:
            batch = finished.get().result()
            outstanding -= 1
            for followup in batch.followups:
                submit(followup)
            outstanding += len(batch.followups)
            for gap in batch.gaps:
                request.report_gap(gap.kind, batch.scope.label, gap.message)
            for item in batch.items:
                yield Evidence(
                    kind=item.kind,
                    source=item.arn,
                    scope={"account": batch.scope.account_id, "region": batch.scope.region},
                    collector=f"{k.NAME} {k.VERSION}",
                    collected_at=request.now,
                    data=item.data,
                )
    finally:
        # A consumer that stops early (or an error) must not leave calls running behind it.
        pool.shutdown(wait=True, cancel_futures=True)


def _execute(task: Task) -> Batch:
    batch = Batch(task.scope, task.kind)
    try:
        task.run(batch)
    except AwsCallError as exc:
        batch.gap(exc.message)
    except Exception as exc:  # one malformed answer must not sink the other accounts and kinds
        batch.gap(f"unexpected {type(exc).__name__} while collecting: {exc}")
    return batch
