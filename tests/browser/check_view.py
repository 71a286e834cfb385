"""Drives Debian's headless Chromium through the DevTools protocol
(websocket-client) against a running `alertstream serve`, and prints what a
user would see as one JSON object for the Rust test to judge:

  - the list's rows (ids, object ids) once the first page is drawn;
  - after NEW_FILE is copied into DIR (as `consume --save` would save it),
    how long until its row appears marked `new`, and the `#new-count` text;
  - a screenshot's size and how many distinct colours it has;
  - the alert page of ALERT_ID: its title, links, number of field nodes,
    and whether its picture loaded.

Usage: python check_view.py URL DIR NEW_FILE ALERT_ID SCREENSHOT_PNG
"""
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websocket
from PIL import Image

class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def eval(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait(self, expression, limit=20.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        raise SystemExit(f"timed out after {limit} s waiting for: {expression}\n"
                         f"body: {self.eval('document.body.innerText')[:2000]}")


def start_chromium(profile):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("no chromium: install Debian's chromium package (scripts/test.sh does)")
    process = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--window-size=1280,900", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(profile, "DevToolsActivePort")
    for _ in range(300):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    port = open(port_file).read().split()[0]
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    return process, page["webSocketDebuggerUrl"]


ROWS = "[...document.querySelectorAll('#alerts tbody tr.alert')].map(r => [r.dataset.id, " \
       "r.querySelector('.object a').textContent, r.classList.contains('new')])"


def main():
    URL, DIR, NEW_FILE, ALERT_ID, SHOT = sys.argv[1:6]
    profile = tempfile.mkdtemp(prefix="alertstream-chromium-")
    process, ws_url = start_chromium(profile)
    try:
        page = Page(ws_url)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.navigate", url=URL)
        page.wait("document.querySelectorAll('#alerts tbody tr.alert').length > 0")
        page.wait("document.getElementById('indexing').hidden")
        first = page.eval(ROWS)
        count = page.eval("document.getElementById('count').textContent")

        # A new alert saved while the page is open.
        new_name = os.path.basename(NEW_FILE)
        copied = time.monotonic()
        shutil.copy(NEW_FILE, os.path.join(DIR, ".tmp-" + new_name))
        os.rename(os.path.join(DIR, ".tmp-" + new_name), os.path.join(DIR, new_name))
        page.wait(f"[...document.querySelectorAll('#alerts tbody tr.alert.new')]"
                  f".some(r => r.dataset.id === {json.dumps(new_name)})", limit=30)
        appeared = time.monotonic() - copied
        after = page.eval(ROWS)
        new_count = page.eval("document.getElementById('new-count').textContent")

        shot = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
        with open(SHOT, "wb") as f:
            f.write(shot)
        image = Image.open(io.BytesIO(shot)).convert("RGB")
        colours = len(set(image.resize((320, 225)).getdata()))

        page.call("Page.navigate", url=URL.rstrip("/") + "/alerts/" + urllib.parse.quote(ALERT_ID, safe=""))
        page.wait("document.querySelectorAll('#fields details').length > 0")
        page.wait("document.getElementById('picture').complete && "
                  "document.getElementById('picture').naturalWidth > 0", limit=30)
        alert_page = {
            "title": page.eval("document.getElementById('title').textContent"),
            "links": page.eval("[...document.querySelectorAll('#links li a')].map(a => a.href)"),
            "fields": page.eval("document.querySelectorAll('#fields .leaf').length"),
            "picture_width": page.eval("document.getElementById('picture').naturalWidth"),
            "others": page.eval("document.querySelectorAll('#others tbody tr.alert').length"),
        }
        print(json.dumps({
            "count": count,
            "first": first,
            "after": after,
            "new_count": new_count,
            "appeared_seconds": appeared,
            "screenshot": {"width": image.width, "height": image.height, "colours": colours},
            "alert_page": alert_page,
        }))
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
