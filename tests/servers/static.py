"""Serves a folder over HTTP on 127.0.0.1 (a schema registry's answers laid
out as files: <prefix>/schemas/ids/<id>). Prints "port N" once listening.

Usage: python3 static.py DIR
"""
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(Quiet, directory=sys.argv[1])
server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
