"""Async HTTP client for the ManageIT public API.

Usage::

    async with ManageITAPI("https://api.manageit.ir") as api:
        client = api.client(token)
        user = await client.user.get()
        servers = await client.servers.list(project_hash)

:class:`ManageITAPI` owns one shared :class:`aiohttp.ClientSession`;
:meth:`ManageITAPI.client` hands out cheap per-token :class:`ManageITClient`
objects that share it.  GET requests are retried (network errors, time-outs,
5xx, 429); POST, PUT, PATCH and DELETE never are.  The token never appears in
a log line, an exception message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import random
import time
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import aiohttp

from .errors import (
    Forbidden,
    InvalidToken,
    ManageITError,
    NetworkError,
    NotFound,
    RequestTimeout,
    ServerError,
    Throttled,
    UnexpectedResponse,
    ValidationFailed,
)
from .models import (
    BackendServer,
    LBPlan,
    LBService,
    LBTarget,
    LoadBalancer,
    Location,
    OSImage,
    Plan,
    Project,
    Server,
    User,
    parse_reports,
)
from .normalize import BodyParseError, as_list, as_object, parse_body

__all__ = [
    "ManageITAPI",
    "ManageITClient",
    "UserClient",
    "ProjectsClient",
    "ServersClient",
    "LoadBalancersClient",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.manageit.ir"
_RETRYABLE_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_RETRY_AFTER = 60.0
_MAX_PAGES = 100


class _Secret:
    """Holds the token; its repr/str never reveal it (tracebacks, debuggers)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickle a token by accident
        raise TypeError("secrets cannot be pickled")


def _seg(value: Any) -> str:
    """One URL path segment (a hash or an id), safely quoted."""
    text = str(getattr(value, "hash", value))
    if not text or text in (".", ".."):  # a dot segment would be folded into another path
        raise ValueError("not an identifier")
    return quote(text, safe="")


def _parse_retry_after(value: str | None) -> float:
    if not value:
        return _DEFAULT_RETRY_AFTER
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return _DEFAULT_RETRY_AFTER
        if when is None:
            return _DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if seconds != seconds:  # NaN
        return _DEFAULT_RETRY_AFTER
    return max(0.0, seconds)


