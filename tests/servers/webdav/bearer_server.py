#!/usr/bin/env python3
"""A WebDAV server on 127.0.0.1 that, like dCache, demands 'Authorization: Bearer <token>'.

WsgiDAV (PyPI) serves ROOT; a small WSGI filter in front answers 401 with
'WWW-Authenticate: Bearer' unless the request carries the token from the environment variable
DAV_TEST_TOKEN, and, as dCache does, answers RFC 3230 'Want-Digest: sha-256/adler32' on HEAD
with a 'Digest' header computed from the stored file.

    DAV_TEST_TOKEN=... python bearer_server.py PORT ROOT [CERT KEY]

With CERT and KEY (PEM files) it speaks HTTPS, as a davs:// door does. With DAV_TEST_READ_ONLY=1 it
serves ROOT read-only (every write answered 403), as a door does for a token without storage.modify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
import zlib
from pathlib import Path
from urllib.parse import unquote

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp


def digest_header(path: Path, wanted: str) -> str | None:
    wanted = wanted.lower()
    data = path.read_bytes()
    if "sha-256" in wanted:
        return "sha-256=" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    if "adler32" in wanted:
        return f"adler32={zlib.adler32(data) & 0xFFFFFFFF:08x}"
    return None


class BearerFilter:
    def __init__(self, app, token: str, root: Path):
        self.app, self.expected, self.root = app, f"Bearer {token}".encode(), root

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, self.expected):
            body = b"401 Unauthorized: missing, expired or invalid bearer token\n"
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Bearer realm="dimred-test"'), ("Content-Type", "text/plain"),
                 ("Content-Length", str(len(body)))],
            )
            return [body]
        wanted = environ.get("HTTP_WANT_DIGEST")
        if environ["REQUEST_METHOD"] == "HEAD" and wanted:
            path = self.root / unquote(environ.get("PATH_INFO", "/")).lstrip("/")
            if path.is_file():
                header = digest_header(path, wanted)

                def with_digest(status, headers, exc_info=None):
                    return start_response(status, [*headers, ("Digest", header)] if header else headers, exc_info)

                return self.app(environ, with_digest)
        return self.app(environ, start_response)


def main() -> None:
    port, root = int(sys.argv[1]), Path(sys.argv[2]).resolve()
    token = os.environ["DAV_TEST_TOKEN"]
    config = {
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": {"/": {"root": str(root), "readonly": os.environ.get("DAV_TEST_READ_ONLY") == "1"}},
        "simple_dc": {"user_mapping": {"*": True}},  # the bearer filter in front does the checking
        "http_authenticator": {"accept_basic": False, "accept_digest": False},
        "verbose": 1,
        "logging": {"enable": False},
        "property_manager": True,
        "lock_storage": True,
        "dir_browser": {"enable": False},
    }
    app = BearerFilter(WsgiDAVApp(config), token, root)
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=4)
    if len(sys.argv) == 5:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        server.ssl_adapter = BuiltinSSLAdapter(sys.argv[3], sys.argv[4])
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
