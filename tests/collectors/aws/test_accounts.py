"""Several accounts: roles assumed per account, the accounts of an Organization, and accounts that
cannot be reached (a gap for that account, the others still collected)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from annexa.app.executors import LocalExecutor
from annexa.app.scan import collect, collection_tasks
from annexa.app.wiring import make_host
from annexa.plugins import CollectorSpec
from annexa.plugins.config import load_config

from .awskit import ACCOUNT, NOW, REGION, CallLog, Collected, client

SECOND, THIRD = "222222222222", "333333333333"
BUCKETS = "aws.s3_bucket"


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/annexa-audit"


def test_each_account_is_read_through_its_assumed_role(
    aws_env: str, collect: Callable[..., Collected]
) -> None:
    client("s3", account=SECOND).create_bucket(Bucket="second-account-data")
    client("s3", account=THIRD).create_bucket(Bucket="third-account-data")
    run = collect({"accounts": [{"role_arn": role(SECOND)}, {"role_arn": role(THIRD)}]}, kinds=[BUCKETS])
    assert run.gaps() == []
    owners = {item.data["name"]: (item.data["account_id"], item.scope["account"]) for item in run.evidence}
    assert owners == {"second-account-data": (SECOND, SECOND), "third-account-data": (THIRD, THIRD)}


def test_organization_accounts_are_listed_and_excluded(
    aws_env: str, collect: Callable[..., Collected]
) -> None:
    organizations = client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(Email="ml@example.com", AccountName="ml")["CreateAccountStatus"][
        "AccountId"
    ]
    skipped = organizations.create_account(Email="x@example.com", AccountName="sandbox")[
        "CreateAccountStatus"
    ]
    entry = {"organization": True, "role_arn": role("{account_id}"), "exclude": [skipped["AccountId"]]}
    # Only the account itself: no rule reads a setting, so no IAM call is made for it.
    run = collect({"accounts": [entry]}, kinds=["aws.account"], fields={"aws.account": frozenset()})
    assert run.gaps() == []
    assert {item.data["account_id"] for item in run.evidence} == {ACCOUNT, member}


def test_an_unreachable_account_is_a_gap_for_every_kind(
    aws_env: str, collect: Callable[..., Collected]
) -> None:
    client("s3", account=SECOND).create_bucket(Bucket="second-account-data")
    accounts = [
        {"role_arn": role(SECOND)},
        {"role_arn": role(THIRD), "external_id_env": "ANNEXA_TEST_NO_SUCH_VAR"},
    ]
    run = collect({"accounts": accounts}, kinds=[BUCKETS, "aws.log_group"])
    assert {item.data["name"] for item in run.of(BUCKETS).values()} == {"second-account-data"}
    gaps = run.gaps()
    assert [(kind, scope) for kind, scope, _ in gaps] == [
        ("aws.log_group", f"{THIRD}/*"),
        (BUCKETS, f"{THIRD}/*"),
    ]
    assert "ANNEXA_TEST_NO_SUCH_VAR is not set" in gaps[0][2]


def test_no_reachable_account_fails_the_collector(aws_env: str, collect: Callable[..., Collected]) -> None:
    run = collect({"accounts": [{"account_id": SECOND}]}, kinds=[BUCKETS])
    assert [p.code for p in run.problems] == ["collection_gap", "collector_error"]
    error = run.problems[-1]
    assert f"the current credentials are for account {ACCOUNT}, not {SECOND}" in error.message
    assert error.kinds == (BUCKETS,)


def test_role_reach_is_computed_only_when_read(aws_env: str, collect: Callable[..., Collected]) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    client("iam").create_role(RoleName="trainer", AssumeRolePolicyDocument=trust)
    run = collect(kinds=["aws.iam_role"], fields={"aws.iam_role": frozenset({"trusted_services"})})
    assert run.problems == ()
    role = run.data(f"arn:aws:iam::{ACCOUNT}:role/trainer")
    assert role["trusted_services"] == ["sagemaker.amazonaws.com"]
    assert "can_reach" not in role


def test_an_organization_needs_a_role_to_assume(aws_env: str, collect: Callable[..., Collected]) -> None:
    run = collect({"accounts": [{"organization": True}]}, kinds=[BUCKETS])
    assert [p.code for p in run.problems] == ["collector_error"]
    assert "needs a role_arn" in run.problems[0].message
    assert "{account_id}" in (run.problems[0].hint or "")


def test_listed_accounts_are_separate_tasks_and_an_unreachable_one_leaves_only_a_gap(
    aws_env: str, tmp_path: Path
) -> None:
    """Each listed account is a task of its own (Dask spreads them over workers); an account that
    cannot be reached fails its task, which leaves a gap in the kinds instead of dropping the others."""
    client("s3", account=SECOND).create_bucket(Bucket="second-account-data")
    client("s3", account=THIRD).create_bucket(Bucket="third-account-data")
    accounts = [
        {"role_arn": role(SECOND)},
        {"role_arn": role(THIRD)},
        {"account_id": "444444444444"},  # not the account of the credentials, and no role to reach it
    ]
    host = make_host()
    path = tmp_path / "annexa.yaml"
    block = {"accounts": accounts, "regions": [REGION], "max_attempts": 1}
    path.write_text(yaml.safe_dump({"version": 1, "collectors": {"aws": block}}), encoding="utf-8")
    config = load_config(path, host)
    planned = {"aws": frozenset({BUCKETS})}
    tasks = collection_tasks(config, host.collectors(), planned, now=NOW)
    assert sorted(task.scope for task in tasks) == [SECOND, THIRD, "444444444444"]
    assert all(len(task.config["accounts"]) == 1 for task in tasks)
    collection = collect(config, host, planned, now=NOW, executor=LocalExecutor(max_workers=3))
    assert {e.data["name"] for e in collection.evidence} == {"second-account-data", "third-account-data"}
    assert collection.collected == {BUCKETS: None}
    (reason,) = collection.gaps[BUCKETS]
    assert reason.startswith("aws 444444444444/*:")
    assert f"the current credentials are for account {ACCOUNT}, not 444444444444" in reason
    assert [run.collector for run in collection.runs] == ["aws"]


def test_an_organization_stays_one_task(aws_env: str, aws_spec_module: CollectorSpec) -> None:
    split = aws_spec_module.scopes
    assert split is not None
    entry = {"organization": True, "role_arn": role("{account_id}")}
    assert split({"accounts": [entry, {"role_arn": role(SECOND)}]}) == ()
    assert split({"accounts": [{"role_arn": role(SECOND)}]}) == ()
    twice = split({"accounts": [{"role_arn": role(SECOND)}, {"role_arn": role(SECOND)}, {}]})
    assert [scope for scope, _ in twice] == [SECOND, "current credentials"]


def test_role_credentials_are_renewed_before_they_expire(
    aws_env: str, collect: Callable[..., Collected], call_log: CallLog
) -> None:
    """A 15-minute role session is inside botocore's renewal window from the start, so every call
    renews it: proof that a scan outlasting its role session never calls with expired keys."""
    client("s3", account=SECOND).create_bucket(Bucket="second-account-data")
    entry = {"role_arn": role(SECOND), "session_seconds": 900}
    run = collect({"accounts": [entry]}, kinds=[BUCKETS, "aws.log_group"])
    assert run.gaps() == []
    assert {item.data["name"] for item in run.of(BUCKETS).values()} == {"second-account-data"}
    renewals = [call for call in call_log.calls if call == ("sts", "AssumeRole")]
    assert len(renewals) >= 3  # the first assumption, then one per later API call
    call_log.calls.clear()
    collect({"accounts": [{"role_arn": role(SECOND)}]}, kinds=[BUCKETS, "aws.log_group"])
    assert call_log.calls.count(("sts", "AssumeRole")) == 1  # an hour-long session is not renewed