def _validation_errors(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    result: dict[str, list[str]] = {}
    for field_name, messages in value.items():
        if isinstance(messages, str):
            result[str(field_name)] = [messages]
        elif isinstance(messages, (list, tuple)):
            result[str(field_name)] = [str(m) for m in messages if m is not None]
    return result


class ManageITAPI:
    """Connection owner: one shared aiohttp session for every token.

    ``retries`` is the number of *extra* attempts a GET gets (so a GET is sent
    at most ``retries + 1`` times).  ``max_retry_after`` caps how long a 429's
    ``Retry-After`` may make us wait; a longer one raises :class:`Throttled`
    immediately.  ``client(token, max_retry_after=…)`` overrides the cap for that
    client alone (the notifier passes 0: it never waits inside its job).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        user_agent: str = "manageit-bot",
        max_retry_after: float = 30.0,
        retry_budget: float | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.user_agent = user_agent
        self.max_retry_after = float(max_retry_after)
        # How long a GET may take in all, its retries after time-outs included.
        self.retry_budget = float(retry_budget) if retry_budget is not None else 2.5 * self.timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ManageITAPI(base_url={self.base_url!r})"

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._ensure_session()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": self.user_agent},
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    async def __aenter__(self) -> ManageITAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    # -- clients -------------------------------------------------------------

    def client(self, token: str, *, max_retry_after: float | None = None) -> ManageITClient:
        return ManageITClient(self, token, max_retry_after=max_retry_after)

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def _delay(self, attempt: int) -> float:
        base = self.backoff * (2**attempt)
        return base + random.uniform(0.0, base * 0.1)

    # -- the one request path ------------------------------------------------

    async def _request(
        self,
        token: _Secret,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        want_data: bool = True,
        max_retry_after: float | None = None,
    ) -> Any:
        method = method.upper()
        cap = self.max_retry_after if max_retry_after is None else float(max_retry_after)
        session = self._ensure_session()
        raw_token = token.reveal()
        headers = {
            "Authorization": f"Bearer {raw_token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.url(path)
        shown = path if not params else f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        retryable = method in _RETRYABLE_METHODS
        attempts = self.retries + 1 if retryable else 1

        def redact(text: str) -> str:
            return text.replace(raw_token, "<redacted>") if raw_token else text

        begun = time.monotonic()
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.monotonic()
            try:
                async with session.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    retry_after_header = resp.headers.get("Retry-After")
                    raw = await resp.read()
            except (asyncio.TimeoutError, TimeoutError):
                elapsed = time.monotonic() - started
                log.debug("%s %s -> time-out after %.0f ms", method, shown, elapsed * 1000)
                error: ManageITError = RequestTimeout(
                    f"ManageIT did not answer within {self.timeout:g} s ({method} {shown})"
                )
            except aiohttp.ClientError as exc:
                elapsed = time.monotonic() - started
                log.debug(
                    "%s %s -> %s after %.0f ms", method, shown, type(exc).__name__, elapsed * 1000
                )
                error = NetworkError(
                    redact(f"cannot reach ManageIT ({method} {shown}): {type(exc).__name__}: {exc}")
                )
                error.sent = not isinstance(exc, aiohttp.ClientConnectorError)  # no connection: nothing sent
            else:
                elapsed = time.monotonic() - started
                log.debug("%s %s -> %d in %.0f ms", method, shown, status, elapsed * 1000)
                if 200 <= status < 300:
                    return self._decode_success(raw, method, shown, status, want_data, redact)
                error = self._error_for(status, raw, retry_after_header, method, shown, redact)
                if isinstance(error, Throttled) and error.retry_after > cap:
                    raise error from None
                if not isinstance(error, (ServerError, Throttled)):
                    raise error from None

            if last:
                raise error from None
            if isinstance(error, Throttled):
                delay = error.retry_after
            else:
                delay = self._delay(attempt)
            if isinstance(error, RequestTimeout) and time.monotonic() - begun + delay + self.timeout > self.retry_budget:
                raise error from None  # a person is waiting: no third slow attempt
            log.debug(
                "retrying %s %s in %.2f s (attempt %d of %d): %s",
                method,
                shown,
                delay,
                attempt + 2,
                attempts,
                type(error).__name__,
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _decode_success(
        raw: bytes, method: str, shown: str, status: int, want_data: bool, redact: Any
    ) -> Any:
        try:
            payload = parse_body(raw)
        except BodyParseError:
            if want_data:
                raise UnexpectedResponse(
                    f"ManageIT sent a body that is not JSON ({method} {shown})", status
                ) from None
            return None
        if want_data and payload is None:
            raise UnexpectedResponse(f"ManageIT sent an empty body ({method} {shown})", status)
        if isinstance(payload, dict) and payload.get("success") is False:
            message = payload.get("message")
            raise UnexpectedResponse(
                redact(str(message)) if message else f"ManageIT reported failure ({method} {shown})",
                status,
            )
        return payload

    @staticmethod
    def _error_for(
        status: int,
        raw: bytes,
        retry_after_header: str | None,
        method: str,
        shown: str,
        redact: Any,
    ) -> ManageITError:
        try:
            payload = parse_body(raw)
        except BodyParseError:
            payload = None
        server_message = payload.get("message") if isinstance(payload, dict) else None
        server_message = redact(str(server_message)) if server_message else ""

        def msg(default: str) -> str:
            return server_message or f"{default} (HTTP {status}, {method} {shown})"

        if status == 401:
            return InvalidToken(msg("ManageIT rejected the API token"), status)
        if status == 403:
            return Forbidden(msg("not allowed"), status)
        if status == 404:
            return NotFound(msg("not found"), status)
        if status == 422:
            errors = _validation_errors(payload.get("errors") if isinstance(payload, dict) else None)
            errors = {k: [redact(m) for m in v] for k, v in errors.items()}
            return ValidationFailed(msg("validation failed"), status, errors)
        if status == 429:
            return Throttled(
                msg("too many requests"), status, _parse_retry_after(retry_after_header)
            )
        if status >= 500:
            return ServerError(msg("ManageIT server error"), status)
        if 300 <= status < 400:
            return UnexpectedResponse(f"unexpected redirect (HTTP {status}, {method} {shown})", status)
        return UnexpectedResponse(msg("unexpected response"), status)


class ManageITClient:
    """A per-token view of the API; cheap to create, shares the API's session."""

    __slots__ = ("_api", "_token", "_max_retry_after", "user", "projects", "servers", "load_balancers")

    def __init__(self, api: ManageITAPI, token: str, *, max_retry_after: float | None = None) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("an API token is required")
        self._api = api
        self._max_retry_after = max_retry_after  # None: the API's cap
        self._token = _Secret(token.strip())
        self.user = UserClient(self)
        self.projects = ProjectsClient(self)
        self.servers = ServersClient(self)
        self.load_balancers = LoadBalancersClient(self)

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible tag of the token (sha256 prefix), safe to log."""
        return hashlib.sha256(self._token.reveal().encode("utf-8")).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"ManageITClient(base_url={self._api.base_url!r}, fingerprint={self.fingerprint})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("ManageITClient cannot be pickled")

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        want_data: bool = True,
    ) -> Any:
        """Low-level call: returns the decoded body (see :mod:`.normalize`)."""
        return await self._api._request(
            self._token, method, path, params=params, body=body, want_data=want_data,
            max_retry_after=self._max_retry_after,
        )

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: ManageITClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class UserClient(_Resource):
    __slots__ = ()

    async def get(self) -> User:
        return User.from_api(as_object(await self._client._get("api/user")))


class ProjectsClient(_Resource):
    __slots__ = ()

    async def list(self) -> list[Project]:
        return [Project.from_api(p) for p in as_list(await self._client._get("api/v1/projects"))]

    async def get(self, hash: str) -> Project:
        payload = await self._client._get(f"api/v1/projects/{_seg(hash)}")
        return Project.from_api(as_object(payload))

    async def create(self, name: str) -> Project:
        payload = await self._client.request("POST", "api/v1/projects", body={"name": name})
        return Project.from_api(as_object(payload))

    async def update(self, hash: str, name: str) -> Project:
        payload = await self._client.request(
            "PUT", f"api/v1/projects/{_seg(hash)}", body={"name": name}
        )
        return Project.from_api(as_object(payload))

    async def delete(self, hash: str) -> None:
        await self._client.request("DELETE", f"api/v1/projects/{_seg(hash)}", want_data=False)


class ServersClient(_Resource):
    __slots__ = ()

    async def locations(self) -> list[Location]:
        payload = await self._client._get("api/v1/servers/locations")
        return [Location.from_api(x) for x in as_list(payload)]

    async def os_images(self) -> list[OSImage]:
        """All OS images, following the pagination (``?page=N``)."""
        path = "api/v1/servers/os_images"
        images: list[OSImage] = []
        page = 1
        while True:
            payload = await self._client._get(path, {"page": page} if page > 1 else None)
            images.extend(OSImage.from_api(x) for x in as_list(payload))
            if not _has_next_page(payload, page) or page >= _MAX_PAGES:
                return images
            page += 1

    async def plans(self, location_id: int) -> list[Plan]:
        payload = await self._client._get(f"api/v1/servers/plans/{_seg(int(location_id))}")
        return [Plan.from_api(x) for x in as_list(payload)]

    async def list(self, project: str) -> list[Server]:
        payload = await self._client._get(f"api/v1/projects/{_seg(project)}/servers")
        return [Server.from_api(x) for x in as_list(payload)]

    async def get(self, project: str, hash: str) -> Server:
        payload = await self._client._get(f"api/v1/projects/{_seg(project)}/servers/{_seg(hash)}")
        return Server.from_api(as_object(payload))

    async def create(
        self,
        project: str,
        *,
        location: int,
        plan: int,
        os: int,
        hostname: str,
        password: str | None = None,
        ssh_keys: Iterable[int] | None = None,
    ) -> Server:
        body: dict[str, Any] = {
            "location": int(location),
            "plan": int(plan),
            "os": int(os),
            "hostname": hostname,
        }
        if password is not None:
            body["password"] = password
        if ssh_keys is not None:
            body["ssh_keys"] = [int(k) for k in ssh_keys]
        payload = await self._client.request(
            "POST", f"api/v1/projects/{_seg(project)}/servers", body=body
        )
        return Server.from_api(as_object(payload))

    async def delete(self, project: str, hash: str) -> None:
        await self._client.request(
            "DELETE", f"api/v1/projects/{_seg(project)}/servers/{_seg(hash)}", want_data=False
        )


def _has_next_page(payload: Any, page: int) -> bool:
    if not isinstance(payload, dict):
        return False
    meta = payload.get("meta")
    if isinstance(meta, dict) and meta.get("last_page") is not None:
        try:
            return page < int(meta["last_page"])
        except (TypeError, ValueError):
            pass
    links = payload.get("links")
    return isinstance(links, dict) and bool(links.get("next"))


def _target_body(target: Any) -> dict[str, Any]:
    if isinstance(target, LBTarget):
        return {"ip": target.ip}
    if isinstance(target, Mapping):
        return {"ip": str(target.get("ip", ""))}
    return {"ip": str(target)}


def _service_body(service: LBService | Mapping[str, Any], include_ssl: bool) -> dict[str, Any]:
    if not isinstance(service, LBService):
        service = LBService.from_api(dict(service))
    return service.to_api(include_ssl=include_ssl)


def _lb_body(
    *,
    name: str,
    plan: str | int,
    algorithm: str,
    targets: Iterable[Any] | None,
    services: Iterable[LBService | Mapping[str, Any]] | None,
    include_ssl: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "plan": str(plan), "algorithm": algorithm}
    if targets is not None:
        body["targets"] = [_target_body(t) for t in targets]
    if services is not None:
        body["services"] = [_service_body(s, include_ssl) for s in services]
    return body


class LoadBalancersClient(_Resource):
    __slots__ = ()

    async def locations(self) -> list[Location]:
        payload = await self._client._get("api/v1/load_balancers/locations")
        return [Location.from_api(x) for x in as_list(payload)]

    async def plans(self) -> list[LBPlan]:
        payload = await self._client._get("api/v1/load_balancers/plans")
        return [LBPlan.from_api(x) for x in as_list(payload)]

    async def list(self, project: str) -> list[LoadBalancer]:
        payload = await self._client._get(f"api/v1/projects/{_seg(project)}/load_balancers")
        return [LoadBalancer.from_api(x) for x in as_list(payload)]

    async def get(self, project: str, hash: str) -> LoadBalancer:
        payload = await self._client._get(
            f"api/v1/projects/{_seg(project)}/load_balancers/{_seg(hash)}"
        )
        return LoadBalancer.from_api(as_object(payload))

    async def create(
        self,
        project: str,
        *,
        name: str,
        plan: str | int,
        location: int,
        algorithm: str = "roundrobin",
        targets: Iterable[str | LBTarget | Mapping[str, Any]] | None = None,
        services: Iterable[LBService | Mapping[str, Any]] | None = None,
    ) -> LoadBalancer:
        body = _lb_body(
            name=name,
            plan=plan,
            algorithm=algorithm,
            targets=targets,
            services=services,
            include_ssl=False,
        )
        body["location"] = int(location)
        payload = await self._client.request(
            "POST", f"api/v1/projects/{_seg(project)}/load_balancers", body=body
        )
        return LoadBalancer.from_api(as_object(payload))

    async def update(
        self,
        project: str,
        hash: str,
        *,
        name: str,
        plan: str | int,
        algorithm: str,
        targets: Iterable[str | LBTarget | Mapping[str, Any]] | None = None,
        services: Iterable[LBService | Mapping[str, Any]] | None = None,
    ) -> LoadBalancer:
        body = _lb_body(
            name=name,
            plan=plan,
            algorithm=algorithm,
            targets=targets,
            services=services,
            include_ssl=True,
        )
        payload = await self._client.request(
            "PUT", f"api/v1/projects/{_seg(project)}/load_balancers/{_seg(hash)}", body=body
        )
        return LoadBalancer.from_api(as_object(payload))

    async def delete(self, project: str, hash: str) -> None:
        await self._client.request(
            "DELETE",
            f"api/v1/projects/{_seg(project)}/load_balancers/{_seg(hash)}",
            want_data=False,
        )

    async def reinstall(self, project: str, hash: str) -> LoadBalancer:
        payload = await self._client.request(
            "POST", f"api/v1/projects/{_seg(project)}/load_balancers/{_seg(hash)}/reinstall"
        )
        return LoadBalancer.from_api(as_object(payload))

    async def reports(self, project: str, hash: str) -> dict[str, list[BackendServer]]:
        payload = await self._client._get(
            f"api/v1/projects/{_seg(project)}/load_balancers/{_seg(hash)}/reports"
        )
        return parse_reports(payload)
