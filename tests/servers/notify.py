"""A local stand-in for the services alert notifications are sent to, each
answering in its own shape:

  POST /slack/<anything>           Slack incoming webhook: JSON (or the legacy
                                   form field payload=<JSON>) with a non-empty
                                   text, blocks or attachments -> 200 "ok"
                                   (text/plain); bad JSON -> 400
                                   invalid_payload; nothing to show -> 400
                                   no_text.
  POST /bot<TOKEN>/sendMessage     Telegram Bot API, fields as JSON, form or
  POST /bot<TOKEN>/sendPhoto       multipart (photo as a file part) -> 200
                                   {"ok": true, "result": <Message>}, or
                                   {"ok": false, "error_code": N,
                                   "description": "..."}: 401 Unauthorized
                                   (wrong token), 400 "Bad Request: chat not
                                   found", "...: message is too long" (text >
                                   4096), "...: message caption is too long"
                                   (caption > 1024), 404 Not Found (method).
  POST /hook/<anything>            generic JSON webhook: a JSON object -> 200
                                   {"ok": true}; anything else -> 400.
  anything else                    404.

Usage: python3 notify.py LOG_FILE [--telegram-token TOKEN] [--chat CHAT_ID ...]
           [--delay-ms N] [--script SPEC] [--fail-all KIND ...]

  --telegram-token  the bot token Telegram accepts (default 123456:TEST).
  --chat            chat ids that exist (default -1001234567890); repeatable.
  --delay-ms N      every request waits N ms before it is answered.
  --script SPEC     comma-separated KIND:N=STATUS[:RETRY_AFTER]: the N-th
                    (1-based) request of KIND (slack, telegram, hook) is
                    answered with STATUS in that service's shape; a 429 always
                    carries Retry-After (default 1 s) and, for Telegram,
                    parameters.retry_after. E.g. slack:1=429:1,slack:2=500.
  --fail-all KIND   every request of KIND answers 500 (service down).

Each request is appended to LOG_FILE as one JSON line, whatever the answer:
{"kind", "method", "path" (token shown as <token>), "status", "body" (the JSON
object, or form / multipart text fields as strings; null if unparsable),
"photo_bytes", "photo_png", "photo_name", "content_type", "time"}.
Speaks HTTP/1.1 with keep-alive (bodies need a Content-Length, else 411).
Prints "port N" once listening on 127.0.0.1, then serves until killed.
"""
import argparse
import html
import json
import re
import threading
import time
from http.client import responses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

KINDS = ("slack", "telegram", "hook")
PNG = b"\x89PNG\r\n\x1a\n"
TEXT_MAX, CAPTION_MAX = 4096, 1024


def script_entries(spec):
    entries = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        m = re.fullmatch(r"(slack|telegram|hook):(\d+)=(\d{3})(?::(\d+))?", item)
        if not m:
            raise argparse.ArgumentTypeError(f"bad script entry {item!r}, want KIND:N=STATUS[:RETRY_AFTER]")
        kind, n, status, retry = m.groups()
        entries[(kind, int(n))] = (int(status), int(retry) if retry else None)
    return entries


parser = argparse.ArgumentParser(description="local Slack / Telegram / webhook stand-in")
parser.add_argument("log_file")
parser.add_argument("--telegram-token", default="123456:TEST")
parser.add_argument("--chat", action="extend", nargs="+", default=None)
parser.add_argument("--delay-ms", type=int, default=0)
parser.add_argument("--script", action="append", type=script_entries, default=[])
parser.add_argument("--fail-all", action="extend", nargs="+", choices=KINDS, default=[])
ARGS = parser.parse_args()

TOKEN = ARGS.telegram_token
CHATS = {str(c) for c in (ARGS.chat or ["-1001234567890"])}
SCRIPT = {k: v for entries in ARGS.script for k, v in entries.items()}
FAIL_ALL = set(ARGS.fail_all)
LOCK = threading.Lock()
LOG = open(ARGS.log_file, "a", encoding="utf-8")
COUNTS = {kind: 0 for kind in KINDS}
NEXT_MESSAGE_ID = [100]
BOT_ID = int(TOKEN.split(":")[0]) if TOKEN.split(":")[0].isdigit() else 123456
BOT = {"id": BOT_ID, "is_bot": True, "first_name": "alertstream test",
       "username": "alertstream_test_bot"}


