"""The ``sync_dispatch`` function's router (declared in ``shared.api.sync_routes``)."""

from shared.api.sync_routes import dispatch_router as router

__all__ = ["router"]
