"""Loopback stand-ins for a Stripe that fails: nothing listening, a server that never answers, and a
proxy to localstripe that loses answers. Used by tests/orders/test_stripe_faults.py.

localstripe does not implement idempotency keys, so `LossyStripeProxy` supplies Stripe's documented
behaviour in front of it: the first answer to a POST is stored under its `Idempotency-Key` and a
later POST with the same key gets that answer again without reaching localstripe (Stripe does the
same for 24 hours). The proxy records every request, so a test can prove that our retries carried
the same key, and count what localstripe really created.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class DeadPort:
    """A loopback port bound but not listening: every connection is refused at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


class SilentServer:
    """Accepts connections, reads the requests, never answers (a Stripe that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[dict[str, str]] = []  # headers of each request received (lower-case names)
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        data = b""
        conn.settimeout(10)
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {"request-line": head[0]}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self._lock:
            self.requests.append(headers)

    def close(self):
        self._closed.set()
        self.sock.close()
        with self._lock:
            for conn in self._conns:
                conn.close()


@dataclass
class Seen:
    method: str
    path: str
    key: str | None
    action: str  # forwarded | dropped | replayed


class LossyStripeProxy:
    """Forwards to localstripe; `drop(method, path_prefix)` loses the next matching answer after
    localstripe did the work (the connection closes without a response: a lost reply/timeout)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self._drops: list[tuple[str, str]] = []
        self._replies: dict[str, tuple[int, str, bytes]] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                proxy._handle(self)

            do_GET = do_POST = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def drop(self, method: str, path_prefix: str) -> None:
        with self._lock:
            self._drops.append((method, path_prefix))

    def posts(self, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path.startswith(path_prefix)]

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for i, (m, prefix) in enumerate(self._drops):
                if m == method and path.startswith(prefix):
                    del self._drops[i]
                    return True
        return False

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        key = h.headers.get("Idempotency-Key")
        method, path = h.command, h.path
        with self._lock:
            stored = self._replies.get(key) if (method == "POST" and key) else None
        if stored is not None:
            self.seen.append(Seen(method, path, key, "replayed"))
            self._reply(h, *stored)
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        res = requests.request(method, self.upstream + path, data=body, headers=headers, timeout=10)
        if method == "POST" and key and res.status_code < 500:
            with self._lock:
                self._replies[key] = (res.status_code, res.headers.get("Content-Type", "application/json"), res.content)
        if self._take_drop(method, path):
            self.seen.append(Seen(method, path, key, "dropped"))
            h.close_connection = True  # the work is done upstream; the caller never hears of it
            return
        self.seen.append(Seen(method, path, key, "forwarded"))
        self._reply(h, res.status_code, res.headers.get("Content-Type", "application/json"), res.content)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
