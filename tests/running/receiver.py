"""A local HTTP receiver for Apprise's JSON scheme (`json://127.0.0.1:PORT/PATH`): it
keeps every notification posted to it, and can be held (answers wait) or refuse."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        self.released = threading.Event()
        self.released.set()
        self.waiting = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.waiting += 1
                outer.released.wait(30)
                outer.waiting -= 1
                if outer.status == 200:
                    outer.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "shop") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        return [p["title"] for p in self.posts]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
