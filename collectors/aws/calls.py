"""One AWS API call at a time: the IAM action it needs, paginators drained, failures classified.

Every failure becomes an :class:`AwsCallError` that names the IAM action, so a denied permission is
reported as "grant s3:GetEncryptionConfiguration", not as a botocore traceback. Error codes that mean
"this setting was never configured" are not failures: :func:`call` returns ``None`` for them and the
caller records ``configured: false`` explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from annexa.collectors.aws.limits import call_slot

# Operations whose IAM action is not "<signing name>:<operation name>".
_ACTION_OVERRIDES: Final[Mapping[tuple[str, str], str]] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
}

_DENIED: Final = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
    }
)
# The service is off for this account or region (opt-in region, no subscription, no endpoint).
_UNAVAILABLE: Final = frozenset(
    {
        "OptInRequired",
        "SubscriptionRequiredException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "AuthFailure",
        "UnsupportedOperation",
        "UnknownOperationException",
    }
)

GRANT_HINT: Final = "add the action to the scanning role; collectors/aws/iam-policy.json lists all it needs"


class MalformedResponse(Exception):
    """A success answer whose body does not parse (see :func:`refuse_malformed_body`)."""


class AwsCallError(Exception):
    """An AWS call failed; ``message`` names the action and scope, ``denied`` tells a permission gap."""

    def __init__(self, action: str, code: str, detail: str, *, denied: bool, unavailable: bool) -> None:
        self.action = action
        self.code = code
        self.denied = denied
        self.unavailable = unavailable
        if denied:
            text = f"access denied to {action} ({code}); {GRANT_HINT}"
        elif unavailable:
            text = f"{action} is not available here ({code}: {detail})"
        else:
            text = f"{action} failed ({code}: {detail})"
        super().__init__(text)
        self.message = text


def iam_action(service: str, operation: str) -> str:
    """The IAM action of an API operation: ``("s3", "GetBucketEncryption")`` -> s3:GetEncryptionConfiguration.

    ``service`` is botocore's signing name (``client.meta.service_model.signing_name``).
    """
    return _ACTION_OVERRIDES.get((service, operation), f"{service}:{operation}")


def _operation(client: Any, method: str) -> str:
    return str(client.meta.method_to_api_mapping[method])


def _wrap(client: Any, method: str, exc: Exception) -> AwsCallError:
    from botocore.exceptions import ClientError

    action = iam_action(str(client.meta.service_model.signing_name), _operation(client, method))
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = str(error.get("Message") or "no message").strip()
        if detail.startswith("<"):  # an HTML error page (a proxy, or an emulator's missing API)
            detail = f"HTTP {status} with a non-AWS error page"
        detail = detail[:300]
        return AwsCallError(
            action,
            code,
            detail,
            denied=code in _DENIED or status == 403,
            unavailable=code in _UNAVAILABLE,
        )
    return AwsCallError(action, type(exc).__name__, str(exc)[:300], denied=False, unavailable=False)


def refuse_malformed_body(operation_model: Any, response_dict: Mapping[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` hook: a success answer whose body is cut off or not JSON/XML is an error.

    botocore parses a truncated JSON body as an empty result, so a listing cut short by the network
    would read as "no keys": a false pass. Registered on every client the collector makes.
    """
    import json
    from xml.etree import ElementTree

    body = response_dict.get("body")
    status = int(response_dict.get("status_code") or 0)
    if not isinstance(body, bytes) or not body.strip() or not 200 <= status < 300:
        return
    protocol = operation_model.metadata.get("protocol", "")
    try:
        if "json" in protocol:
            json.loads(body)
        elif protocol in ("query", "rest-xml", "ec2"):
            ElementTree.fromstring(body)
    except (ValueError, ElementTree.ParseError) as exc:
        raise MalformedResponse(
            f"malformed {operation_model.name} response, cut short or not the service's format: {exc}"
        ) from None


def call(client: Any, method: str, *, absent: frozenset[str] = frozenset(), **params: Any) -> Any:
    """``client.<method>(**params)``; ``None`` when the error code is in ``absent`` (never configured).

    :raises AwsCallError: any other failure, after botocore's own retries.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        with call_slot(client):  # within the scan's bounds on concurrent calls (limits.py)
            return getattr(client, method)(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in absent:
            return None
        raise _wrap(client, method, exc) from exc
    except (BotoCoreError, MalformedResponse) as exc:
        raise _wrap(client, method, exc) from exc


def pages(client: Any, method: str, key: str, **params: Any) -> Iterator[Any]:
    """Every element of ``key`` across all pages of a paginated call (the paginator is drained).

    :raises AwsCallError: a page failed; elements already yielded stay valid.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        paginated = iter(client.get_paginator(method).paginate(**params))
        while True:
            with call_slot(client):  # one place per page: none is held while the caller works on a page
                page = next(paginated, None)
            if page is None:
                return
            yield from page.get(key, ())
    except (ClientError, BotoCoreError, MalformedResponse) as exc:
        raise _wrap(client, method, exc) from exc


def every(client: Any, method: str, key: str, **params: Any) -> list[Any]:
    """:func:`pages` collected into a list, so a failure on page 3 loses the whole listing at once."""
    return list(pages(client, method, key, **params))
