"""``annexa serve``: the dashboard and API over a store; ``annexa serve token ...`` manages its tokens."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from annexa.cli.options import (
    add_config_option,
    add_store_option,
    config_file,
    load_host_and_config,
    store_location,
)

_MISSING = "annexa serve needs its extra: pip install 'annexa[serve]'"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="a dashboard and JSON API over the store, with roles (needs annexa[serve])",
        description="Serve the readiness overview, controls, AI systems, the nonconformity register, scan "
        "drift and the SoA of a store, as HTML pages and as JSON under /api/v1 (OpenAPI at "
        "/api/v1/openapi.json). Every route needs a token (`annexa serve token create`) or a session "
        "opened with one, unless started with --no-auth, which serves 127.0.0.1 only.",
    )
    add_config_option(parser, needed=False)
    add_store_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8042)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--no-auth", action="store_true", help="no tokens, everyone is admin: 127.0.0.1 only")
    parser.add_argument(
        "--expect-scan-every",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="the scan schedule: the overview says overdue when the last scan is older (0: no schedule)",
    )
    parser.set_defaults(run=run)
    tokens = parser.add_subparsers(dest="serve_command", metavar="token")
    token = tokens.add_parser("token", help="create, list or revoke API tokens")
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="who holds it: the audit log names them so")
    create.add_argument("--role", required=True, choices=("viewer", "auditor", "owner", "admin"))
    actions.add_parser("list", help="list tokens (names, roles; never the tokens)")
    revoke = actions.add_parser("revoke", help="revoke a token by name (its sessions end)")
    revoke.add_argument("name")
    for sub in (create, actions.choices["list"], revoke):
        add_config_option(sub, needed=False)
        add_store_option(sub)


def run(args: argparse.Namespace) -> int:
    from annexa.model.exitcodes import ExitCode

    if getattr(args, "serve_command", None) == "token":
        return _token(args)
    try:
        import uvicorn

        from annexa.serve.app import SETTINGS_ENV, Settings, build_app, new_secret
    except ImportError as exc:
        print(f"annexa: error: {_MISSING} ({exc})", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if args.no_auth and not _is_loopback(args.host):
        print(f"annexa: error: --no-auth serves 127.0.0.1 only, not {args.host}: create tokens instead "
              "(annexa serve token create --name NAME --role ROLE)", file=sys.stderr)  # fmt: skip
        return int(ExitCode.USAGE_ERROR)
    store, config = _configured_store(args)
    settings = Settings(
        store=store,
        config=config,
        no_auth=args.no_auth,
        expect_every_hours=args.expect_scan_every or None,
        secret=new_secret(),
    )
    build_app(settings)  # open the store and the state once here, so a mistake is reported before serving
    os.environ[SETTINGS_ENV] = settings.to_json()
    print(f"annexa serve: http://{args.host}:{args.port}/ over {store}"
          + (" (no authentication: local use only)" if args.no_auth else ""), flush=True)  # fmt: skip
    uvicorn.run(
        "annexa.serve.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        proxy_headers=False,
    )
    return int(ExitCode.CONFORMANT)


def _configured_store(args: argparse.Namespace) -> tuple[str, str | None]:
    """(store, configuration file): ``--store``, else the configuration's store, else ``.annexa``."""
    config = config_file(args, needed=False)
    loaded = None if config is None else load_host_and_config(config)[1]
    store, _ = store_location(args, loaded)
    return store, None if config is None else str(config)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token(args: argparse.Namespace) -> int:
    from annexa.model.exitcodes import ExitCode

    try:
        from annexa.serve.roles import Role
        from annexa.serve.state import Principal, ServeState
    except ImportError as exc:
        print(f"annexa: error: {_MISSING} ({exc})", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    state = ServeState.open(_configured_store(args)[0])
    try:
        if args.token_command == "create":
            token = state.create_token(args.name, Role(args.role))
            print(token)
            print(
                f"token for {args.name} ({args.role}): shown once, stored only as its digest", file=sys.stderr
            )
        elif args.token_command == "list":
            for row in state.tokens():
                revoked = f"  revoked {row['revoked_at']}" if row["revoked_at"] else ""
                print(f"{row['name']}  {row['role']}  created {row['created_at']}{revoked}")
        else:
            operator = Principal(name="annexa serve token revoke", role=Role.ADMIN, token_id=None)
            try:
                state.revoke_token(args.name, operator)
            except KeyError:
                print(f"annexa: error: no active token named {args.name!r}", file=sys.stderr)
                return int(ExitCode.USAGE_ERROR)
            print(f"revoked {args.name}")
    finally:
        state.close()
    return int(ExitCode.CONFORMANT)
