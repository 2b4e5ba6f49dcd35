"""moto's S3 server with one request at a time.

moto_server runs werkzeug with threaded=True, and moto checks If-Match / If-None-Match and
then stores the object in two separate steps: under concurrent requests two conditional
writes can both pass the check, and a GET racing an overwrite can read a closed buffer.
Real S3 evaluates conditions atomically. Serving one request at a time (connections still
threaded, so keep-alive works) gives the tests the atomic conditional writes S3 has.

usage: python3 moto-serial.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    run_simple(host, port, serialized, threaded=True)


if __name__ == "__main__":
    main()