def count(kind):
    with LOCK:
        COUNTS[kind] += 1
        return COUNTS[kind]


def message_id():
    with LOCK:
        NEXT_MESSAGE_ID[0] += 1
        return NEXT_MESSAGE_ID[0]


def log(entry):
    line = json.dumps(entry) + "\n"
    with LOCK:
        LOG.write(line)
        LOG.flush()


# --- request bodies -------------------------------------------------------

def header_params(value):
    """'form-data; name="a"; filename="b.png"' -> ('form-data', {name:.., filename:..})."""
    items, cur, quoted, escaped = [], "", False, False
    for ch in value:
        if escaped:
            cur, escaped = cur + ch, False
        elif quoted and ch == "\\":
            cur, escaped = cur + ch, True
        elif ch == '"':
            cur, quoted = cur + ch, not quoted
        elif ch == ";" and not quoted:
            items, cur = items + [cur], ""
        else:
            cur += ch
    items.append(cur)
    params = {}
    for item in items[1:]:
        if "=" not in item:
            continue
        key, val = item.split("=", 1)
        key, val = key.strip().lower(), val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        params[key] = val
    if "filename*" in params and "filename" not in params:  # RFC 5987: utf-8''name
        charset, _, rest = params["filename*"].partition("'")
        params["filename"] = unquote(rest.partition("'")[2], encoding=charset or "utf-8", errors="replace")
    return items[0].strip().lower(), params


