"""Logs as one JSON object per line, so that a log shipper reads them without parsing text.

Every line carries `time`, `level`, `logger` and `message`; lines written while a request is served also carry its
`request_id` (taken from a context variable the request middleware sets); whatever a caller passes as `extra=` is
merged in (an access line adds `route`, `method`, `status`, `duration_ms`). A stack trace goes into the line's
`exception` field and nowhere else: never into an answer."""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

request_id: ContextVar[str | None] = ContextVar("dealdesk_request_id", default=None)
"""The id of the request being served in this task (None outside a request)."""

_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "color_message", "taskName"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


LOGGING: Final[dict[str, Any]] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "dealdesk": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
"""The logging configuration of `dealdesk serve` (its supervisor and every worker). uvicorn's own access log is
off: dealdesk writes its own access lines, in JSON and with the request id and route template."""


def configure() -> None:
    logging.config.dictConfig(LOGGING)
