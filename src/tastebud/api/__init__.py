"""The HTTP API: ``create_app(settings)`` builds it; ``tastebud serve`` runs it with uvicorn."""

from tastebud.api.app import create_app

__all__ = ["create_app"]
