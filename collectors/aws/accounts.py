"""Which accounts to scan and how to reach them: boto3 sessions per account, clients per region.

Credentials come from boto3's default chain (environment, profile, instance or task role) and from
``sts:AssumeRole``; the configuration names roles, never secrets, and no credential is ever logged or
put in a message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annexa.collectors.aws.calls import AwsCallError, call, every, refuse_malformed_body
from annexa.collectors.aws.limits import (
    DEFAULT_MAX_CALLS,
    DEFAULT_MAX_CALLS_PER_SERVICE,
    CallFigures,
    CallLimits,
    watch,
)
from annexa.plugins import CollectorError

SESSION_NAME = "annexa-scan"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    session: Any  # boto3.Session; a session is not thread-safe, so clients are made under a lock


@dataclass(frozen=True, slots=True)
class Unreachable:
    account_id: str  # or the role ARN when the id is not known
    message: str


class Clients:
    """boto3 clients per (account, region, service), made once and shared by the pool's threads
    (clients are thread-safe; sessions are not)."""

    def __init__(self, settings: Mapping[str, Any], limits: CallLimits | None = None) -> None:
        from botocore.config import Config

        # The scan's bounds on concurrent calls (shared with its other tasks), and this task's counts.
        self.limits = limits or CallLimits(
            int(settings.get("max_concurrent_calls", DEFAULT_MAX_CALLS)),
            int(settings.get("max_concurrent_calls_per_service", DEFAULT_MAX_CALLS_PER_SERVICE)),
        )
        self.figures = CallFigures()

        workers = int(settings.get("max_workers", 16))
        self._config = Config(
            connect_timeout=float(settings.get("connect_timeout_seconds", 10)),
            read_timeout=float(settings.get("read_timeout_seconds", 30)),
            retries={"mode": "adaptive", "max_attempts": int(settings.get("max_attempts", 6))},
            max_pool_connections=max(10, workers),
            user_agent_extra="annexa",
        )
        self._endpoint = settings.get("endpoint_url")
        self._lock = threading.Lock()
        self._made: dict[tuple[str, str, str], Any] = {}

    def get(self, account: Account, region: str, service: str) -> Any:
        key = (account.account_id, region, service)
        with self._lock:
            if key not in self._made:
                client = account.session.client(
                    service, region_name=region, config=self._config, endpoint_url=self._endpoint
                )
                client.meta.events.register("before-parse", refuse_malformed_body)
                watch(client, self.limits, self.figures)
                self._made[key] = client
            return self._made[key]


def account_scopes(settings: Mapping[str, Any]) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """Each listed account is a scope of its own, so an executor can spread accounts over workers.

    Accounts share nothing but the base credentials. A configuration with an Organization entry stays
    whole: its members are known only after a call, and one of them may also be listed by hand, which
    would then be collected twice.
    """
    entries = list(settings.get("accounts") or [{}])
    if len(entries) < 2 or any(entry.get("organization") for entry in entries):
        return ()
    scopes: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        name = (
            _account_of(str(entry["role_arn"]))
            if entry.get("role_arn")
            else str(entry.get("account_id") or "")
        )
        scopes.setdefault(name or "current credentials", {**settings, "accounts": [entry]})
    return tuple(scopes.items())


def resolve(settings: Mapping[str, Any], clients: Clients) -> tuple[list[Account], list[Unreachable]]:
    """The accounts of the configuration, each with a session; those that cannot be reached apart.

    :raises CollectorError: the base credentials are missing or rejected, or an organization cannot
        be listed: then no account can be scanned at all.
    """
    import boto3

    base = boto3.Session()
    home = next(iter(settings.get("regions") or [DEFAULT_REGION]))
    entries = list(settings.get("accounts") or [{}])
    accounts: dict[str, Account] = {}
    unreachable: list[Unreachable] = []
    caller: str | None = None
    for entry in entries:
        if entry.get("organization"):
            members = _organization_accounts(base, home, clients, entry)
            targets = [(member, str(entry["role_arn"]).replace("{account_id}", member)) for member in members]
        elif entry.get("role_arn"):
            targets = [(_account_of(str(entry["role_arn"])), str(entry["role_arn"]))]
        else:
            if caller is None:
                caller = _caller_account(base, home, clients)
            wanted = str(entry.get("account_id") or caller)
            if wanted != caller:
                unreachable.append(
                    Unreachable(
                        wanted,
                        f"the current credentials are for account {caller}, not {wanted}; set role_arn",
                    )
                )
            else:
                accounts.setdefault(caller, Account(caller, base))
            continue
        for account_id, role_arn in targets:
            if account_id in accounts:
                continue
            try:
                accounts[account_id] = _assume(base, home, clients, role_arn, entry)
            except AwsCallError as exc:
                unreachable.append(Unreachable(account_id, f"cannot assume {role_arn}: {exc.message}"))
    return sorted(accounts.values(), key=lambda a: a.account_id), unreachable


def _account_of(role_arn: str) -> str:
    return role_arn.split(":")[4]


def _base_client(base: Any, home: str, clients: Clients, service: str) -> Any:
    return clients.get(Account("base", base), home, service)


def _caller_account(base: Any, home: str, clients: Clients) -> str:
    try:
        identity = call(_base_client(base, home, clients, "sts"), "get_caller_identity")
    except AwsCallError as exc:
        if exc.code == "NoCredentialsError":
            raise CollectorError(
                "no AWS credentials found",
                hint="set AWS_PROFILE or the AWS_* environment variables, or run with an instance role",
            ) from exc
        raise CollectorError(f"cannot identify the AWS account of the credentials: {exc.message}") from exc
    return str(identity["Account"])


def _organization_accounts(base: Any, home: str, clients: Clients, entry: Mapping[str, Any]) -> list[str]:
    if not entry.get("role_arn"):
        raise CollectorError(
            "accounts: an entry with organization: true needs a role_arn to assume in each member account",
            hint='e.g. role_arn: "arn:aws:iam::{account_id}:role/annexa-audit"',
        )
    try:
        listed = every(_base_client(base, home, clients, "organizations"), "list_accounts", "Accounts")
    except AwsCallError as exc:
        raise CollectorError(
            f"cannot list the accounts of the AWS Organization: {exc.message}",
            hint="run from the management account or a delegated administrator, or list accounts by hand",
        ) from exc
    excluded = set(entry.get("exclude") or ())
    return sorted(
        str(a["Id"])
        for a in listed
        if str(a.get("State") or a.get("Status")) == "ACTIVE" and str(a["Id"]) not in excluded
    )


def _assume(base: Any, home: str, clients: Clients, role_arn: str, entry: Mapping[str, Any]) -> Account:
    """A session in the role's account whose credentials renew themselves before they expire.

    A scan of a large account can outlast the role session (one hour by default); botocore calls
    ``assume_role`` again from 15 minutes before expiry, so no call is ever made with expired keys.
    """
    import boto3
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME}
    if entry.get("session_seconds"):
        params["DurationSeconds"] = int(entry["session_seconds"])
    if entry.get("external_id_env"):
        external = os.environ.get(str(entry["external_id_env"]))
        if not external:
            raise AwsCallError(
                "sts:AssumeRole",
                "MissingExternalId",
                f"environment variable {entry['external_id_env']} is not set",
                denied=False,
                unavailable=False,
            )
        params["ExternalId"] = external
    sts = _base_client(base, home, clients, "sts")

    def fetch() -> dict[str, str]:
        credentials = call(sts, "assume_role", **params)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    renewing = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = get_session()
    core._credentials = renewing  # botocore has no public setter for a session's credentials
    return Account(_account_of(role_arn), boto3.Session(botocore_session=core))