def multipart(content_type, raw):
    """(text fields, file parts) of a multipart/form-data body, or None if it
    is malformed. As in RFC 7578, a part is a file when it has a filename."""
    boundary = header_params(content_type)[1].get("boundary")
    if not boundary:
        return None
    chunks = (b"\r\n" + raw).split(b"\r\n--" + boundary.encode("latin-1"))
    fields, files = {}, {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return fields, files
        eol = chunk.find(b"\r\n")  # the rest of the boundary line (transport padding)
        if eol < 0:
            return None
        chunk = chunk[eol + 2:]
        if chunk.startswith(b"\r\n"):
            head, content = b"", chunk[2:]
        else:
            sep = chunk.find(b"\r\n\r\n")
            if sep < 0:
                return None
            head, content = chunk[:sep], chunk[sep + 4:]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, val = line.split(":", 1)
                headers[key.strip().lower()] = val.strip()
        params = header_params(headers.get("content-disposition", ""))[1]
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            files[name] = {"filename": params["filename"], "data": content}
        else:
            fields[name] = content.decode("utf-8", "replace")
    return None  # no closing boundary


def mime(content_type):
    return content_type.split(";")[0].strip().lower()


def json_object(raw):
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def form(raw):
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


# --- answers --------------------------------------------------------------

def text_answer(status, text, retry_after=None):
    return status, "text/plain; charset=utf-8", text.encode(), retry_after


def json_answer(status, value, retry_after=None):
    return status, "application/json", json.dumps(value).encode(), retry_after


SLACK_ERRORS = {400: "invalid_payload", 403: "action_prohibited", 404: "channel_not_found",
                410: "channel_is_archived", 429: "rate_limited"}


def slack_error(status, retry_after=None):
    """Slack's webhook errors are bare strings (api.slack.com changelog
    2016-05-17); rollup_error is its only documented 5xx."""
    body = SLACK_ERRORS.get(status) or ("rollup_error" if status >= 500 else
                                        responses.get(status, "error").lower().replace(" ", "_"))
    return text_answer(status, body, retry_after)


def telegram_error(status, description=None, retry_after=None):
    body = {"ok": False, "error_code": status}
    if status == 429:
        retry_after = retry_after or 1
        body["description"] = description or f"Too Many Requests: retry after {retry_after}"
        body["parameters"] = {"retry_after": retry_after}
    else:
        body["description"] = description or responses.get(status, "Error")
    return json_answer(status, body, retry_after)


def hook_error(status, error=None, retry_after=None):
    return json_answer(status, {"ok": False, "error": error or responses.get(status, "Error")}, retry_after)


def scripted(kind, status, retry_after):
    if status == 429 and retry_after is None:
        retry_after = 1
    if kind == "slack":
        return slack_error(status, retry_after)
    if kind == "telegram":
        return telegram_error(status, retry_after=retry_after)
    return hook_error(status, retry_after=retry_after)


def slack(content_type, raw):
    """(logged body, answer) for an incoming-webhook post."""
    if mime(content_type) == "application/x-www-form-urlencoded":
        fields = form(raw)
        payload = json_object(fields["payload"].encode()) if "payload" in fields else None
        logged = payload if payload is not None else fields
    else:
        payload = logged = json_object(raw)
    if payload is None:
        return logged, slack_error(400)
    text = payload.get("text")
    if not ((isinstance(text, str) and text) or payload.get("blocks") or payload.get("attachments")):
        return logged, text_answer(400, "no_text")
    return logged, text_answer(200, "ok")


def hook(raw):
    payload = json_object(raw)
    if payload is None:
        return None, hook_error(400, "body is not a JSON object")
    return payload, json_answer(200, {"ok": True})


def visible(text, parse_mode):
    """Telegram limits text after entity parsing; for HTML drop the tags."""
    if str(parse_mode or "").lower() == "html":
        return html.unescape(re.sub(r"<[^>]*>", "", text))
    return text


def chat_object(chat_id):
    if chat_id.startswith("@"):
        return {"id": -1000000000001, "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    number = int(chat_id) if re.fullmatch(r"-?\d+", chat_id) else 0
    if number > 0:
        return {"id": number, "first_name": "Test", "type": "private"}
    kind = "supergroup" if chat_id.startswith("-100") else "group"
    return {"id": number, "title": "alertstream test", "type": kind}


def png_size(data):
    if data.startswith(PNG) and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0


def telegram(method, query, content_type, raw):
    """(logged body, photo part or None, answer) for sendMessage / sendPhoto,
    the token having been checked."""
    kind, photo = mime(content_type), None
    if kind == "application/json":
        body = json_object(raw)
        if body is None:
            return None, None, telegram_error(400, "Bad Request: can't parse JSON object")
        files = {}
    elif kind == "multipart/form-data":
        parsed = multipart(content_type, raw)
        if parsed is None:
            return None, None, telegram_error(400, "Bad Request: can't parse multipart/form-data")
        body, files = parsed
    elif kind == "application/x-www-form-urlencoded":
        body, files = form(raw), {}
    else:
        body, files = {}, {}
    params = {**query, **body}
    chat_id = str(params.get("chat_id") if params.get("chat_id") is not None else "").strip()
    if not chat_id:
        return body, None, telegram_error(400, "Bad Request: chat_id is empty")
    if method == "sendMessage":
        text = params.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        if not text.strip():
            return body, None, telegram_error(400, "Bad Request: message text is empty")
    else:
        given = params.get("photo")
        if isinstance(given, str) and given.startswith("attach://"):
            photo = files.get(given[len("attach://"):])
        elif "photo" in files:
            photo = files["photo"]
        if photo is None:
            if not isinstance(given, str) or not given:
                return body, None, telegram_error(400, "Bad Request: there is no photo in the request")
            if not re.fullmatch(r"https?://\S+|[A-Za-z0-9_-]{20,}", given):
                return body, None, telegram_error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        text = caption if isinstance(caption, str) else ("" if caption is None else str(caption))
    if chat_id not in CHATS:
        return body, photo, telegram_error(400, "Bad Request: chat not found")
    shown = visible(text, params.get("parse_mode"))
    if method == "sendMessage" and len(shown) > TEXT_MAX:
        return body, photo, telegram_error(400, "Bad Request: message is too long")
    if method == "sendPhoto" and len(shown) > CAPTION_MAX:
        return body, photo, telegram_error(400, "Bad Request: message caption is too long")
    mid = message_id()
    chat = chat_object(chat_id)
    message = {"message_id": mid, "date": int(time.time()), "chat": chat}
    if chat["type"] == "channel":
        message["sender_chat"] = chat
    else:
        message["from"] = BOT
    if method == "sendMessage":
        message["text"] = shown
    else:
        data = photo["data"] if photo else b""
        width, height = png_size(data)
        message["photo"] = [{"file_id": f"AgACAgQAAxkDAAI{mid:08d}", "file_unique_id": f"AQAD{mid:08d}",
                             "file_size": len(data), "width": width, "height": height}]
        if shown:
            message["caption"] = shown
    return body, photo, json_answer(200, {"ok": True, "result": message})


# --- the server -----------------------------------------------------------

def route(verb, path):
    """(kind, Telegram method or None, token or None)."""
    m = re.fullmatch(r"/bot([^/]+)/([^/]+)", path)
    if m and verb in ("GET", "POST"):  # the Bot API takes GET and POST
        names = {"sendmessage": "sendMessage", "sendphoto": "sendPhoto"}  # methods are case-insensitive
        return "telegram", names.get(m.group(2).lower()), m.group(1)
    if verb == "POST" and re.fullmatch(r"/slack/.+", path):
        return "slack", None, None
    if verb == "POST" and re.fullmatch(r"/hook/.+", path):
        return "hook", None, None
    return "other", None, None


class Notify(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_PUT(self):
        self.serve("PUT")

    def do_PATCH(self):
        self.serve("PATCH")

    def do_DELETE(self):
        self.serve("DELETE")

    def serve(self, verb):
        arrived = time.time()
        url = urlsplit(self.path)
        kind, method, token = route(verb, url.path)
        n = count(kind) if kind != "other" else 0
        content_type = self.headers.get("Content-Type", "")
        shown_path = self.path
        if kind == "telegram":
            shown_path = re.sub(r"^/bot[^/]*", "/bot<token>", self.path)
        entry = {"kind": kind, "method": method, "path": shown_path, "status": None, "body": None,
                 "photo_bytes": None, "photo_png": None, "photo_name": None,
                 "content_type": content_type, "time": arrived}

        length = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "identity").lower() != "identity"
        if chunked or (length is None and verb in ("POST", "PUT", "PATCH")):
            self.close_connection = True  # the body cannot be skipped
            return self.reply(entry, text_answer(411, "Length Required"))
        try:
            raw = self.rfile.read(int(length)) if length else b""
        except ValueError:
            self.close_connection = True
            return self.reply(entry, text_answer(400, "Bad Content-Length"))

        answer = None
        if kind == "slack":
            entry["body"], answer = slack(content_type, raw)
        elif kind == "hook":
            entry["body"], answer = hook(raw)
        elif kind == "telegram":
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            if token != TOKEN or method is None:
                entry["body"] = self.loose_body(content_type, raw)  # logged all the same
                answer = telegram_error(401, "Unauthorized") if token != TOKEN else telegram_error(404, "Not Found")
            else:
                entry["body"], photo, answer = telegram(method, query, content_type, raw)
                if photo is not None:
                    entry["photo_bytes"] = len(photo["data"])
                    entry["photo_png"] = photo["data"].startswith(PNG)
                    entry["photo_name"] = photo["filename"]
        else:
            answer = json_answer(404, {"ok": False, "error": "Not Found"})

        if kind in KINDS:
            if (kind, n) in SCRIPT:
                answer = scripted(kind, *SCRIPT[(kind, n)])
            elif kind in FAIL_ALL:
                answer = scripted(kind, 500, None)
        self.reply(entry, answer)

    @staticmethod
    def loose_body(content_type, raw):
        kind = mime(content_type)
        if kind == "application/json":
            return json_object(raw)
        if kind == "multipart/form-data":
            parsed = multipart(content_type, raw)
            return parsed[0] if parsed else None
        if kind == "application/x-www-form-urlencoded":
            return form(raw)
        return None

    def reply(self, entry, answer):
        status, content_type, data, retry_after = answer
        if ARGS.delay_ms > 0:
            time.sleep(ARGS.delay_ms / 1000)
        entry["status"] = status
        log(entry)  # before answering: once a client has its answer, the line is there
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


server = ThreadingHTTPServer(("127.0.0.1", 0), Notify)
server.daemon_threads = True
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
