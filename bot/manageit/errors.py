"""Exceptions raised by the ManageIT API client.

Every exception carries ``status`` (the HTTP status, or ``None`` when no response
was received) and ``message`` (a human-readable text).  Messages are built by the
client and never contain the API token.
"""

from __future__ import annotations

__all__ = [
    "ManageITError",
    "InvalidToken",
    "Forbidden",
    "NotFound",
    "ValidationFailed",
    "Throttled",
    "ServerError",
    "NetworkError",
    "RequestTimeout",
    "UnexpectedResponse",
]


class ManageITError(Exception):
    """Base class of every error raised by :mod:`bot.manageit`."""

    status: int | None
    message: str

    def __init__(self, message: str = "", status: int | None = None) -> None:
        self.message = message or self.__class__.__name__
        self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(status={self.status!r}, message={self.message!r})"


class InvalidToken(ManageITError):
    """HTTP 401: the token is missing, wrong, expired or revoked."""


class Forbidden(ManageITError):
    """HTTP 403: the token may not touch this resource."""


class NotFound(ManageITError):
    """HTTP 404: unknown project, server or load balancer hash."""


class ValidationFailed(ManageITError):
    """HTTP 422 with the Laravel body ``{"message": ..., "errors": {field: [...]}}``."""

    errors: dict[str, list[str]]

    def __init__(
        self,
        message: str = "",
        status: int | None = 422,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, status)
        self.errors = dict(errors or {})

    def messages(self) -> list[str]:
        """All field messages, flattened, in the order the API gave them."""
        return [text for texts in self.errors.values() for text in texts]


class Throttled(ManageITError):
    """HTTP 429: too many requests; ``retry_after`` is in seconds."""

    retry_after: float

    def __init__(
        self, message: str = "", status: int | None = 429, retry_after: float = 60.0
    ) -> None:
        super().__init__(message, status)
        self.retry_after = float(retry_after)


class ServerError(ManageITError):
    """HTTP 5xx."""


class NetworkError(ManageITError):
    """No usable response: connection refused, reset, DNS failure, TLS error, …

    ``sent``: False when the request certainly never reached ManageIT (the connection could
    not be made), True when it may have (a time-out, a connection dropped mid-way)."""

    sent: bool = True


class RequestTimeout(NetworkError):
    """The request did not complete within the configured time-out."""


class UnexpectedResponse(ManageITError):
    """Unparseable body where data was required, a redirect, or an unmapped 4xx."""
