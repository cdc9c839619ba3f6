"""The app that `flask run` and `gunicorn app:app` find."""

from coaching import create_app

app = create_app()
