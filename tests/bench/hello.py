"""The bare Flask "hello" that `make bench` measures the site against, under the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The least a Flask view can do."""
    return "hello"
