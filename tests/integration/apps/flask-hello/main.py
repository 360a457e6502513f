"""A Flask app for the emulator's test of real apps (tests/integration/test_real_apps.py)."""

import os

import flask

app = flask.Flask(__name__)


@app.route("/")
def hello():
    return {"message": f"Hello {os.environ.get('NAME', 'World')}!", "flask": flask.__version__,
            "server": os.environ.get("SERVER_SOFTWARE", "")}


@app.route("/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(debug=True, host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))
