"""The explorer's web app: the page's static files and the JSON API of :mod:`.session`,
served by Starlette. No route reads a path from a request: the static files are the
package's own, listed when the app is built, and the model is the one given on the command
line. Uploads are limited to :data:`MAX_UPLOAD` bytes; every bad request is a JSON error
``{"error": message}`` with status 400, never a server crash.

Example:
    >>> from convnet.models import build_model
    >>> from convnet.explore import ExploreSession
    >>> session = ExploreSession(build_model("digits-cnn", (1, 8, 8), 10, rng=0),
    ...                          {"input_shape": [1, 8, 8]}, samples=[])
    >>> sorted(route.path for route in create_app(session).routes)[:4]
    ['/', '/api/filters', '/api/forward', '/api/model']
"""

from __future__ import annotations

import json
import os

from .session import ExploreError

MAX_UPLOAD = 5 * 2**20
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
ASSETS = {"/": ("index.html", "text/html; charset=utf-8"),
          "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
          "/explore.css": ("explore.css", "text/css; charset=utf-8")}


def create_app(session):
    """A Starlette app answering the page and its API for ``session``."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    assets = {}
    for route, (name, media) in ASSETS.items():   # read once: requests never name files
        with open(os.path.join(STATIC, name), "rb") as handle:
            assets[route] = (handle.read(), media)

    def page(request):
        body, media = assets[request.url.path]
        return Response(body, media_type=media, headers={"Cache-Control": "no-store"})

    def handler(answer):
        async def endpoint(request):
            try:
                if request.method == "POST":
                    body = await request.body()
                    if len(body) > MAX_UPLOAD:
                        raise ExploreError(f"request: larger than {MAX_UPLOAD // 2**20} MB")
                    result = await answer(request, body)
                else:
                    result = await answer(request, b"")
            except ExploreError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            except (ValueError, TypeError) as error:   # what the library refused
                return JSONResponse({"error": f"{type(error).__name__}: {error}"},
                                    status_code=400)
            return JSONResponse(result)
        return endpoint

    def parsed(body: bytes) -> dict:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise ExploreError("request: the body is not JSON") from None
        if not isinstance(value, dict):
            raise ExploreError("request: expected a JSON object")
        return value

    async def model(request, body):
        return session.describe()

    async def sample(request, body):
        try:
            index = int(request.path_params["index"])
        except ValueError:
            raise ExploreError("sample: expected a number") from None
        return {"pixels": session.image({"sample": index}).astype(float).tolist()}

    async def upload(request, body):
        if not body:
            raise ExploreError("upload: no file")
        return session.upload(body, drawing=request.query_params.get("drawing") == "1")

    async def forward(request, body):
        return session.forward(parsed(body))

    async def unit(request, body):
        value = parsed(body)
        return session.unit(value.get("image"), value.get("layer"), value.get("channel"),
                            value.get("y", 0), value.get("x", 0))

    async def filters(request, body):
        return session.filters(parsed(body).get("layer"))

    async def saliency(request, body):
        value = parsed(body)
        return session.saliency(value.get("image"), value.get("target"))

    async def playground(request, body):
        return session.playground(parsed(body))

    def no_icon(request):
        return Response(status_code=204)

    routes = [Route(path, page) for path in ASSETS] + [Route("/favicon.ico", no_icon)]
    routes += [Route("/api/model", handler(model)),
               Route("/api/sample/{index}", handler(sample)),
               Route("/api/upload", handler(upload), methods=["POST"]),
               Route("/api/forward", handler(forward), methods=["POST"]),
               Route("/api/unit", handler(unit), methods=["POST"]),
               Route("/api/filters", handler(filters), methods=["POST"]),
               Route("/api/saliency", handler(saliency), methods=["POST"]),
               Route("/api/playground", handler(playground), methods=["POST"])]
    return Starlette(routes=routes)
