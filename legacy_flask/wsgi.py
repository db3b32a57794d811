"""The legacy app on its own: `gunicorn legacy_flask.wsgi:app` (no gateway)."""

from legacy_flask.app import create_app

app = create_app()
