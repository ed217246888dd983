"""A real explorer server (uvicorn in a thread, on a free port of 127.0.0.1) for the tests."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request


class Server:
    def __init__(self, session):
        import uvicorn
        from convnet.cli.explore_command import bind
        from convnet.explore.app import create_app
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(session), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)

    def request(self, path, body=None, raw: bytes | None = None):
        """(status, parsed JSON or bytes) of GET ``path`` or POST of ``body``/``raw``."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data,
                                         method="GET" if data is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, content, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, content, kind = error.code, error.read(), error.headers.get_content_type()
        return status, json.loads(content) if kind == "application/json" else content
