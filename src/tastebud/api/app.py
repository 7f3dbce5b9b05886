"""``create_app(settings)``: the HTTP API as an ASGI app, built from explicit settings."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi_swagger import patch_fastapi

from tastebud import __version__
from tastebud.api import cleanup, errors, images, panel, routes
from tastebud.api.guards import (
    AllowedHosts,
    BodyLimit,
    NoNulInUrl,
    RequireToken,
    SameOrigin,
    SecurityHeaders,
)
from tastebud.api.workers import follow_supervisor
from tastebud.describing import Describing, VisionSettings
from tastebud.importers.styles import StylePass
from tastebud.service import PreferenceLearning
from tastebud.settings import Settings

IMPORT_PATH = "/api/preferences/import"
WEB = Path(__file__).resolve().parent.parent / "web"

DESCRIPTION = """\
tastebud learns which Stable Diffusion checkpoints and LoRAs a person likes from the images they
keep and reject, and recommends them for the next prompt.

Every endpoint takes `user_id` (default `"default"`). Every error has one shape:
`{"status": 422, "error": "Invalid input", "details": [{"field": "...", "reason": "..."}]}`
(the OpenAPI schema's `ErrorBody`, declared for every 4XX and 5XX answer).
"""


def create_app(
    settings: Settings | None = None, *, learning: PreferenceLearning | None = None
) -> FastAPI:
    """The API over the settings' database (or over ``learning``, which the caller then closes)."""
    settings = settings or Settings()
    owned = learning is None
    learning = learning or PreferenceLearning(settings.database, half_life_days=settings.half_life)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (the app, the libraries) lives as long as the server: leave it
        # out of the cycle collector's full passes, which otherwise stalled a request for 35 ms
        # every few seconds under load.
        gc.freeze()
        # The pictures of images imported before (or by another process) still to be read.
        app.state.styles.start()
        if app.state.vision is not None:
            app.state.vision.start()
        try:
            yield
        finally:
            await app.state.styles.stop()
            if app.state.vision is not None:
                await app.state.vision.stop()
            if owned:
                await app.state.preferences.aclose()

    app = FastAPI(
        title="tastebud", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        # /docs below, with files of its own (and no OAuth: there is none to redirect)
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )  # fmt: skip
    app.state.preferences = learning
    app.state.settings = settings
    # Thumbnails and the style pass decode one image at a time: a few requests for large images
    # at the same time would otherwise hold several decoded images in memory together.
    app.state.decoding = asyncio.Semaphore(1)
    app.state.styles = StylePass(learning, app.state.decoding)
    app.state.vision = (
        Describing(
            learning,
            VisionSettings(settings.vision_url, settings.vision_model, settings.vision_timeout),
            settings.allowed_folders,
        )
        if settings.vision_url
        else None
    )
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(images.router)
    app.include_router(cleanup.router)
    app.include_router(panel.router)
    # The web panel: static files written by hand, served as they are (no build step).
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html")

    # The API's interactive documentation at /docs, with Swagger UI's files served by this
    # server (fastapi-swagger): FastAPI's default page loads them from a CDN, and was blank on a
    # machine without the internet.
    patch_fastapi(app, redirect_from_root_to_docs=False, title="tastebud API")

    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        by_path={IMPORT_PATH: settings.max_import_bytes},
    )
    app.add_middleware(NoNulInUrl)
    if settings.token is not None:
        app.add_middleware(RequireToken, token=settings.token, cookie=settings.token_cookie)
    # Added last, run first: the host named, then where a browser says the request comes from.
    app.add_middleware(SameOrigin)
    app.add_middleware(AllowedHosts, hosts=settings.hosts)
    app.add_middleware(SecurityHeaders)

    return app


def from_environment() -> FastAPI:
    """The app with settings from the environment: what each worker process of
    ``tastebud serve --workers N`` builds. The worker ends when the supervisor does."""
    follow_supervisor(os.environ)
    return create_app(Settings.from_environment(os.environ))
