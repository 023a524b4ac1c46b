"""A group-robot (WeCom / DingTalk) webhook stand-in for the outbox tests
(tests/satisfaction/test_outbox.py, tests/complaints/test_celery_worker.py)."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

KEY_HEADER = re.compile(r"^X-Idempotency-Key: ([0-9a-f-]{36})$", re.MULTILINE)


class WebhookReceiver:
    """A group-robot stand-in on 127.0.0.1: records the idempotency key of every request (also
    used by the worker test in tests/complaints/test_celery_worker.py). ``status`` and
    ``reply`` say what it answers; ``delay`` slows each answer down."""

    def __init__(self, *, status: int = 200, reply: bytes = b'{"errcode": 0}',
                 delay: float = 0.0) -> None:
        self.status, self.reply, self.delay = status, reply, delay
        self.keys: list[str] = []
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                receiver.bodies.append(body)
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *args):
                """No access log on the test's output."""

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A sender killed mid-request (the worker test's kill -9) drops its connection:
                # expected there. Anything else is reported as usual.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?key=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
