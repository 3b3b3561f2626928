"""Logging filters that the LOGGING setting attaches to Django's loggers."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class PermissionDeniedFilter(logging.Filter):
    """Turn Django's record of a PermissionDenied into one line with path and status.

    A user without the role a page needs is an ordinary 403, so its traceback
    only buries real errors in the console. The record keeps no traceback,
    and other records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = getattr(record, "status_code", None)
        # A 403 page that fails to render turns into a 500, which keeps its traceback.
        if isinstance(error, PermissionDenied) and status == 403:
            # django.utils.log.log_response passes the path, escaped, as the only argument.
            path = record.args[0] if isinstance(record.args, tuple) and record.args else ""
            record.msg = "permission denied path=%s status=%s"
            record.args = (path, status)
            record.exc_info = None
            record.exc_text = None
        return True
