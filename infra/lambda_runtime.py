"""Run the template's Lambda handlers in this process.

Handlers are imported lazily (on their first invocation), so a missing or
broken function only affects its own routes, queues and schedules, and a
handler module added while the stack runs is picked up on the next call.

Each function gets one execution environment: a worker thread with its own
asyncio event loop (Mangum and other async adapters need one, as on Lambda's
main thread) that runs one invocation at a time, like a single warm Lambda
container. Different functions run concurrently. An invocation that outlives
the function's Timeout fails with "Task timed out" (the thread cannot be
killed: it finishes in the background and delays that function's next call).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from infra import logs
from infra.template import Wiring

log = logging.getLogger("infra.lambda")

ACCOUNT_ID = "123456789012"


class HandlerUnavailable(Exception):
    """The function's handler cannot be loaded.

    status: 501 when its module or attribute does not exist (not built yet),
    502 when it exists but fails to import.
    """

    def __init__(self, function: str, handler: str, status: int, reason: str):
        super().__init__(f"{function} ({handler}): {reason}")
        self.function = function
        self.handler = handler
        self.status = status
        self.reason = reason


class LambdaTimeout(Exception):
    def __init__(self, function: str, seconds: int):
        super().__init__(f"{function}: Task timed out after {seconds} seconds")
        self.function = function
        self.seconds = seconds


class _ExecutionEnvironment:
    """One daemon worker thread with an event loop, running submitted calls in order."""

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((call, future))
        return future

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while (item := self._queue.get()) is not None:
                call, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(call())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    future.set_exception(exc)
        finally:
            loop.close()


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that handlers and powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """Loads and invokes the handlers of a Wiring.

    overrides: {function logical id: "module.attr"} replaces a handler (tests).
    """

    def __init__(
        self,
        wiring: Wiring,
        *,
        region: str,
        stack_name: str = "leadflow",
        overrides: dict[str, str] | None = None,
    ):
        self.wiring = wiring
        self.region = region
        self.stack_name = stack_name
        self._overrides = dict(overrides or {})
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._environments: dict[str, _ExecutionEnvironment] = {}
        self._lock = threading.Lock()
        self._reported: set[tuple[str, str]] = set()
        self._closed = False

    def handler_path(self, function: str) -> str:
        if function in self._overrides:
            return self._overrides[function]
        return self.wiring.functions[function].handler

    def function_name(self, function: str) -> str:
        return f"{self.stack_name}-{function}"

    def function_arn(self, function: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name(function)}"

    def memory(self, function: str) -> int:
        resource = self.wiring.resources.get(function, {})
        return int(resource.get("Properties", {}).get("MemorySize", 128))

    def context(self, function: str) -> LambdaContext:
        spec = self.wiring.functions[function]
        return LambdaContext(
            function_name=self.function_name(function),
            memory_limit_in_mb=self.memory(function),
            invoked_function_arn=self.function_arn(function),
            timeout_seconds=spec.timeout,
        )

    def load(self, function: str) -> Callable[[Any, Any], Any]:
        """The handler callable; raises HandlerUnavailable (and logs it once per reason)."""
        handler = self._handlers.get(function)
        if handler is not None:
            return handler
        if function not in self.wiring.functions:
            raise HandlerUnavailable(function, "?", 501, "not a function of the template")
        path = self.handler_path(function)
        with self._lock:
            if function in self._handlers:
                return self._handlers[function]
            try:
                handler = _import_handler(function, path)
            except HandlerUnavailable as exc:
                key = (function, exc.reason)
                if key not in self._reported:
                    self._reported.add(key)
                    if exc.status == 501:
                        log.warning("%s: handler %s is not available: %s", function, path, exc.reason)
                    else:
                        log.error("%s: handler %s failed to import", function, path,
                                  exc_info=exc.__cause__ or exc)
                raise
            self._handlers[function] = handler
            logs.after_handler_import()
            log.info("%s: loaded %s", function, path)
            return handler

    def invoke(self, function: str, event: Any) -> Any:
        """Call the function's handler with the event in its execution environment and wait.

        Exceptions of the handler propagate; LambdaTimeout after the function's Timeout
        (counted from the start of the invocation, not from the time spent queued)."""
        handler = self.load(function)
        started = threading.Event()
        timeout = self.wiring.functions[function].timeout

        def call() -> Any:
            context = self.context(function)
            started.set()
            return handler(event, context)

        future = self._environment(function).submit(call)
        while not started.wait(0.5):
            if self._closed or future.done():
                break
        try:
            return future.result(timeout=timeout if started.is_set() else 0)
        except FutureTimeout:
            if not started.is_set():
                future.cancel()
                raise RuntimeError(f"{function}: runtime stopped before the invocation started") from None
            log.error("%s: Task timed out after %d seconds (it keeps running in the background)",
                      function, timeout)
            raise LambdaTimeout(function, timeout) from None

    def _environment(self, function: str) -> _ExecutionEnvironment:
        with self._lock:
            environment = self._environments.get(function)
            if environment is None:
                environment = self._environments[function] = _ExecutionEnvironment(f"lambda:{function}")
            return environment

    def close(self) -> None:
        """Let the execution environments end (after their current invocation)."""
        self._closed = True
        with self._lock:
            for environment in self._environments.values():
                environment.stop()
            self._environments.clear()


def _import_handler(function: str, path: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise HandlerUnavailable(function, path, 501, "handler must be 'module.function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # The handler's own module (or its package) is missing: not built yet.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise HandlerUnavailable(function, path, 501, f"module {module_name} does not exist") from exc
        raise HandlerUnavailable(function, path, 502, f"import failed: {exc}") from exc
    except Exception as exc:
        raise HandlerUnavailable(function, path, 502, f"import failed: {type(exc).__name__}: {exc}") from exc
    handler = getattr(module, attr, None)
    if handler is None:
        raise HandlerUnavailable(function, path, 501, f"{module_name} has no attribute {attr}")
    if not callable(handler):
        raise HandlerUnavailable(function, path, 502, f"{path} is not callable")
    return handler
