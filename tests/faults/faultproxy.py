"""A fault-injecting HTTP proxy for tests: stands between a collector and moto or MLflow on 127.0.0.1.

Requests pass through to the upstream server unchanged unless a :class:`Fault` matches them; a fault
answers in the shape the real service uses for that failure (AWS error codes in the protocol of the call,
MLflow's JSON errors), or breaks the connection the way networks do (reset, stall, truncated body).
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

FaultMode = Literal["throttle", "server_error", "timeout", "reset", "truncate", "malformed", "deny"]

# SigV4: "Credential=AKID/20261123/us-east-1/sagemaker/aws4_request"
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(slots=True)
class Request:
    """What a fault can match on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def aws_service(self) -> str | None:
        """The signing name of an AWS call (s3, sagemaker, iam, ...), None for other traffic."""
        found = _CREDENTIAL_SCOPE.search(self.headers.get("authorization", ""))
        return found.group(3) if found else None

    @property
    def access_key_id(self) -> str | None:
        found = _CREDENTIAL_SCOPE.search(self.headers.get("authorization", ""))
        return found.group(1) if found else None

    @property
    def aws_action(self) -> str | None:
        """The operation for JSON protocols (X-Amz-Target) and the query protocol (Action=)."""
        target = self.headers.get("x-amz-target")
        if target:
            return target.rsplit(".", 1)[-1]
        found = re.search(rb"(?:^|&)Action=([A-Za-z]+)", self.body)
        return found.group(1).decode() if found else None


@dataclass(slots=True)
class Fault:
    """Answer matching requests with ``mode``; ``times`` limits how many (None: every one)."""

    mode: FaultMode
    when: Callable[[Request], bool] = lambda request: True
    times: int | None = None
    stall_seconds: float = 30.0  # for "timeout": longer than the client's read timeout
    hits: int = field(default=0, init=False)

    def take(self, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self.when(request):
            return False
        self.hits += 1
        return True


class FaultProxy:
    """``with FaultProxy(upstream) as proxy:`` then point clients at ``proxy.url``; set ``proxy.faults``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults: list[Fault] = []
        self.requests_seen = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _pick(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests_seen += 1
            for fault in self.faults:
                if fault.take(request):
                    return fault
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                fault = proxy._pick(request)
                if fault is None:
                    self._forward(request)
                else:
                    self._inject(fault, request)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

            def _upstream(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in request.headers.items() if k not in ("connection",)}
                    connection.request(request.method, request.path, body=request.body, headers=headers)
                    answer = connection.getresponse()
                    return answer.status, answer.getheaders(), answer.read()
                finally:
                    connection.close()

            def _forward(self, request: Request) -> None:
                status, headers, body = self._upstream(request)
                self._answer(status, headers, body)

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True

            def _inject(self, fault: Fault, request: Request) -> None:
                match fault.mode:
                    case "throttle":
                        if request.aws_service is None:
                            self._answer(
                                429,
                                [("Retry-After", "0"), ("Content-Type", "application/json")],
                                b'{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests"}',
                            )
                        else:
                            self._aws_error(request, 400, "ThrottlingException", "Rate exceeded")
                    case "server_error":
                        self._answer(500, [("Content-Type", "text/html")], b"<h1>Internal Server Error</h1>")
                    case "deny":
                        action = request.aws_action or request.method
                        self._aws_error(
                            request,
                            403,
                            "AccessDeniedException" if _json_protocol(request) else "AccessDenied",
                            f"User: arn:aws:iam::123456789012:user/scanner is not authorized to perform: "
                            f"{request.aws_service}:{action}",
                        )
                    case "timeout":
                        time.sleep(fault.stall_seconds)
                        self.close_connection = True
                    case "reset":
                        # SO_LINGER 0 turns close() into a TCP RST: "connection reset by peer" for the client.
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        self.close_connection = True
                    case "truncate":
                        status, headers, body = self._upstream(request)
                        self.send_response(status)
                        self.send_header(
                            "Content-Type", dict(headers).get("Content-Type", "application/json")
                        )
                        self.send_header("Content-Length", str(len(body)))
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 2])
                        self.close_connection = True
                    case "malformed":
                        status, headers, body = self._upstream(request)
                        self._answer(status, headers, body[: max(1, len(body) // 2)])

            def _aws_error(self, request: Request, status: int, code: str, message: str) -> None:
                if _json_protocol(request):
                    payload = f'{{"__type": "{code}", "message": "{message}"}}'.encode()
                    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
                else:
                    payload = (
                        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                        f"<Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
                    ).encode()
                    if request.aws_service == "s3":
                        payload = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
                    headers = [("Content-Type", "text/xml")]
                self._answer(status, headers, payload)

        return Handler


# Services whose errors are XML (query and restXml protocols); the others answer errors in JSON.
_XML_SERVICES = frozenset(
    {"s3", "iam", "sts", "ec2", "sns", "sqs", "rds", "cloudformation", "elasticloadbalancing"}
)


def _json_protocol(request: Request) -> bool:
    return request.aws_service not in _XML_SERVICES
