"""Entry point for gunicorn (`wsgi:app`), the Flask CLI (`flask --app wsgi ...`) and Celery (`-A wsgi`)."""

from shop import create_app

app = create_app()
celery_app = app.extensions["celery"]
