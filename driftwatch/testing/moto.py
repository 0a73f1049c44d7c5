"""moto's AWS server on a loopback port, with faults AWS really produces.

``MotoServer`` runs moto's server mode in a thread and is reached over HTTP by boto3 (set
``endpoint_url`` or ``AWS_ENDPOINT_URL``), so scanners are tested through the same client,
retry and pagination code they use against AWS.  ``AwsFaults`` answers chosen requests
with throttling or AccessDenied before moto sees them, the way AWS does, or with garbage
(an HTML page from a proxy, JSON of the wrong shape) the way a broken endpoint does.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

StartResponse = Callable[..., Any]


@dataclass
class AwsFaults:
    """Requests to fail.  ``service`` is the signing name in the Authorization header
    (``s3``, ``ec2``, ``iam``...); ``action`` the query/JSON action or ``*``."""

    throttle: dict[tuple[str, str], int] = field(default_factory=dict)  # → times left
    denied: set[tuple[str, str]] = field(default_factory=set)
    denied_regions: set[str] = field(default_factory=set)
    denied_scopes: set[tuple[str, str]] = field(default_factory=set)  # (service, region)
    # (service, action) → (status, content type, body, times left or None), instead of moto
    garbage: dict[tuple[str, str], tuple[str, str, bytes, int | None]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (service, region, action)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def throttle_next(self, service: str, action: str = "*", times: int = 1) -> None:
        with self._lock:
            self.throttle[(service, action)] = times

    def deny(self, service: str, action: str = "*", region: str | None = None) -> None:
        """AccessDenied for ``service`` (one ``action``, or in one ``region`` only: the
        shape of a service control policy)."""
        with self._lock:
            if region is not None:
                self.denied_scopes.add((service, region))
            else:
                self.denied.add((service, action))

    def answer_garbage(
        self,
        service: str,
        body: bytes,
        action: str = "*",
        content_type: str = "text/html",
        status: str = "200 OK",
        times: int | None = None,
    ) -> None:
        """Answer ``service`` (one ``action``) with ``status`` and ``body`` as is: an HTML
        page from a proxy, JSON of the wrong shape, a bare 503.  ``times``: how many
        requests (``None``: until cleared)."""
        with self._lock:
            self.garbage[(service, action)] = (status, content_type, body, times)

    def take_garbage(self, service: str, region: str, action: str) -> tuple[str, str, bytes] | None:
        """The (status, content type, body) to answer a request with instead of moto, if any
        (a hit is recorded in ``calls``)."""
        with self._lock:
            for key in ((service, action), (service, "*")):
                if key not in self.garbage:
                    continue
                status, content_type, body, times = self.garbage[key]
                if times is not None and times <= 1:
                    del self.garbage[key]
                elif times is not None:
                    self.garbage[key] = (status, content_type, body, times - 1)
                self.calls.append((service, region, action))
                return status, content_type, body
        return None

    def clear(self) -> None:
        with self._lock:
            self.throttle.clear()
            self.garbage.clear()
            self.denied.clear()
            self.denied_regions.clear()
            self.denied_scopes.clear()
            self.calls.clear()

    def decide(self, service: str, region: str, action: str) -> str | None:
        """ "throttle", "denied" or None for a request."""
        with self._lock:
            self.calls.append((service, region, action))
            for key in ((service, action), (service, "*")):
                left = self.throttle.get(key, 0)
                if left > 0:
                    self.throttle[key] = left - 1
                    return "throttle"
            if region in self.denied_regions or (service, region) in self.denied_scopes:
                return "denied"
            if (service, action) in self.denied or (service, "*") in self.denied:
                return "denied"
        return None


def _signature(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, region) from the SigV4 Authorization header's credential scope."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    return (scope[3], scope[2]) if len(scope) >= 5 else ("", "")


def _action(environ: dict[str, Any], body: bytes) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rpartition(".")[2]
    for part in (str(environ.get("QUERY_STRING", "")), body.decode("latin-1")):
        for pair in part.split("&"):
            key, _, value = pair.partition("=")
            if key == "Action":
                return value
    return str(environ.get("REQUEST_METHOD", ""))


_JSON_SERVICES = {"dynamodb", "kms", "logs", "lambda", "sqs"}  # AWS JSON protocols


def _error(
    service: str, code: str, status: str, message: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    if service in _JSON_SERVICES:
        body = f'{{"__type":"{code}","message":"{message}"}}'.encode()
        return (
            status,
            [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)],
            body,
        )
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    elif service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            "</Errors><RequestID>driftwatch-fault</RequestID></Response>"
        ).encode()
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>driftwatch-fault</RequestId></ErrorResponse>"
        ).encode()
    return status, [("Content-Type", "text/xml")], body


class _FaultMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], faults: AwsFaults) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service, region = _signature(environ)
        if not service:  # moto's own API (/moto-api/reset) and unsigned requests
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = _action(environ, body)
        garbage = self.faults.take_garbage(service, region, action)
        verdict = None if garbage is not None else self.faults.decide(service, region, action)
        if garbage is not None:
            status, content_type, payload = garbage
            headers = [("Content-Type", content_type)]
        elif verdict is None:
            return self.app(environ, start_response)
        elif verdict == "throttle":
            code = "ThrottlingException" if service in _JSON_SERVICES else "Throttling"
            status, headers, payload = _error(service, code, "400 Bad Request", "Rate exceeded")
        else:
            status, headers, payload = _error(
                service,
                "AccessDenied" if service != "dynamodb" else "AccessDeniedException",
                "403 Forbidden",
                f"not authorized to call this {service} action",
            )
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class MotoServer:
    """moto's server on ``127.0.0.1:<free port>``; a context manager."""

    def __init__(self, faults: AwsFaults | None = None) -> None:
        self.faults = faults or AwsFaults()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> MotoServer:
        app = _FaultMiddleware(DomainDispatcherApplication(create_backend_app), self.faults)
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        # A short poll: shutdown() waits for it (0.5 s by default, on every stop).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset API) and every fault."""
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        ).read()
        self.faults.clear()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client_kwargs(server: MotoServer, region: str = "us-east-1") -> dict[str, str]:
    """Keyword arguments for ``boto3.client`` reaching ``server`` with fake credentials."""
    return {
        "endpoint_url": server.endpoint_url,
        "region_name": region,
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def iter_calls(faults: AwsFaults, service: str) -> Iterator[str]:
    return (action for svc, _, action in faults.calls if svc == service)
