"""A dataset mirror on 127.0.0.1 for download tests: real HTTP, so the code under test
(pooch and requests) runs as it does against the published mirrors.

``with Mirror({"a.gz": b"..."}) as mirror:`` serves each name at ``mirror.url + name``,
answers 404 for anything else, records the paths asked for in ``mirror.asked``, and with
``cut_after=N`` announces the whole length but closes the connection after N bytes.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Mirror:
    def __init__(self, files: dict, cut_after: int | None = None):
        self.files, self.cut_after, self.asked = dict(files), cut_after, []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's name)
                name = self.path.rsplit("/", 1)[-1]
                mirror.asked.append(name)
                if name not in mirror.files:
                    self.send_error(404, "Not Found")
                    return
                content = mirror.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                sent = content if mirror.cut_after is None else content[:mirror.cut_after]
                self.wfile.write(sent)
                self.wfile.flush()
                if mirror.cut_after is not None:
                    self.close_connection = True

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Mirror":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
