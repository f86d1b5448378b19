"""The reference: a bare Flask "hello world" served with the same gunicorn settings as the shop.

Its requests/s in the same run is the ceiling of the framework on this machine; every figure of the
shop is reported as a ratio to it (`gunicorn -c bench/gunicorn.conf.py bench.hello:app`).
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
