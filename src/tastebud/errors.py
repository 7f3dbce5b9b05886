"""The one error type a caller of tastebud needs to catch for bad input."""

from __future__ import annotations


class TastebudError(Exception):
    """Base class of every error tastebud raises on purpose."""


class InvalidInput(TastebudError, ValueError):
    """Input that tastebud refuses; nothing was written.

    ``field`` names what is wrong in the caller's terms (``"loras[1].strength"``,
    ``"preferences[12].checkpoint"``) and ``reason`` says why, so an adapter can show both.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def within(self, prefix: str) -> InvalidInput:
        """The same error, with its field placed inside ``prefix`` (``preferences[3]``)."""
        return InvalidInput(f"{prefix}.{self.field}", self.reason)


class InvalidJson(InvalidInput):
    """Input that is not JSON at all (the HTTP API answers 400 rather than 422)."""


class DatabaseUnavailable(TastebudError):
    """The database could not be opened or reached (a missing folder's permissions, a server down).

    ``detail`` is the driver's own message: fine for the person at the terminal, never sent to an
    HTTP client.
    """

    def __init__(self, database: str, detail: str) -> None:
        super().__init__(f"cannot use the database {database}: {detail}")
        self.database = database
        self.detail = detail
