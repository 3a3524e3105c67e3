"""Several accounts: roles assumed per account, the accounts of an Organization, and accounts that
cannot be reached (a gap for that account, the others still collected)."""

from __future__ import annotations

import json
from collections.abc import Callable

from .awskit import ACCOUNT, Collected, client

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
