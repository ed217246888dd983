"""``convnet explore MODEL``: the explorer page for a trained model, served on 127.0.0.1.

The server binds 127.0.0.1 unless ``--host`` says otherwise (then it warns: anyone who can
reach that address can use the page). It serves the page's own files and the model given
here, nothing else. Ctrl-C stops it.
"""

from __future__ import annotations

import socket
import sys
import threading

DEFAULT_PORT = 8765


def add_parser(commands) -> None:
    parser = commands.add_parser("explore", help="an interactive page to look inside a model",
                                 description="Serve a local web page showing the model's layers, "
                                             "units, filters and saliency for your own input.")
    parser.add_argument("model", help="a model.safetensors written by convnet train, or an .onnx file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port ({DEFAULT_PORT}; another free one if it is taken; 0: any)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(run=run)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or on a free port when that one is taken."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port: expected 0-65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in ((port, 0) if port else (0,)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            if candidate == 0:
                raise OSError(f"--host {host}: cannot listen there ({error.strerror})") from None
            continue
        sock.listen(64)
        return sock
    raise OSError("no free port")


def run(args) -> int:
    try:
        import uvicorn
        from ..explore.app import create_app
    except ImportError as error:
        raise ImportError(f'convnet explore needs the web extra: pip install "convnet[explore]" '
                          f'({error})') from None
    from ..explore import ExploreSession
    from .model_file import load_model
    model, metadata = load_model(args.model)
    session = ExploreSession(model, metadata)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: --host {args.host}: the page is reachable from other machines; it runs "
              f"the model on whatever they send", file=sys.stderr)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}/"
    print(f"convnet explore: {args.model} at {url}  (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        import webbrowser
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    config = uvicorn.Config(create_app(session), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
