"""The ``sync_worker`` function's router (declared in ``shared.api.sync_routes``)."""

from shared.api.sync_routes import worker_router as router

__all__ = ["router"]
