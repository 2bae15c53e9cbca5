"""Routes about the API itself: its OpenAPI document (public, so tools and the hosted site can fetch it)."""

from __future__ import annotations

from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("api")

OPENAPI_PATH = "/api/v1/openapi.json"


@router.route(
    "GET",
    OPENAPI_PATH,
    access=Access.PUBLIC,
    summary="This API's OpenAPI 3.1 document, built from the route declarations",
    tags=("meta",),
)
def get_openapi_document(ctx: RequestContext) -> ApiResponse:
    # Imported here: building the document imports every public router, which only this route needs.
    from shared.web.openapi import document_bytes

    response = ApiResponse(status=200, body=document_bytes(), content_type="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
