"""The local stack: moto in server mode + gateway + SQS pollers + schedule tickers,
all wired by reading template.yaml.

    with LocalStack(port=0) as stack:
        requests.post(stack.base_url + "/leads", json={...})

Start-up order: bind the HTTP port (a busy port fails fast), start moto on a
free loopback port, point this process's AWS environment at it, create every
table/queue/DLQ/bus/SES identity of the template (infra.provision), export the
functions' environment, then start pollers, tickers and the HTTP server.
``stop()`` undoes all of it (and restores the process environment).

The process environment is global, and handler modules keep the clients they
created at import: run one LocalStack per process at a time (``leadflow dev``
runs one per process; start several processes for several stacks).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Self

from infra import iam_probe
from infra.auth import JwtAuthorizer, dev_secret, issue_token
from infra.gateway import DevHandler, Gateway, GatewayServer, HttpRequest, HttpResponse
from infra.lambda_runtime import HandlerUnavailable, LambdaRuntime
from infra.mail_feedback import MailFeedback
from infra.pollers import QueuePoller
from infra.scheduler import Scheduler
from infra.template import Wiring, load_wiring
from leadflow.runtime import reset_process_caches

log = logging.getLogger("infra.local_stack")

DEFAULT_PARAMETERS = {"Stage": "dev"}
DEFAULT_REGION = "eu-central-1"
_AWS_ENV_REMOVED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


class PortInUseError(RuntimeError):
    pass


class LocalStack:
    """One local Leadflow stack. Usable as a context manager.

    port: HTTP port on 127.0.0.1 (0 = pick a free one).
    speed: schedule clock speed-up (60 -> rate(1 minute) fires every second).
    wiring / parameters: the template's wiring (default: template.yaml with Stage=dev).
    handlers: {function logical id: "module.attr"} to replace handlers (tests).
    visibility_timeout: seconds a received message stays invisible locally (retry delay).
    schedules / pollers: switch tickers / queue pollers off (the dev routes still trigger schedules).
    secret: JWT signing secret (default: $LEADFLOW_DEV_SECRET or .leadflow/dev-secret).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        speed: float = 1.0,
        wiring: Wiring | None = None,
        parameters: dict[str, str] | None = None,
        handlers: dict[str, str] | None = None,
        visibility_timeout: int = 2,
        schedules: bool = True,
        pollers: bool = True,
        secret: str | None = None,
        region: str = DEFAULT_REGION,
        stack_name: str = "leadflow",
    ):
        self.requested_port = port
        self.host = host
        self.speed = speed
        self.parameters = {**DEFAULT_PARAMETERS, **(parameters or {})}
        self._wiring = wiring
        self.handler_overrides = dict(handlers or {})
        self.visibility_timeout = visibility_timeout
        self.run_schedules = schedules
        self.run_pollers = pollers
        self.secret = secret
        self.region = region
        self.stack_name = stack_name

        self.wiring: Wiring | None = None
        self.runtime: LambdaRuntime | None = None
        self.gateway: Gateway | None = None
        self.stack: Any = None  # infra.provision.Stack
        self.scheduler: Scheduler | None = None
        self.mail_feedback: MailFeedback | None = None
        self.pollers: list[QueuePoller] = []
        self.stream_pollers: list = []  # infra.streams.StreamPoller
        self.startup_seconds: float | None = None
        self._server: GatewayServer | None = None
        self._moto: Any = None
        self._moto_endpoint: str | None = None
        self._saved_env: dict[str, str | None] = {}
        self._stopped = threading.Event()
        self._started = False

    # ------------------------------------------------------------ properties
    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return self.base_url + "/graphql"

    @property
    def moto_endpoint(self) -> str:
        assert self._moto_endpoint, "start() first"
        return self._moto_endpoint

    def token(self, role: str, user: str | None = None) -> str:
        """A token for a real user: reps and managers must be in the active routing rules
        (default: the first one), or their inbox and team queue would be silently empty."""
        from leadflow.services.routing import team_members, team_refusal

        members = team_members(role)
        if members is not None:
            user = user or members[0]
            refusal = team_refusal(role, user)
            if refusal:
                raise ValueError(refusal)
        return issue_token(role, user, secret=self.secret)

    def client(self, service: str) -> Any:
        """A boto3 client on this stack's emulator."""
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.moto_endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def invoke(self, function: str, event: Any) -> Any:
        assert self.runtime is not None, "start() first"
        return self.runtime.invoke(function, event)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        if self._started:
            return self
        self._started = True
        started = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        log.info("local stack up in %.2f s: %s (AWS emulator %s)", self.startup_seconds, self.base_url,
                 self._moto_endpoint)
        return self

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self.secret = self.secret or dev_secret()
        self.wiring = self._wiring or load_wiring(parameters=self.parameters)
        iam_probe.install(self.wiring)  # records AWS calls per function when LEADFLOW_AWS_CALL_LOG is set
        self.runtime = LambdaRuntime(self.wiring, region=self.region, stack_name=self.stack_name,
                                     overrides=self.handler_overrides)
        self.gateway = Gateway(self.wiring.routes, self.runtime, JwtAuthorizer(self.secret))
        try:
            self._server = GatewayServer(self.gateway, self.host, self.requested_port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {self.requested_port} on {self.host} is in use (another `leadflow dev`?); "
                    "choose another with --port or PORT=") from exc
            raise

        self._moto = _moto_server()
        self._moto.start()
        moto_host, moto_port = self._moto.get_host_and_port()
        self._moto_endpoint = f"http://{moto_host}:{moto_port}"

        self._set_env({
            "AWS_ENDPOINT_URL": self._moto_endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            **{name: None for name in _AWS_ENV_REMOVED},
        })

        from infra.provision import provision

        # The keys SecureString an operator creates before the first deploy: derived from the dev
        # secret (not a well-known value), so links survive a restart of the same checkout.
        keys_seed = hmac.new(self.secret.encode(), b"keys", hashlib.sha256).hexdigest()
        self.stack = provision(self.wiring, name=self.stack_name, region=self.region,
                               parameters=self._local_parameters(), endpoint_url=self._moto_endpoint,
                               keys_seed=keys_seed)
        environment: dict[str, str | None] = {
            "POWERTOOLS_SERVICE_NAME": "leadflow",  # fallbacks: the template's values win
            "POWERTOOLS_METRICS_NAMESPACE": "Leadflow",
            **self.stack.environment(),
            "LEADFLOW_STAGE": self.stack.parameters.get("Stage", "dev"),
            "LEADFLOW_LOCAL_BASE_URL": self.base_url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_SDK_ENABLED": "false",
        }
        self._set_env(environment)

        reset_process_caches()  # clients/settings cached under an earlier emulator (in-process use)

        if self.run_pollers:
            for subscription in self.wiring.subscriptions:
                self.pollers.append(QueuePoller(
                    subscription, runtime=self.runtime,
                    queue_url=self.stack.queue_url(subscription.queue),
                    queue_arn=self.stack.queue_arn(subscription.queue),
                    region=self.region, endpoint_url=self._moto_endpoint,
                    visibility_timeout=self.visibility_timeout))
            from infra.streams import StreamPoller, readers

            for reader in readers(self.stack, self.runtime.invoke, endpoint_url=self._moto_endpoint,
                                  region=self.region):
                self.stream_pollers.append(StreamPoller(reader, can_run=self._loads(reader.subscription.function)))
        self.scheduler = Scheduler(self.wiring.schedules, runtime=self.runtime, region=self.region,
                                   stack_name=self.stack_name, speed=self.speed)
        self.mail_feedback = MailFeedback(self.wiring, self.runtime, sender=os.environ.get("SENDER_EMAIL", ""),
                                          topic_arn=lambda logical: self.stack.physical[logical].ref)
        self._register_dev_routes()
        self.mail_feedback.start()
        for poller in [*self.pollers, *self.stream_pollers]:
            poller.start()
        if self.run_schedules:
            self.scheduler.start()
        self._server.start()

    def _loads(self, function: str):
        """Whether the function's handler loads (no stream is read for a function that cannot run)."""
        def can_run() -> bool:
            try:
                self.runtime.load(function)
            except HandlerUnavailable:
                return False
            return True
        return can_run

    def _local_parameters(self) -> dict[str, str]:
        """Values for template parameters that only make sense locally (like a samconfig
        parameter override for the local 'deployment'); explicit `parameters` win."""
        assert self.wiring is not None and self.secret is not None
        declared = self.wiring.template.get("Parameters", {})
        local: dict[str, str] = {}
        if "PublicBaseUrl" in declared:  # links in mails lead back to this stack
            local["PublicBaseUrl"] = self.base_url
        if "AllowedOrigins" in declared:  # pages served from this machine may post forms
            default = declared["AllowedOrigins"].get("Default")
            origins = [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
            local["AllowedOrigins"] = ",".join(origins + ([default] if default else []))
        return {k: v for k, v in local.items() if k not in self.parameters}

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        for poller in [*self.pollers, *self.stream_pollers]:
            poller.signal_stop()
        if self.scheduler is not None:
            self.scheduler.signal_stop()
        if self.mail_feedback is not None:
            self.mail_feedback.signal_stop()
        for poller in [*self.pollers, *self.stream_pollers]:
            # A poller inside a handler finishes its batch (and deletes what succeeded); one that is
            # only long-polling would return within ~2 s and take nothing: don't wait for it.
            poller.join(timeout=10 if poller.busy else 0.05)
        if self.scheduler is not None:
            self.scheduler.join(timeout=2)
        if self._server is not None:
            self._server.stop()
        if self.runtime is not None:
            self.runtime.close()
        if self._moto is not None:
            self._reset_moto()
            try:
                self._moto.stop()
            except Exception:
                log.debug("moto stop failed", exc_info=True)
        self._restore_env()
        reset_process_caches()
        log.info("local stack stopped")

    def wait(self, wake: threading.Event | None = None) -> None:
        """Block until `wake` is set (see catch_signals) or the stack is stopped."""
        wake = wake or catch_signals()
        while not wake.wait(0.2) and not self._stopped.is_set():
            pass

    # ------------------------------------------------------------ internals
    def _set_env(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _reset_moto(self) -> None:
        # moto's state is per process, shared by every moto server in it: clear it so a
        # later stack (or mock_aws) in the same process starts empty.
        import urllib.request

        try:
            urllib.request.urlopen(urllib.request.Request(self._moto_endpoint + "/moto-api/reset",
                                                          method="POST", data=b""), timeout=2).read()
        except Exception:
            log.debug("moto reset failed", exc_info=True)

    # ------------------------------------------------------------ dev routes
    def add_dev_route(self, method: str, path: str, handler: DevHandler) -> None:
        assert self.gateway is not None
        self.gateway.add_dev_route(method, path, handler)

    def _register_dev_routes(self) -> None:
        """The one place dev-only routes are declared (GET /dev/mail goes here)."""
        self.add_dev_route("GET", "/dev/health", lambda request, params: {"status": "ok"})
        self.add_dev_route("GET", "/dev/info", lambda request, params: self.info())
        self.add_dev_route("GET", "/dev/schedules", lambda request, params: self._schedules_info())
        self.add_dev_route("POST", "/dev/schedules/{name}", self._trigger_schedule)
        from infra import mailbox

        self.add_dev_route("GET", "/dev/mail", mailbox.mailbox_page)
        self.add_dev_route("GET", "/dev/mail.json", mailbox.mailbox_json)
        self.add_dev_route("GET", "/dev/mail/{n}", mailbox.mail_page)

    def write_state_file(self, path: Path) -> None:
        """Where `leadflow import/export/metrics` find this stack (see leadflow/cli/_aws.py)."""
        assert self.stack is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"endpoint": self._moto_endpoint, "baseUrl": self.base_url, "port": self.port,
                                    "pid": os.getpid(), "env": self.stack.environment()}, indent=1))

    def info(self) -> dict[str, Any]:
        assert self.wiring is not None and self.stack is not None and self.gateway is not None
        return {
            "baseUrl": self.base_url,
            "graphqlUrl": self.graphql_url,
            "awsEndpoint": self._moto_endpoint,
            "region": self.region,
            "stackName": self.stack_name,
            "routes": [{"method": r.method, "path": r.path, "function": r.function,
                        "authorizer": r.authorizer} for r in self.gateway.table.routes],
            "devRoutes": [f"{r.method} {r.path}" for r in self.gateway.dev_routes],
            "queues": {logical: self.stack.queue_url(logical)
                       for logical in self.wiring.resources_of_type("AWS::SQS::Queue")},
            "subscriptions": [{"queue": s.queue, "function": s.function, "batchSize": s.batch_size,
                               "reportBatchItemFailures": s.report_batch_item_failures}
                              for s in self.wiring.subscriptions],
            "schedules": self._schedules_info(),
            "environment": self.stack.environment(),
        }

    def _schedules_info(self) -> list[dict[str, Any]]:
        assert self.scheduler is not None
        return [{"name": s.name, "function": s.function, "expression": s.expression,
                 "runs": self.scheduler.runs.get(s.name, 0), "ticking": self.run_schedules}
                for s in self.scheduler.schedules]

    def _trigger_schedule(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        assert self.scheduler is not None
        schedule = self.scheduler.find(params["name"])
        if schedule is None:
            return HttpResponse.json(404, {"message": "Not Found",
                                           "schedules": [s.name for s in self.scheduler.schedules]})
        started = time.perf_counter()
        try:
            result = self.scheduler.trigger(schedule)
        except HandlerUnavailable as exc:
            return HttpResponse.json(exc.status, {"message": exc.reason, "function": exc.function})
        except Exception as exc:  # noqa: BLE001
            log.error("schedule %s failed:\n%s", schedule.name, traceback.format_exc())
            return HttpResponse.json(500, {"message": "Internal Server Error", "schedule": schedule.name,
                                           "error": f"{type(exc).__name__}: {exc}"})
        return HttpResponse.json(200, {"schedule": schedule.name, "function": schedule.function,
                                       "durationMs": round((time.perf_counter() - started) * 1000),
                                       "result": result})


def _moto_server() -> Any:
    """moto in server mode on a free loopback port; with DynamoDB requests serialised
    (infra.emulator) so conditional writes and transactions stay atomic under concurrency."""
    from infra.emulator import LocalAwsServer, one_backup_per_table

    one_backup_per_table()
    return LocalAwsServer(ip_address="127.0.0.1", port=0, verbose=False)



def catch_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> threading.Event:
    """Turn SIGINT/SIGTERM into an event (for a clean stop); a second signal exits at once.

    Only possible from the main thread; elsewhere the returned event is simply never set by signals.
    """
    wake = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return wake

    def on_signal(signum: int, _frame: Any) -> None:
        if wake.is_set():
            os._exit(128 + signum)
        log.info("%s received, stopping (again to force)", signal.Signals(signum).name)
        wake.set()

    for signum in signals:
        signal.signal(signum, on_signal)
    return wake


def configure_logging(level: int = logging.INFO) -> None:
    from infra import logs

    logs.configure(level)  # one readable format, the functions' JSON logs included
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


