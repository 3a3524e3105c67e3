"""The plugin itself: a valid spec, boto3 loaded only when collecting, no credentials in the config."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import pytest

from annexa.plugins import CollectorSpec
from annexa.plugins.testing import check_collector_spec


def test_the_spec_meets_the_plugin_contract(aws_spec_module: CollectorSpec) -> None:
    check_collector_spec(aws_spec_module)
    assert aws_spec_module.name == "aws"
    for kind, schema in aws_spec_module.kinds.items():
        assert kind.startswith("aws.")
        assert {"arn", "account_id", "region"} <= set(schema["required"]), kind


@pytest.mark.parametrize(
    "code",
    [
        "import annexa.collectors.aws",
        "from annexa.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from annexa.plugins.host import PluginHost\n"
        "from annexa.plugins.manager import make_plugin_manager\n"
        "PluginHost(make_plugin_manager()).collectors()",
    ],
)
def test_loading_the_plugin_does_not_import_boto3(code: str) -> None:
    """``annexa --help`` and plugin discovery stay fast: boto3 and botocore load on the first collection."""
    listing = "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    probe = f"import sys\n{code}\n{listing}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "config",
    [
        {"aws_secret_access_key": "x"},
        {"accounts": [{"role_arn": "arn:aws:iam::1:role/x"}]},
        {"accounts": [{"role_arn": "arn:aws:iam::111111111111:role/a", "external_id": "x"}]},
        {"regions": []},
        {"max_workers": 0},
    ],
)
def test_the_config_names_roles_never_secrets(
    aws_spec_module: CollectorSpec, config: dict[str, object]
) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, aws_spec_module.config_schema)


def test_a_full_config_is_valid(aws_spec_module: CollectorSpec) -> None:
    jsonschema.validate(
        {
            "accounts": [
                {
                    "organization": True,
                    "role_arn": "arn:aws:iam::{account_id}:role/annexa-audit",
                    "exclude": [],
                },
                {
                    "role_arn": "arn:aws:iam::111111111111:role/annexa-audit",
                    "external_id_env": "AUDIT_EXTERNAL_ID",
                },
                {},
            ],
            "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
            "endpoint_url": "http://127.0.0.1:5055",
            "max_workers": 8,
            "connect_timeout_seconds": 5,
            "read_timeout_seconds": 20,
            "max_attempts": 5,
        },
        aws_spec_module.config_schema,
    )
