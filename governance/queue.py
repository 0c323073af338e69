"""task() and periodic_task(): Huey tasks that run inside a Flask app context."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, current_app, has_app_context

from governance.extensions import huey


@functools.cache
def _consumer_app() -> Flask:
    """The app a consumer process runs tasks in, built once per process on first use."""
    from governance import create_app

    return create_app()


def _in_app_context(fn: Callable) -> Callable:
    """Each run gets a fresh app context, and so a fresh database session."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        app = current_app._get_current_object() if has_app_context() else _consumer_app()
        with app.app_context():
            return fn(*args, **kwargs)

    return run


def task(**task_options) -> Callable:
    def decorator(fn: Callable) -> Callable:
        return huey.task(**task_options)(_in_app_context(fn))

    return decorator


def periodic_task(validate_datetime: Callable, **task_options) -> Callable:
    def decorator(fn: Callable) -> Callable:
        return huey.periodic_task(validate_datetime, **task_options)(_in_app_context(fn))

    return decorator
