"""Calendar-feed tokens never reach a log line.

A feed's URL (``/feeds/drills/<token>.ics``, also ``/api/v1/calendar-feeds/<token>.ics``) is
its only credential, and access logs are kept and read more widely than the database. Every
request line is passed through :func:`redact`, which replaces the token segment by
``[token]``:

- the development server (werkzeug) and Flask's "Exception on <path>" lines, by a logging filter
  that :func:`install` puts on those loggers (``create_app`` calls it);
- gunicorn's access log, by :class:`GunicornLogger`, set as ``logger_class`` in the repository's
  ``gunicorn.conf.py`` (the Procfile starts gunicorn with it); every atom of the access-log
  format is redacted (request line, path, query, referrer, headers), whatever the format.
"""
from __future__ import annotations

import logging
import re
from typing import Any

#: A feed path's token segment (a feed's numeric id under /api/v1/calendar-feeds/ is kept).
FEED_TOKEN = re.compile(
    r"(?P<prefix>/+(?:feeds/+drills|api/+v1/+calendar-feeds)/+)(?!\d+(?:[/?#\s\"']|$))(?P<token>[^/?#\s\"']+)",
    re.IGNORECASE)


def _replace(match: re.Match) -> str:
    suffix = ".ics" if match["token"].lower().endswith(".ics") else ""
    return f"{match['prefix']}[token]{suffix}"


def redact(text: str) -> str:
    """``text`` with every calendar-feed token replaced by ``[token]``."""
    return FEED_TOKEN.sub(_replace, text)


class RedactFeedTokens(logging.Filter):
    """Rewrites a record whose message names a feed token (the record is always kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is logging's to report, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


#: Loggers that write request paths: werkzeug's request lines, Flask's "Exception on <path>".
LOGGERS = ("werkzeug", "emergency")


def install(names: tuple[str, ...] = LOGGERS) -> None:
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn serves production; the development server does not need it
    _GunicornLogger = None

if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with feed tokens redacted from every access-log atom."""

        def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
            found = super().atoms(resp, req, environ, request_time)
            return {key: redact(value) if isinstance(value, str) else value for key, value in found.items()}
