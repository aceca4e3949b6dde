"""Serving the built browser client (``web/dist``) from the same origin as the API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.errors import not_found

NOT_BUILT = (
    "<!doctype html><title>Haven</title><h1>Haven</h1>"
    "<p>The web client has not been built. Run <code>npm ci &amp;&amp; npm run build</code> in "
    "<code>web/</code>, or start Haven with <code>./scripts/serve</code>.</p>"
)
# File names the build produces; anything else (dot files, traversal) never matches.
ASSET = r"{path:[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)?}"


def add_routes(app: web.Application, web_dir: Path) -> None:
    root = web_dir.resolve()
    index = root / "index.html"

    async def page(_request: web.Request) -> web.StreamResponse:
        if not index.is_file():
            return web.Response(text=NOT_BUILT, content_type="text/html", status=503)
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def asset(request: web.Request) -> web.StreamResponse:
        path = (root / request.match_info["path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise not_found("file")
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", page)
    # Registered after the API, so an unknown /api/ path is answered in the error shape, not as a file.
    app.router.add_get("/" + ASSET, asset)
