"""Faults a test injects into a running :class:`~driftwatch.testing.apiserver.TestAPIServer`.

Every method is thread-safe and takes effect on the next request.  ``group``/``resource``
name the API group (``""`` for core) and the resource (plural, singular, kind or short
name); ``None`` matches anything.  ``path`` (where offered) instead names one exact
request path, such as the discovery document ``/apis``.  ``times`` is how many matching requests the fault
hits before it disarms itself (``None``: until :meth:`Faults.clear`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from driftwatch.testing.catalog import ResourceType

DEFAULT_USER = "system:serviceaccount:default:driftwatch"


@dataclass(slots=True)
class FaultRule:
    """One armed fault.  ``action`` is forbid, gone, error, delay, unauthorized, garbage
    (answer ``body`` as is) or reset (close the connection without an answer)."""

    action: str
    group: str | None = None
    resource: str | None = None
    times: int | None = None
    code: int = 0
    seconds: float = 0.0
    message: str | None = None
    reason: str | None = None
    user: str = DEFAULT_USER
    verbs: frozenset[str] | None = None
    retry_after: int | str | None = None
    body: bytes = b""
    content_type: str = ""
    path: str | None = None

    def matches(self, rt: ResourceType | None, verb: str, path: str = "") -> bool:
        if self.path is not None:
            return self.path == path
        if self.verbs is not None and verb not in self.verbs:
            return False
        if self.group is None and self.resource is None:
            return True
        if rt is None:
            return False
        if self.group is not None and self.group != rt.group:
            return False
        return self.resource is None or rt.matches(self.resource)


class Faults:
    """The fault switchboard of one server (``server.faults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    # --- arming -------------------------------------------------------------------------

    def forbid(
        self,
        group: str,
        resource: str,
        *,
        user: str = DEFAULT_USER,
        verbs: tuple[str, ...] | None = None,
        times: int | None = None,
    ) -> None:
        """Every request for ``group``/``resource`` (optionally only ``verbs``) → 403 Forbidden,
        with the RBAC message shape ``deployments.apps is forbidden: User "..." cannot list ...``."""
        self._arm(
            FaultRule(
                "forbid",
                group,
                resource,
                times,
                code=403,
                user=user,
                verbs=frozenset(verbs) if verbs else None,
            )
        )

    def gone_on_continue(self, group: str | None, resource: str | None, times: int = 1) -> None:
        """The next ``times`` list requests carrying a ``continue`` token → 410 Expired."""
        self._arm(FaultRule("gone", group, resource, times, code=410))

    def error(
        self,
        group: str | None,
        resource: str | None,
        code: int = 500,
        *,
        times: int | None = None,
        message: str | None = None,
        reason: str | None = None,
        retry_after: int | str | None = None,
        verbs: tuple[str, ...] | None = None,
    ) -> None:
        """Requests for ``group``/``resource`` (``None``, ``None``: every request, discovery
        too; optionally only ``verbs``) → a ``Status`` with ``code``.  ``retry_after`` adds
        a ``Retry-After`` header, in seconds or as an HTTP-date (client-go then retries
        429/5xx by itself)."""
        self._arm(
            FaultRule(
                "error",
                group,
                resource,
                times,
                code=code,
                message=message,
                reason=reason,
                retry_after=retry_after,
                verbs=frozenset(verbs) if verbs is not None else None,
            )
        )

    def delay(
        self,
        seconds: float,
        group: str | None = None,
        resource: str | None = None,
        *,
        times: int | None = None,
    ) -> None:
        """Matching requests are answered ``seconds`` late (all requests by default)."""
        self._arm(FaultRule("delay", group, resource, times, seconds=seconds))

    def garbage(
        self,
        body: bytes,
        group: str | None = None,
        resource: str | None = None,
        *,
        content_type: str = "application/json",
        code: int = 200,
        path: str | None = None,
        times: int | None = None,
    ) -> None:
        """Matching requests (or those for ``path``) are answered ``code`` with ``body`` as
        is: an HTML error page from a proxy, JSON of the wrong shape, a truncated list."""
        self._arm(
            FaultRule(
                "garbage",
                group,
                resource,
                times,
                code=code,
                body=body,
                content_type=content_type,
                path=path,
            )
        )

    def reset(
        self,
        group: str | None = None,
        resource: str | None = None,
        *,
        path: str | None = None,
        times: int | None = None,
    ) -> None:
        """Matching requests (or those for ``path``) get no answer: the server resets the
        connection (TCP RST), as a dying load balancer or apiserver does."""
        self._arm(FaultRule("reset", group, resource, times, path=path))

    def unauthorized(self, times: int | None = None) -> None:
        """Every request → 401 Unauthorized (expired or revoked credentials)."""
        self._arm(FaultRule("unauthorized", times=times, code=401))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """A copy of the armed rules."""
        with self._lock:
            return list(self._rules)

    def _arm(self, rule: FaultRule) -> None:
        if rule.times is not None and rule.times <= 0:
            return
        with self._lock:
            self._rules.append(rule)

    # --- evaluation (server side) -------------------------------------------------------

    def take(
        self,
        action: str,
        rt: ResourceType | None,
        verb: str,
        *,
        all_matches: bool = False,
        path: str = "",
    ) -> list[FaultRule]:
        """The rules of ``action`` that match, each consuming one of its ``times``."""
        hits: list[FaultRule] = []
        with self._lock:
            for rule in list(self._rules):
                if rule.action != action or not rule.matches(rt, verb, path):
                    continue
                hits.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                if not all_matches:
                    break
        return hits
