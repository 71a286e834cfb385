"""The `decode` command against `cat` of the same files, one run.

A folder of ZTF alert files (the bundled ones, copied under distinct names up
to N files) is read three ways, each writing to a file in the same temporary
folder: `cat FILES > out`, `alertstream decode DIR > out` (JSON Lines, base64
cutouts), and `alertstream inspect DIR > out`. Best of three runs each,
alternating, because the disk's speed drifts. Prints MB/s of input and the
ratio to cat.

Usage: python3 bench/bench_decode_cli.py ALERTSTREAM_BINARY [N_FILES]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

binary = sys.argv[1]
n_files = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
here = os.path.dirname(os.path.abspath(__file__))
ztf = os.path.join(here, "..", "tests", "data", "ztf")
sources = sorted(os.path.join(ztf, f) for f in os.listdir(ztf) if f.endswith(".avro"))

work = tempfile.mkdtemp(prefix="alertstream-bench-decode-")
try:
    alerts = os.path.join(work, "alerts")
    os.makedirs(alerts)
    for i in range(n_files):
        shutil.copyfile(sources[i % len(sources)], os.path.join(alerts, f"{i:06d}.avro"))
    files = sorted(os.path.join(alerts, f) for f in os.listdir(alerts))
    size = sum(os.path.getsize(f) for f in files)
    out = os.path.join(work, "out")

    def timed(command):
        start = time.perf_counter()
        with open(out, "wb") as sink:
            subprocess.run(command, stdout=sink, check=True)
        seconds = time.perf_counter() - start
        written = os.path.getsize(out)
        os.remove(out)
        return seconds, written

    tasks = {
        "cat": ["cat", *files],
        "alertstream decode": [binary, "decode", alerts],
        "alertstream inspect": [binary, "inspect", alerts],
    }
    best = {}
    for _ in range(3):
        for name, command in tasks.items():
            seconds, written = timed(command)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, written)
    print(f"decode command vs cat: {n_files} ZTF alert files, {size / 1e6:.0f} MB, "
          f"{os.cpu_count()} cores, best of 3")
    print(f"{'reader':<22} {'seconds':>8} {'input MB/s':>11} {'output MB':>10} {'vs cat':>7}")
    cat_seconds = best["cat"][0]
    for name, (seconds, written) in best.items():
        print(f"{name:<22} {seconds:>8.3f} {size / seconds / 1e6:>11.1f} "
              f"{written / 1e6:>10.1f} {cat_seconds / seconds:>6.2f}x")
finally:
    shutil.rmtree(work)
