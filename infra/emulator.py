"""moto in server mode, with DynamoDB requests applied one at a time.

DynamoDB applies each conditional write and transaction atomically; moto's
server handles requests on threads without a lock, so two concurrent
transactions can both pass their condition checks. Serialising DynamoDB
requests (and only those: SQS long polls must not block everyone) restores the
guarantee the code relies on, while clients still race as they do on AWS.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class _SerialisedDynamoDB:
    def __init__(self, app: Any):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self._lock:
                # materialise the body inside the lock: the write happens while iterating
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


class LocalAwsServer(ThreadedMotoServer):
    def _server_entry(self) -> None:  # same as moto's, with the DynamoDB lock around the app
        from moto.moto_server.threaded_moto_server import MotoRequestHandler

        app = _SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_aws(port: int | None = None) -> tuple[LocalAwsServer, str]:
    """Start the emulator on loopback; returns (server, endpoint_url)."""
    one_backup_per_table()
    port = port or free_port()
    server = LocalAwsServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def one_backup_per_table() -> None:
    """moto backs up a whole table once per *item* of a TransactWriteItems (a stage change writes
    ~35 counter items: 35 copies of the metrics table). One copy per table is the same backup,
    and keeps tests and the local stack fast as tables grow. Safe because DynamoDB requests are
    applied one at a time (see _SerialisedDynamoDB; in-process tests are single-threaded)."""
    import copy

    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend.transact_write_items, "_one_backup_per_table", False):
        return
    original = models.DynamoDBBackend.transact_write_items

    class _OneCopyPerTable:
        def __init__(self) -> None:
            self.copies: dict[int, object] = {}

        def deepcopy(self, value, memo=None):
            if isinstance(value, models.Table):
                if id(value) not in self.copies:
                    self.copies[id(value)] = copy.deepcopy(value, memo)
                return self.copies[id(value)]
            return copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

    def transact_write_items(self, transact_items):
        models.copy = _OneCopyPerTable()
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy

    transact_write_items._one_backup_per_table = True
    models.DynamoDBBackend.transact_write_items = transact_write_items
