"""``python -m tests.deployment.serve {wsgiref|werkzeug} PORT``: the guarded Flask app
under the standard library's ``wsgiref.simple_server`` or Werkzeug's dev server."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    from tests.deployment.flask_app import app

    if kind == "wsgiref":
        from wsgiref.simple_server import make_server

        make_server("127.0.0.1", port, app).serve_forever()
    elif kind == "werkzeug":
        from werkzeug.serving import make_server as werkzeug_server

        werkzeug_server("127.0.0.1", port, app, threaded=False).serve_forever()
    else:
        raise SystemExit(f"unknown server {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
