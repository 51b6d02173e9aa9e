"""A local HTTP server on 127.0.0.1 for the download tests, and a guard that keeps tests off the network.

    with LocalServer() as server:
        server.add("/mnist.npz", data)                    # served as is
        server.add("/big.bin", data, chunk=1000, delay=0.01)   # slowly, in chunks
        server.fail("/x", 404)                            # answers 404 (or 500, ...)
        server.fail("/y", "truncate", times=1)            # the first request gets half, then a hang-up
        url = server.url("/mnist.npz"); server.count("/mnist.npz")  # requests received
"""
from __future__ import annotations

import http.server
import socket
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server.owner
        path = self.path.split("?")[0]
        with srv.lock:
            srv.counts[path] = srv.counts.get(path, 0) + 1
            action = None
            queue = srv.failures.get(path)
            if queue:
                action = queue[0][0]
                if queue[0][1] is not None:
                    queue[0][1] -= 1
                    if queue[0][1] == 0:
                        queue.pop(0)
            entry = srv.files.get(path)
        if isinstance(action, int):
            body = f"error {action}".encode()
            self.send_response(action)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return
        if entry is None:
            self.send_error(404)
            return
        data, chunk, delay = entry
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        send = data[:len(data) // 2] if action == "truncate" else data
        try:
            for i in range(0, len(send), chunk):
                self.wfile.write(send[i:i + chunk])
                self.wfile.flush()
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


class LocalServer:
    def __init__(self):
        self.files, self.failures, self.counts = {}, {}, {}
        self.lock = threading.Lock()

    def __enter__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    @property
    def base(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def url(self, path):
        return self.base + path.lstrip("/")

    def add(self, path, data: bytes, chunk: int = 1 << 16, delay: float = 0.0):
        with self.lock:
            self.files["/" + path.lstrip("/")] = (bytes(data), chunk, delay)

    def fail(self, path, action, times=None):
        """Answer the next `times` requests of `path` (all if None) with an HTTP status or 'truncate'."""
        with self.lock:
            self.failures.setdefault("/" + path.lstrip("/"), []).append([action, times])

    def count(self, path):
        with self.lock:
            return self.counts.get("/" + path.lstrip("/"), 0)


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host other than this machine."""


def _local(address) -> bool:
    if isinstance(address, (str, bytes)):  # a Unix socket
        return True
    host = address[0]
    return host in ("127.0.0.1", "::1", "localhost") or str(host).startswith("127.")


def block_network(monkeypatch):
    """Make every connection to a host other than 127.0.0.1 raise NetworkBlocked (which no download
    code catches, so the test fails); returns the list of blocked addresses."""
    blocked = []
    real_connect = socket.socket.connect

    def connect(self, address):
        if not _local(address):
            blocked.append(address)
            raise NetworkBlocked(f"the tests never use the network: tried to connect to {address!r}")
        return real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
            blocked.append(host)
            raise NetworkBlocked(f"the tests never use the network: tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return blocked
