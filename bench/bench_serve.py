#!/usr/bin/env python3
"""Web view benchmark driver (run through bench/bench-serve.sh).

Makes a folder of N saved ZTF alerts (hard links of the bundled ones, named
as `consume --save` names them), starts `alertstream serve` on it and
measures from the start of the process:
  - the first page of the JSON API (50 rows, newest saved first),
  - the first page drawn in headless Chromium (rows in the DOM),
  - the index complete (every file decoded: sorting by magnitude covers all),
  - a --where filter over the whole folder,
and the server's peak resident memory (VmHWM); against `find` listing the
folder's files, the file system's ceiling for knowing what is there.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

N = int(sys.argv[1])
REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = REPO / "target/release/alertstream"
sys.path.insert(0, str(REPO / "tests/browser"))


def get(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="alertstream-bench-serve-",
                                         dir=os.path.expanduser("~/.cache/alertstream")))
    folder = work / "alerts"
    folder.mkdir()
    sources = sorted((REPO / "tests/data/ztf").glob("*.avro"))
    print(f"making {N} saved alerts (hard links)...", file=sys.stderr)
    for i in range(N):
        source = sources[i % len(sources)]
        object_id = source.stem.rsplit("_", 1)[1]
        os.link(source, folder / f"{object_id}_{4_000_000_000_000_000_000 + i}.avro")
    subprocess.run(["sync"])

    start = time.perf_counter()
    listed = subprocess.run(["find", folder, "-name", "*.avro"], capture_output=True).stdout.count(b"\n")
    find_s = time.perf_counter() - start
    assert listed == N, listed

    port = 18000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen([BIN, "serve", folder, "--listen", f"127.0.0.1:{port}"],
                              stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                page = get(url + "/api/alerts?limit=50")
                break
            except OSError:
                time.sleep(0.005)
        first_api = time.perf_counter() - start
        assert len(page["alerts"]) == 50 and page["count"] == N, page["count"]

        from check_view import Page, start_chromium
        profile = tempfile.mkdtemp(prefix="alertstream-chromium-")
        browser, ws_url = start_chromium(profile)
        try:
            tab = Page(ws_url)
            tab.call("Page.enable")
            opened = time.perf_counter()
            tab.call("Page.navigate", url=url + "/")
            tab.wait("document.querySelectorAll('#alerts tbody tr.alert').length >= 50", limit=60)
            first_browser = time.perf_counter() - opened
        finally:
            browser.kill()
            browser.wait()
            shutil.rmtree(profile, ignore_errors=True)

        while not get(url + "/api/status")["complete"]:
            time.sleep(0.05)
        indexed = time.perf_counter() - start
        by_mag = get(url + "/api/alerts?sort=mag&order=asc&limit=50")
        assert by_mag["total"] == N

        where = urllib.parse.quote("candidate.magpsf < 18 AND candidate.rb > 0.5")
        filter_start = time.perf_counter()
        filtered = get(url + f"/api/alerts?where={where}")
        filter_s = time.perf_counter() - filter_start
        rss = peak_rss_mb(server.pid)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nweb view benchmark: {N} saved ZTF alerts, {os.cpu_count()} cores")
    print(f"{'step':<60} {'seconds':>8}")
    print(f"{'find: list the folder (the file system ceiling)':<60} {find_s:>8.2f}")
    print(f"{'serve: first page from the API (start to 50 rows)':<60} {first_api:>8.2f}")
    print(f"{'serve: first page drawn in headless Chromium':<60} {first_browser:>8.2f}")
    print(f"{'serve: every alert decoded and indexed':<60} {indexed:>8.2f}")
    print(f"{'serve: --where over the whole folder (' + str(filtered['total']) + ' match)':<60} {filter_s:>8.2f}")
    print(f"\npeak memory of the server: {rss:.0f} MB (goal < 300 MB)")
    print(f"first page: {first_api:.2f} s from start (goal < 2 s); "
          f"{first_api / find_s:.1f}x the time `find` takes to list the folder")


if __name__ == "__main__":
    main()
