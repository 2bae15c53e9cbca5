"""The ``report_worker`` function's router (declared in ``shared.api.report_jobs_routes``)."""

from shared.api.report_jobs_routes import worker_router as router

__all__ = ["router"]
