"""The one application error type that services raise.

Pages turn it into a form error or a message, the API into a 400 with field messages
(``satisfaction.api_errors``). ``fields`` maps a field name (or ``"non_field_errors"``) to
messages; ``code`` is a stable machine-readable reason.
"""

from __future__ import annotations


class ApplicationError(Exception):
    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        code: str = "invalid",
        status: int = 400,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        self.fields = fields or {}
        self.code = code
        self.status = status
        # Seconds a client should wait before trying again (429, 503): the Retry-After header.
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.message, "fields": self.fields}
