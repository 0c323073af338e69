"""Steward: governance policies, workflows and approvals. create_app() builds the Flask app."""

from __future__ import annotations

from flask import Flask

from governance.config import PROJECT_ROOT, Config, instance_dir
from governance.version import __version__

__all__ = ["__version__", "create_app"]


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(instance_dir()),
    )
    app.config.from_object(Config())
    if config:
        app.config.update(config)

    register_extensions(app)
    register_features(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from governance import audit, engine, models  # noqa: F401  (models: every table)
    from governance.auth.access import configure_login_manager
    from governance.auth.throttle import login_throttle
    from governance.extensions import csrf, db, login_manager, migrate
    from governance.queues import alerts, recorder  # noqa: F401  (recorder: Huey's signals)
    from governance.web import local_time, security, timing

    db.init_app(app)
    timing.init_app(app)  # first, so its clock also covers the other extensions' hooks
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    configure_login_manager()
    login_throttle.init_app(app)
    security.init_app(app)
    engine.init_app()
    audit.init_app()
    alerts.init_app(app)
    local_time.init_app(app)


def register_features(app: Flask) -> None:
    """What each feature contributes to the engine and to the others (subscriptions, step
    types, triggers, sweeps), registered by the feature's own register(app)."""
    from governance import (
        acknowledgements,
        approvals,
        evidence,
        executions,
        notifications,
        policies,
        policy_exceptions,
        reviews,
        tasks,
        webhooks,
        workflows,
    )

    for feature in (
        policies,
        workflows,
        approvals,
        tasks,
        notifications,
        webhooks,
        policy_exceptions,
        reviews,
        acknowledgements,
        evidence,
        executions,
    ):
        feature.register(app)


def register_blueprints(app: Flask) -> None:
    from governance.acknowledgements.views import bp as acknowledgements_bp
    from governance.admin.audit import bp as audit_bp
    from governance.admin.views import bp as admin_bp
    from governance.api import views as api
    from governance.approvals.views import bp as approvals_bp
    from governance.auth.views import bp as auth_bp
    from governance.dashboard.views import bp as dashboard_bp
    from governance.evidence.views import bp as evidence_bp
    from governance.executions.views import bp as executions_bp
    from governance.notifications.outbox_views import bp as outbox_bp
    from governance.notifications.views import bp as notifications_bp
    from governance.policies.views import bp as policies_bp
    from governance.policy_exceptions.views import bp as exceptions_bp
    from governance.queues.health import bp as health_bp
    from governance.queues.views import bp as queues_bp
    from governance.reviews.views import bp as reviews_bp
    from governance.tasks.views import bp as tasks_bp
    from governance.web import params
    from governance.web.views import bp as web_bp
    from governance.webhooks.views import bp as webhooks_bp
    from governance.workflows import exchange_views  # noqa: F401  (its pages join workflows_bp)
    from governance.workflows.design_views import bp as design_bp
    from governance.workflows.views import bp as workflows_bp

    params.init_app(app)  # the bounded `int` converter, before any rule is added
    api.init_app(app)
    for blueprint in (
        web_bp,
        auth_bp,
        admin_bp,
        policies_bp,
        reviews_bp,
        dashboard_bp,
        exceptions_bp,
        audit_bp,
        workflows_bp,
        design_bp,
        executions_bp,
        approvals_bp,
        tasks_bp,
        evidence_bp,
        notifications_bp,
        outbox_bp,
        queues_bp,
        health_bp,
        acknowledgements_bp,
        webhooks_bp,
    ):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from governance.web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from governance.cli import register

    register(app)
