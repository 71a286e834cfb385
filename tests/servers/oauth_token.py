"""A local OIDC token endpoint answering a client-credentials grant as
GCN's (auth.gcn.nasa.gov/oauth2/token, an AWS Cognito endpoint) does:

  POST /oauth2/token  grant_type=client_credentials&client_id=..&client_secret=..
  -> 200 {"access_token": "...", "expires_in": 3600, "token_type": "Bearer"}

Usage: python3 oauth_token.py LOG_FILE [--status CODE]
Each request's form body is appended to LOG_FILE as one JSON line. With
--status CODE every request is answered with that error status instead.
Prints "port N" once listening on 127.0.0.1.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LOG = sys.argv[1]
STATUS = int(sys.argv[sys.argv.index("--status") + 1]) if "--status" in sys.argv else 200
# A JWT's shape (header.payload.signature); the broker would verify it.
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJnY24tY2xpZW50In0.c2lnbmF0dXJl"


class Token(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        with open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "form": form,
                                "content_type": self.headers.get("Content-Type")}) + "\n")
        if STATUS != 200:
            body = json.dumps({"error": "invalid_client"}).encode()
            self.send_response(STATUS)
        elif form.get("grant_type") != "client_credentials":
            body = json.dumps({"error": "unsupported_grant_type"}).encode()
            self.send_response(400)
        else:
            body = json.dumps({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Token)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
