"""The API blueprint: every area's operations, authentication, the OpenAPI document, the docs."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, render_template, request, url_for

from governance.api import (  # noqa: F401  (each area registers its operations)
    approvals,
    auth,
    errors,
    executions,
    policies,
    queues,
    workflows,
)
from governance.api.spec import bp, openapi_document
from governance.extensions import csrf
from governance.version import __version__

docs_bp = Blueprint("api_docs", __name__)
bp.before_request(auth.authenticate_request)


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(openapi_document("Steward API", __version__))


@docs_bp.route("/api/docs")
def docs():
    if request.headers.get("HX-Boosted"):
        # htmx runs no scripts from a boosted swap (allowScriptTags: false), so Swagger UI would
        # never start: ask for a real page load instead.
        return Response(status=204, headers={"HX-Redirect": url_for("api_docs.docs")})
    return render_template("api/docs.html")


def init_app(app: Flask) -> None:
    # Bearer tokens only, no cookie: nothing a browser could be tricked into sending (see auth).
    csrf.exempt(bp)
    errors.register(app)
    auth.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
