"""One readable log format for `leadflow dev`.

The functions log through powertools (one JSON object per line, what CloudWatch
wants); the stack's own modules log plain lines. Locally both come out as
`12:51:29.461 INFO  CaptureFunction: lead captured lead_id=01m… new_lead=True`:
the function's JSON is rendered into the plain format (the function from the
execution environment's thread, so it is right when functions run at once), and
so are the CloudWatch embedded-metric JSON lines powertools prints
(`CaptureFunction: metrics LeadsCaptured=1`). On AWS nothing of this runs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, TextIO

FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-5s %(name)s: %(message)s"
DATE_FORMAT = "%H:%M:%S"
# powertools' keys that say nothing locally (the function is in the line's name already)
_SAID_ELSEWHERE = frozenset({
    "level", "location", "message", "timestamp", "service", "cold_start", "function_name",
    "function_memory_size", "function_arn", "function_request_id", "correlation_id", "xray_trace_id",
    "sampling_rate", "exception", "exception_name", "stack_trace"})
_enabled = False


class ReadableFunctionFormatter(logging.Formatter):
    """Wraps powertools' JSON formatter: its keys (append_keys, the Lambda context) still work."""

    def __init__(self, inner: logging.Formatter):
        super().__init__(FORMAT, DATE_FORMAT)
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # append_keys, remove_keys, clear_state, ...
        return getattr(self.inner, name)

    def format(self, record: logging.LogRecord) -> str:
        try:
            data = json.loads(self.inner.format(record))
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict):
            data = {}
        extras = " ".join(f"{key}={value}" for key, value in data.items()
                          if key not in _SAID_ELSEWHERE)
        line = logging.makeLogRecord({
            **record.__dict__, "msg": record.getMessage() + (f" {extras}" if extras else ""), "args": None,
            "name": _function_of(record.threadName, record.name)})
        return super().format(line)


def _function_of(thread: str | None, default: str) -> str:
    return thread.removeprefix("lambda:") if thread and thread.startswith("lambda:") else default


def _total(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return f"{sum(v for v in values if isinstance(v, int | float)):g}"


class _MetricLines:
    """stdout that renders powertools' embedded-metric JSON (printed, not logged) as a log line."""

    def __init__(self, out: TextIO):
        self.out = out
        self._after_metric = threading.local()

    def write(self, text: str) -> int:
        if text.startswith('{"_aws"'):
            try:
                data = json.loads(text)
                names = [m["Name"] for d in data["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
            except (ValueError, KeyError, TypeError):
                return self.out.write(text)
            values = " ".join(f"{name}={_total(data.get(name))}" for name in names)
            thread = threading.current_thread().name
            logging.getLogger(_function_of(thread, "metrics")).info("metrics %s", values)
            self._after_metric.value = True
            return len(text)
        if text == "\n" and getattr(self._after_metric, "value", False):  # print()'s newline after it
            self._after_metric.value = False
            return 1
        self._after_metric.value = False
        return self.out.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, ...
        return getattr(self.out, name)


def configure(level: int = logging.INFO) -> None:
    """The dev log: plain lines for everyone, the functions' JSON logs and metrics included."""
    global _enabled
    _enabled = True
    logging.basicConfig(level=level, format=FORMAT, datefmt=DATE_FORMAT)
    if not isinstance(sys.stdout, _MetricLines):
        sys.stdout = _MetricLines(sys.stdout)  # type: ignore[assignment]


def after_handler_import() -> None:
    """A handler module was imported: its powertools logger now exists; render it readable."""
    if not _enabled:
        return
    service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
    for handler in logging.getLogger(service).handlers:
        if handler.formatter is not None and not isinstance(handler.formatter, ReadableFunctionFormatter):
            handler.setFormatter(ReadableFunctionFormatter(handler.formatter))
