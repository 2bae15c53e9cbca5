"""The ``reports_dispatch`` function's router (declared in ``shared.api.report_jobs_routes``)."""

from shared.api.report_jobs_routes import dispatch_router as router

__all__ = ["router"]
