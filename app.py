"""The WSGI entry point: `flask --app app run`, `gunicorn 'app:app'`."""

from governance import create_app

app = create_app()
