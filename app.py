"""The WSGI entry point: `flask --app app run`, `gunicorn 'app:app'`."""

import sys

from governance import create_app
from governance.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # A clear one-line refusal instead of a traceback (e.g. production without SECRET_KEY).
    sys.exit(f"Steward cannot start: {error}")
