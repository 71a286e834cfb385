"""A local stand-in for ANTARES' REST API, answering in the JSON:API shapes
antares-client reads (its marshmallow-jsonapi schemas):

  GET /v1/client/config/streaming/default  -> data.attributes.options
  GET /v1/alerts/<alert_id>/thumbnails     -> data[].attributes.{filename,
                                              filemime, src, thumbnail_type}
  GET /files/<name>                        -> the image bytes

Usage: python3 antares_api.py KAFKA_SERVERS [--fail-config]
Prints "port N" once listening on 127.0.0.1, then serves until killed.
With --fail-config the options endpoint answers 503, as during an outage.
Unknown alerts get a JSON:API 404.
"""
import gzip
import json
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KAFKA = sys.argv[1]
FAIL_CONFIG = "--fail-config" in sys.argv
KINDS = ("science", "template", "difference")
KNOWN = {"ztf_candidate:1234567890", "ztf_candidate:42", "1262927"}
SIDE = 16


def card(key, value):
    return f"{key:<8}= {value:>20}".ljust(80).encode()


def image(name):
    """A gzipped FITS stamp, as ANTARES keeps ZTF's thumbnails: SIDE x SIDE
    float32 pixels, a ramp that depends on the file's name."""
    header = b"".join([card("SIMPLE", "T"), card("BITPIX", "-32"), card("NAXIS", "2"),
                       card("NAXIS1", str(SIDE)), card("NAXIS2", str(SIDE)), b"END".ljust(80)])
    header = header.ljust(2880, b" ")
    seed = sum(name.encode()) % 97
    data = b"".join(struct.pack(">f", float(seed + i)) for i in range(SIDE * SIDE))
    data = data.ljust(-(-len(data) // 2880) * 2880, b"\0")
    return gzip.compress(header + data, mtime=0)


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, mime="application/vnd.api+json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        port = self.server.server_address[1]
        parts = self.path.strip("/").split("/")
        if parts == ["v1", "client", "config", "streaming", "default"]:
            if FAIL_CONFIG:
                return self.answer(503, {"errors": [{"status": "503", "title": "Service Unavailable"}]})
            options = {"bootstrap.servers": KAFKA, "security.protocol": "PLAINTEXT",
                       "api.version.request": True, "client.id": "antares-api-options"}
            return self.answer(200, {"data": {"type": "client_config_streaming", "id": "default",
                                              "attributes": {"options": options}}})
        if len(parts) == 4 and parts[:2] == ["v1", "alerts"] and parts[3] == "thumbnails":
            alert = parts[2]
            if alert not in KNOWN:
                return self.answer(404, {"errors": [{"status": "404", "title": "Not Found",
                                                     "detail": f"alert {alert} not found"}]})
            items = []
            for kind in KINDS:
                name = f"{alert.replace(':', '_')}_{kind}.fits.gz"
                items.append({"type": "alert_thumbnail", "id": f"{alert}-{kind}",
                              "attributes": {"filename": name, "filemime": "application/fits",
                                             "src": f"http://127.0.0.1:{port}/files/{name}",
                                             "thumbnail_type": kind}})
            return self.answer(200, {"data": items, "links": {"self": self.path}})
        if len(parts) == 2 and parts[0] == "files":
            return self.answer(200, image(parts[1]), "application/fits")
        return self.answer(404, {"errors": [{"status": "404", "title": "Not Found"}]})


server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
