"""The web application: every page, its JSON twin under /api/v1, and the guard in front of each.

Every route is declared once in :data:`ENDPOINTS` with the least role it needs; :func:`build_app` wraps
each handler in :func:`_guarded`, so no handler runs before the caller is known and allowed. The only
route open to anyone is the login form. Credentials: an API token as ``Authorization: Bearer ...``, or
the session cookie that logging in with a token sets (``HttpOnly``, ``Secure``, ``SameSite=Strict``; the
server keeps only its digest). A write made with a session cookie must carry the session's CSRF token (a
form field or ``X-CSRF-Token``); a bearer token is never sent by a browser on its own, so it needs none.

Handlers are ``async`` and call the store directly: one request at a time per worker process, which is
what SQLite and a psycopg connection want; run more workers (``--workers``) for more at once.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from annexa import __version__
from annexa.model.evidence import sha256_hex
from annexa.serve.roles import Role
from annexa.serve.state import Principal, ServeState
from annexa.serve.views import NotFound, Policy, Views
from annexa.store import open_store

SESSION_COOKIE: Final = "annexa_session"
SETTINGS_ENV: Final = "ANNEXA_SERVE_SETTINGS"
MAX_TEXT: Final = 5000
MAX_NAME: Final = 200
NO_AUTH: Final = Principal(name="local user (--no-auth)", role=Role.ADMIN, token_id=None)
SECURITY_HEADERS: Final = {
    # No script at all, nothing from elsewhere: a value that slipped past escaping could not run.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the browser send "Origin: null" on forms
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How ``annexa serve`` was started; handed to each worker process as JSON in the environment."""

    store: str
    config: str | None = None
    no_auth: bool = False
    expect_every_hours: float | None = 24.0
    secret: str = ""  # per start: keys the --no-auth CSRF token

    def to_json(self) -> str:
        return json.dumps({"store": self.store, "config": self.config, "no_auth": self.no_auth,
                           "expect_every_hours": self.expect_every_hours, "secret": self.secret})  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Settings:
        raw = json.loads(text)
        return cls(**raw)


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One route: its path, methods, the least role it needs, and what the OpenAPI description says."""

    path: str
    handler: Callable[[Context], Awaitable[Response]]
    role: Role | None  # None: open to anyone (the login form only)
    methods: tuple[str, ...] = ("GET",)
    summary: str = ""
    api: bool = False


@dataclass(slots=True)
class Context:
    request: Request
    principal: Principal
    views: Views
    state: ServeState
    settings: Settings
    csrf: str | None  # the token a form on this page must carry; None for bearer callers

    @property
    def params(self) -> Mapping[str, str]:
        return self.request.path_params


# -- rendering ---------------------------------------------------------------------------------------


@cache
def templates() -> Environment:
    environment = Environment(loader=PackageLoader("annexa.serve", "templates"), autoescape=True)
    environment.globals["version"] = __version__
    environment.globals["Role"] = Role
    environment.filters["pct"] = lambda v: "n/a" if v is None else f"{round(v * 100)}%"
    environment.filters["label"] = lambda v: str(v).replace("_", " ")
    return environment


def page(ctx: Context, template: str, data: Mapping[str, Any], *, status: int = 200) -> HTMLResponse:
    body = (
        templates()
        .get_template(template)
        .render(data=data, me=ctx.principal, csrf=ctx.csrf, no_auth=ctx.settings.no_auth, request=ctx.request)
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def api(data: Any, *, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)


# -- credentials ---------------------------------------------------------------------------------------


def csrf_for(secret: str) -> str:
    return sha256_hex(f"annexa-csrf\x00{secret}".encode())


def _authenticate(
    request: Request, state: ServeState, settings: Settings
) -> tuple[Principal | None, str | None]:
    """(who, the CSRF token their writes need); who is None when no valid credential came."""
    if settings.no_auth:
        return NO_AUTH, csrf_for(settings.secret)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return state.principal_of_token(header[7:].strip()), None
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        principal = state.principal_of_session(session)
        return principal, None if principal is None else csrf_for(session)
    return None, None


async def _form(request: Request) -> dict[str, str]:
    """The fields of a form (urlencoded) or of a JSON object, as strings."""
    body = await request.body()
    if len(body) > 64 * 1024:
        raise HTTPProblem(413, "request too large")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw = json.loads(body or b"{}")
        except ValueError as exc:
            raise HTTPProblem(400, f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise HTTPProblem(400, "send a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def _guarded(endpoint: Endpoint, views: Views, state: ServeState, settings: Settings) -> Callable[..., Any]:
    async def run(request: Request) -> Response:
        if settings.no_auth and request.url.hostname not in ("127.0.0.1", "localhost"):
            return Response("wrong host", status_code=421)  # DNS rebinding: only the loopback names
        principal, csrf = _authenticate(request, state, settings)
        if endpoint.role is not None:
            if principal is None:
                if endpoint.api or request.method != "GET":
                    return JSONResponse(
                        {"error": "authentication required: Authorization: Bearer <token>"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer", **SECURITY_HEADERS},
                    )
                target = quote(request.url.path, safe="/")
                return RedirectResponse(f"/login?next={target}", status_code=303, headers=SECURITY_HEADERS)
            if not principal.role.allows(endpoint.role):
                message = f"{principal.role.value} may not do this; it needs the {endpoint.role.value} role"
                return _problem(endpoint, 403, message)
            if request.method != "GET" and csrf is not None:
                # A cookie (or --no-auth) rides along on any request the browser makes: prove the page.
                sent = request.headers.get("x-csrf-token") or (await _form(request)).get("csrf", "")
                if not hmac.compare_digest(sent.encode(), csrf.encode()):
                    return _problem(endpoint, 403, "missing or wrong CSRF token: reload the page and retry")
                origin = request.headers.get("origin")
                if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
                    return _problem(endpoint, 403, f"cross-origin write from {origin} refused")
        ctx = Context(request=request, principal=principal or NO_AUTH, views=views, state=state,
                      settings=settings, csrf=csrf)  # fmt: skip
        try:
            return await endpoint.handler(ctx)
        except NotFound as exc:
            return _problem(endpoint, 404, str(exc))
        except HTTPProblem as exc:
            return _problem(endpoint, exc.status, exc.message)

    run.__name__ = endpoint.handler.__name__
    run.required_role = endpoint.role  # type: ignore[attr-defined]
    return run


def _problem(endpoint: Endpoint, status: int, message: str) -> Response:
    if endpoint.api:
        return api({"error": message}, status=status)
    html = templates().get_template("problem.html").render(status=status, message=message, me=None)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


# -- handlers: pages -----------------------------------------------------------------------------------


async def overview_page(ctx: Context) -> Response:
    return page(ctx, "overview.html", ctx.views.overview())


async def control_page(ctx: Context) -> Response:
    return page(ctx, "control.html", ctx.views.control(ctx.params["control_id"]))


async def system_page(ctx: Context) -> Response:
    return page(ctx, "system.html", ctx.views.system(ctx.params["system_id"]))


async def register_page(ctx: Context) -> Response:
    return page(ctx, "register.html", ctx.views.nonconformities())


async def nonconformity_page(ctx: Context) -> Response:
    nc = ctx.views.nonconformity(ctx.params["nc_id"])
    return page(ctx, "nonconformity.html", {**nc, "may_edit": _may_edit(ctx.principal, nc)})


async def nonconformity_write_page(ctx: Context) -> Response:
    await _update_nonconformity(ctx)
    return RedirectResponse(f"/nonconformities/{quote(ctx.params['nc_id'])}", status_code=303)


async def diff_page(ctx: Context) -> Response:
    query = ctx.request.query_params
    return page(ctx, "diff.html", ctx.views.diff(query.get("a") or None, query.get("b") or "latest"))


async def soa_page(ctx: Context) -> Response:
    return page(ctx, "soa.html", ctx.views.soa())


async def evidence_page(ctx: Context) -> Response:
    item = ctx.views.evidence(ctx.params["digest"])
    pretty = json.dumps(item["data"], indent=2, sort_keys=True, ensure_ascii=False)
    return page(ctx, "evidence.html", {**item, "pretty": pretty})


async def audit_page(ctx: Context) -> Response:
    return page(ctx, "audit.html", {"entries": ctx.state.audit_log(), "problems": ctx.state.verify_audit()})


async def exceptions_page(ctx: Context) -> Response:
    return page(ctx, "exceptions.html", {"exceptions": [e.to_dict() for e in ctx.state.exceptions()]})


async def exception_request_page(ctx: Context) -> Response:
    await _request_exception(ctx)
    return RedirectResponse("/exceptions", status_code=303)


async def exception_decision_page(ctx: Context) -> Response:
    await _decide_exception(ctx)
    return RedirectResponse("/exceptions", status_code=303)


async def tokens_page(ctx: Context) -> Response:
    return page(ctx, "tokens.html", {"tokens": ctx.state.tokens()})


async def logout(ctx: Context) -> Response:
    session = ctx.request.cookies.get(SESSION_COOKIE)
    if session:
        ctx.state.close_session(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


async def login(ctx: Context) -> Response:
    target = ctx.request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"  # no open redirect: browsers read a backslash after the slash as a second slash
    if ctx.request.method == "GET":
        return page(ctx, "login.html", {"next": target, "error": None})
    origin = ctx.request.headers.get("origin")
    if origin is not None and origin != f"{ctx.request.url.scheme}://{ctx.request.url.netloc}":
        return page(ctx, "login.html", {"next": target, "error": f"login from {origin} refused"}, status=403)
    fields = await _form(ctx.request)
    principal = ctx.state.principal_of_token(fields.get("token", "").strip())
    if principal is None:
        return page(ctx, "login.html", {"next": target, "error": "unknown or revoked token"}, status=401)
    session = ctx.state.open_session(principal)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session, max_age=8 * 3600, path="/", secure=True, httponly=True,
                        samesite="strict")  # fmt: skip
    return response


# -- handlers: the JSON twins --------------------------------------------------------------------------


async def overview_api(ctx: Context) -> Response:
    return api(ctx.views.overview())


async def control_api(ctx: Context) -> Response:
    return api(ctx.views.control(ctx.params["control_id"]))


async def system_api(ctx: Context) -> Response:
    return api(ctx.views.system(ctx.params["system_id"]))


async def register_api(ctx: Context) -> Response:
    return api(ctx.views.nonconformities())


async def nonconformity_api(ctx: Context) -> Response:
    return api(ctx.views.nonconformity(ctx.params["nc_id"]))


async def nonconformity_write_api(ctx: Context) -> Response:
    await _update_nonconformity(ctx)
    return api(ctx.views.nonconformity(ctx.params["nc_id"]))


async def diff_api(ctx: Context) -> Response:
    query = ctx.request.query_params
    return api(ctx.views.diff(query.get("a") or None, query.get("b") or "latest"))


async def soa_api(ctx: Context) -> Response:
    return api(ctx.views.soa())


async def evidence_api(ctx: Context) -> Response:
    return api(ctx.views.evidence(ctx.params["digest"]))


async def audit_api(ctx: Context) -> Response:
    return api({"entries": ctx.state.audit_log(), "problems": ctx.state.verify_audit()})


async def exceptions_api(ctx: Context) -> Response:
    return api({"exceptions": [e.to_dict() for e in ctx.state.exceptions()]})


async def exception_request_api(ctx: Context) -> Response:
    exception_id = await _request_exception(ctx)
    return api({"id": exception_id, "state": "requested"}, status=201)


async def exception_decision_api(ctx: Context) -> Response:
    state = await _decide_exception(ctx)
    return api({"id": ctx.params["exception_id"], "state": state})


async def scans_api(ctx: Context) -> Response:
    return api({"scans": ctx.views.scans()})


async def systems_api(ctx: Context) -> Response:
    return api({"systems": ctx.views.systems()})


async def tokens_api(ctx: Context) -> Response:
    return api({"tokens": ctx.state.tokens()})


async def whoami_api(ctx: Context) -> Response:
    return api({"name": ctx.principal.name, "role": ctx.principal.role.value})


async def openapi_api(ctx: Context) -> Response:
    return api(openapi_description())


async def bundle_download(ctx: Context) -> Response:
    """The auditor bundle of a signed scan (as ``annexa export`` writes it); the download is logged."""
    data, scan_id = export_bundle(ctx.views, ctx.settings.config, ctx.params["scan"])
    ctx.state.log(ctx.principal, "bundle.export", scan_id, {"bytes": len(data)})
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="annexa-{scan_id}.zip"'}
    return Response(data, media_type="application/zip", headers=headers)


def export_bundle(views: Views, config: str | None, reference: str) -> tuple[bytes, str]:
    if config is None:
        raise HTTPProblem(409, "auditor bundles need the scan's configuration: start annexa serve with -c")
    import tempfile
    from pathlib import Path

    from annexa.app.auditbundle import bundle_files
    from annexa.app.wiring import make_host
    from annexa.plugins.config import load_config, read_disabled_plugins
    from annexa.reports.document import report_document
    from annexa.reports.readiness import render_html
    from annexa.reports.stored import stored_result
    from annexa.store import StoreError
    from annexa.trust.bundle import write_bundle
    from annexa.trust.keys import TrustError

    path = Path(config)
    host = make_host(blocked=read_disabled_plugins(path))
    loaded = load_config(path, host)
    try:
        files, index = bundle_files(views.store, reference, loaded, host)
    except StoreError as exc:
        raise NotFound(str(exc)) from exc
    except TrustError as exc:
        raise HTTPProblem(409, str(exc)) from exc
    result = stored_result(
        views.store, index["manifest"], organization=loaded.organization, freshness=loaded.freshness
    )
    document = report_document(result, store=views.store, scan=index["manifest"])
    files["report.html"] = render_html(document).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="annexa-bundle-") as temp:
        target = Path(temp) / "bundle.zip"
        write_bundle(target, files, index)
        return target.read_bytes(), str(index["scan_id"])


# -- the writes ----------------------------------------------------------------------------------------


def _may_edit(principal: Principal, nc: Mapping[str, Any]) -> bool:
    """An owner edits nonconformities nobody owns yet or that are theirs; an admin edits any."""
    if principal.role.allows(Role.ADMIN):
        return True
    return principal.role.allows(Role.OWNER) and nc.get("owner") in (None, principal.name)


def _text(fields: Mapping[str, str], key: str, *, limit: int, required: bool = True) -> str:
    value = fields.get(key, "").strip()
    if required and not value:
        raise HTTPProblem(422, f"{key} is required")
    if len(value) > limit:
        raise HTTPProblem(422, f"{key} is longer than {limit} characters")
    return value


def _date(fields: Mapping[str, str], key: str) -> date:
    try:
        return date.fromisoformat(fields.get(key, "").strip())
    except ValueError as exc:
        raise HTTPProblem(422, f"{key} must be a date (YYYY-MM-DD)") from exc


async def _update_nonconformity(ctx: Context) -> None:
    nc = ctx.views.nonconformity(ctx.params["nc_id"])
    if not _may_edit(ctx.principal, nc):
        raise HTTPProblem(403, f"{nc['id']} belongs to {nc['owner']}: only they or an admin may change it")
    fields = await _form(ctx.request)
    ctx.state.set_action(
        nc["id"], rule=nc["rule"], subject=nc["subject"], owner=_text(fields, "owner", limit=MAX_NAME),
        due=_date(fields, "due"), notes=_text(fields, "notes", limit=MAX_TEXT, required=False),
        who=ctx.principal,
    )  # fmt: skip


async def _request_exception(ctx: Context) -> str:
    fields = await _form(ctx.request)
    rule = _text(fields, "rule", limit=MAX_NAME)
    known = (
        {f["rule"] for f in ctx.views.control(rule.split("/", 1)[0])["findings"]} if "/" in rule else set()
    )
    if rule not in known:
        raise HTTPProblem(422, f"no rule {rule!r} in the latest scan")
    expires = _date(fields, "expires")
    if expires <= date.today():  # noqa: DTZ011 - the operator's calendar day is what an expiry means
        raise HTTPProblem(422, "expires must be a date in the future")
    return ctx.state.request_exception(
        rule=rule, subject=_text(fields, "subject", limit=MAX_TEXT, required=False) or None,
        justification=_text(fields, "justification", limit=MAX_TEXT),
        approver=_text(fields, "approver", limit=MAX_NAME), expires=expires, who=ctx.principal,
    )  # fmt: skip


async def _decide_exception(ctx: Context) -> str:
    fields = await _form(ctx.request)
    decision = fields.get("decision", "")
    if decision not in ("approve", "reject"):
        raise HTTPProblem(422, "decision must be approve or reject")
    exception_id = ctx.params["exception_id"]
    request = next((e for e in ctx.state.exceptions() if e.id == exception_id), None)
    if request is None:
        raise NotFound(f"no exception request {exception_id}")
    if request.requested_by == ctx.principal.name and ctx.principal.token_id is not None:
        raise HTTPProblem(403, "an exception is approved by someone other than the one who asked for it")
    try:
        ctx.state.decide_exception(exception_id, approve=decision == "approve", who=ctx.principal)
    except KeyError as exc:
        raise HTTPProblem(409, f"{exception_id} was decided already ({request.state})") from exc
    return "approved" if decision == "approve" else "rejected"


# -- the route table -----------------------------------------------------------------------------------

V, A, OW, AD = Role.VIEWER, Role.AUDITOR, Role.OWNER, Role.ADMIN
ENDPOINTS: Final = (
    Endpoint(path="/login", handler=login, role=None, methods=("GET", "POST"), summary="log in with a token"),
    Endpoint(path="/logout", handler=logout, role=V, methods=("POST",), summary="end the session"),
    Endpoint(path="/", handler=overview_page, role=V, summary="overview"),
    Endpoint(path="/controls/{control_id}", handler=control_page, role=V, summary="one control"),
    Endpoint(path="/systems/{system_id}", handler=system_page, role=V, summary="one declared AI system"),
    Endpoint(path="/nonconformities", handler=register_page, role=V, summary="the nonconformity register"),
    Endpoint(
        path="/nonconformities/{nc_id}", handler=nonconformity_page, role=V, summary="one nonconformity"
    ),
    Endpoint(
        path="/nonconformities/{nc_id}",
        handler=nonconformity_write_page,
        role=OW,
        methods=("POST",),
        summary="set owner, due date and corrective action",
    ),
    Endpoint(path="/diff", handler=diff_page, role=V, summary="drift between two scans"),
    Endpoint(path="/soa", handler=soa_page, role=V, summary="Statement of Applicability"),
    Endpoint(path="/evidence/{digest}", handler=evidence_page, role=A, summary="one stored evidence item"),
    Endpoint(path="/audit", handler=audit_page, role=A, summary="the audit log of dashboard writes"),
    Endpoint(path="/exceptions", handler=exceptions_page, role=V, summary="exception requests"),
    Endpoint(
        path="/exceptions",
        handler=exception_request_page,
        role=OW,
        methods=("POST",),
        summary="request an exception",
    ),
    Endpoint(
        path="/exceptions/{exception_id}/decision",
        handler=exception_decision_page,
        role=AD,
        methods=("POST",),
        summary="approve or reject an exception request",
    ),
    Endpoint(path="/tokens", handler=tokens_page, role=AD, summary="API tokens (names and roles)"),
    Endpoint(path="/api/v1/openapi.json", handler=openapi_api, role=V, api=True, summary="this description"),
    Endpoint(path="/api/v1/whoami", handler=whoami_api, role=V, api=True, summary="the caller and role"),
    Endpoint(
        path="/api/v1/overview",
        handler=overview_api,
        role=V,
        api=True,
        summary="readiness per group and per AI system, trend, schedule, nonconformity figures",
    ),
    Endpoint(path="/api/v1/scans", handler=scans_api, role=V, api=True, summary="the scan history"),
    Endpoint(path="/api/v1/systems", handler=systems_api, role=V, api=True, summary="declared AI systems"),
    Endpoint(
        path="/api/v1/controls/{control_id}",
        handler=control_api,
        role=V,
        api=True,
        summary="a control: findings, evidence digests, exceptions, history",
    ),
    Endpoint(
        path="/api/v1/systems/{system_id}",
        handler=system_api,
        role=V,
        api=True,
        summary="an AI system: its controls and open nonconformities",
    ),
    Endpoint(
        path="/api/v1/nonconformities",
        handler=register_api,
        role=V,
        api=True,
        summary="the nonconformity register",
    ),
    Endpoint(
        path="/api/v1/nonconformities/{nc_id}",
        handler=nonconformity_api,
        role=V,
        api=True,
        summary="one nonconformity",
    ),
    Endpoint(
        path="/api/v1/nonconformities/{nc_id}",
        handler=nonconformity_write_api,
        role=OW,
        api=True,
        methods=("POST",),
        summary="set owner, due date (YYYY-MM-DD) and notes",
    ),
    Endpoint(path="/api/v1/diff", handler=diff_api, role=V, api=True, summary="drift between scans a and b"),
    Endpoint(path="/api/v1/soa", handler=soa_api, role=V, api=True, summary="Statement of Applicability"),
    Endpoint(
        path="/api/v1/evidence/{digest}",
        handler=evidence_api,
        role=A,
        api=True,
        summary="one stored evidence item",
    ),
    Endpoint(path="/api/v1/audit", handler=audit_api, role=A, api=True, summary="the audit log"),
    Endpoint(
        path="/api/v1/exceptions", handler=exceptions_api, role=V, api=True, summary="exception requests"
    ),
    Endpoint(
        path="/api/v1/exceptions",
        handler=exception_request_api,
        role=OW,
        api=True,
        methods=("POST",),
        summary="request an exception (rule, subject, justification, approver, expires)",
    ),
    Endpoint(
        path="/api/v1/exceptions/{exception_id}/decision",
        handler=exception_decision_api,
        role=AD,
        api=True,
        methods=("POST",),
        summary="decision: approve or reject",
    ),
    Endpoint(path="/api/v1/tokens", handler=tokens_api, role=AD, api=True, summary="API tokens"),
    Endpoint(
        path="/api/v1/scans/{scan}/bundle",
        handler=bundle_download,
        role=A,
        api=True,
        summary="the auditor bundle (zip) of a signed scan: latest, an id or a digest",
    ),
)


def openapi_description() -> dict[str, Any]:
    """OpenAPI 3.1 for the JSON API, from the same table the routes are built from."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        if not endpoint.api:
            continue
        for method in endpoint.methods:
            parameters = [
                {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
                for part in endpoint.path.split("/") if part.startswith("{")
            ]  # fmt: skip
            operation: dict[str, Any] = {
                "summary": endpoint.summary,
                "description": f"Needs the {endpoint.role.value if endpoint.role else 'no'} role or higher.",
                "parameters": parameters,
                "security": [{"bearer": []}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                              "401": {"description": "no or unknown token"},
                              "403": {"description": "the token's role is too low"},
                              "404": {"description": "no such item"}},
            }  # fmt: skip
            if method == "POST":
                operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
            paths.setdefault(endpoint.path.removeprefix("/api/v1"), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "annexa dashboard API", "version": __version__},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def build_app(settings: Settings) -> Starlette:
    store = open_store(settings.store, create=False)
    state = ServeState.open(settings.store)
    expect = None if settings.expect_every_hours is None else timedelta(hours=settings.expect_every_hours)
    views = Views(store, state, load_policy(settings.config), expect_every=expect)
    routes = [
        Route(
            e.path, _guarded(e, views, state, settings), methods=list(e.methods), name=f"{e.handler.__name__}"
        )
        for e in ENDPOINTS
    ]

    @contextlib.asynccontextmanager
    async def warm(_: Starlette) -> AsyncIterator[None]:
        # Read every recorded manifest before the first request (uvicorn listens after this): 1,000 scans
        # take seconds once, then each page reads only what is new.
        views.overview()
        yield

    app = Starlette(routes=routes, lifespan=warm)
    app.state.views = views
    return app


def create_app_from_env() -> Starlette:
    """The uvicorn factory each worker process calls (settings come from ``ANNEXA_SERVE_SETTINGS``)."""
    return build_app(Settings.from_json(os.environ[SETTINGS_ENV]))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def load_policy(config: str | None) -> Policy:
    """Organization, applicability, corrective actions and exceptions from annexa.yaml, when given."""
    if config is None:
        return Policy()
    from pathlib import Path

    from annexa.app.wiring import make_host
    from annexa.audit.nonconformities import Action
    from annexa.audit.soa import Declaration
    from annexa.plugins.config import load_config, read_disabled_plugins

    path = Path(config)
    loaded = load_config(path, make_host(blocked=read_disabled_plugins(path)))
    return Policy(
        organization=loaded.organization,
        declarations={a.control: Declaration(applicable=a.applicable, justification=a.justification)
                      for a in loaded.applicability},
        actions=tuple(Action(rule=a.rule, control=a.control, subject=a.subject, owner=a.owner,
                             action=a.action, due=a.due) for a in loaded.corrective_actions),
        exceptions=tuple(loaded.exceptions),
    )  # fmt: skip
