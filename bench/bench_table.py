"""Saved alerts into one Parquet file: alertstream against fink-client's own
conversion path and against `cat` of the same files, one run.

A folder of N distinct ZTF alert files (bench/make_varied_alerts.py: the
bundled v3.3 alert with its values jittered and random cutouts; fink-client's
`avro_to_arrow` takes one schema) is turned into Parquet:

- `cat FILES > out`: reading the bytes, the I/O ceiling;
- `alertstream table DIR -o out.parquet --cutouts` (every column, as
  fink-client keeps them), and without `--cutouts` (its default);
- fink-client 12: `AlertReader(DIR).to_list()` (fastavro), then
  `avro2arrow.avro_to_arrow(schema, records)`, then
  `pyarrow.parquet.write_table` (timed inside Python, imports excluded).

Best of three, alternating. Then the peak RSS of `alertstream table` over
RSS_N alerts (hard links to one file: no disk needed).

Usage: bench_table.py ALERTSTREAM_BINARY FINK_PYTHON [N] [RSS_N]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

binary, fink_python = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
rss_n = int(sys.argv[4]) if len(sys.argv) > 4 else 100_000
here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "tests", "data", "ztf", "ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro")

FINK = r"""
import sys, time, fastavro, pyarrow.parquet as pq
from fink_client.avro_utils import AlertReader
from fink_client.avro2arrow import avro_to_arrow
folder, out, schema_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(schema_file, "rb") as f:
    # avro_to_arrow does not follow named references: the schema with every type inline.
    schema = fastavro.schema.expand_schema(fastavro.reader(f).writer_schema)
start = time.perf_counter()
records = AlertReader(folder).to_list()
table, _ = avro_to_arrow(schema, records)
pq.write_table(table, out)
print(time.perf_counter() - start, table.num_rows)
"""


def timed(command, out):
    start = time.perf_counter()
    with open(out, "wb") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def peak_rss_mb(command):
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, check=True)
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def main():
    work = tempfile.mkdtemp(prefix="alertstream-bench-table-", dir=os.path.expanduser("~/.cache/alertstream"))
    try:
        alerts = os.path.join(work, "alerts")
        subprocess.run([fink_python, os.path.join(here, "make_varied_alerts.py"), str(n), alerts], check=True,
                       capture_output=True)
        files = sorted(os.path.join(alerts, f) for f in os.listdir(alerts))
        size = sum(os.path.getsize(f) for f in files)
        out = os.path.join(work, "out.parquet")
        best = {}

        def keep(name, seconds):
            best[name] = min(best.get(name, float("inf")), seconds)

        for round_ in range(3):
            print(f"round {round_ + 1}/3: cat, alertstream, fink-client...", file=sys.stderr)
            keep("cat (I/O ceiling)", timed(["cat", *files], os.path.join(work, "cat.out")))
            keep("alertstream table --cutouts", timed([binary, "table", alerts, "-o", out, "--cutouts"], os.devnull))
            keep("alertstream table", timed([binary, "table", alerts, "-o", out], os.devnull))
            fink_out = os.path.join(work, "fink.parquet")
            result = subprocess.run([fink_python, "-c", FINK, alerts, fink_out, source], capture_output=True,
                                    text=True, check=True)
            seconds, rows = result.stdout.split()
            assert int(rows) == n, f"fink-client converted {rows} alerts, not {n}"
            keep("fink-client avro_to_arrow + write_table", float(seconds))

        links = os.path.join(work, "links")
        os.makedirs(links)
        for i in range(rss_n):
            os.link(files[i % len(files)], os.path.join(links, f"{i:07d}.avro"))
        print(f"peak RSS over {rss_n} alerts...", file=sys.stderr)
        rss = peak_rss_mb([binary, "table", links, "-o", out])
        rss_cutouts = peak_rss_mb([binary, "table", links, "-o", out, "--cutouts"])
        rss_lc = peak_rss_mb([binary, "table", links, "-o", out, "--lightcurve"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    fink = best["fink-client avro_to_arrow + write_table"]
    print(f"table benchmark: {n} ZTF alert files, {size / 1e6:.0f} MB, {os.cpu_count()} cores, best of 3")
    print(f"{'reader':<42} {'seconds':>8} {'alerts/s':>9} {'vs fink-client':>15} {'vs cat':>7}")
    for name, seconds in best.items():
        print(f"{name:<42} {seconds:>8.3f} {n / seconds:>9.0f} {fink / seconds:>14.1f}x {best['cat (I/O ceiling)'] / seconds:>6.2f}x")
    print(f"peak RSS of alertstream table over {rss_n} alerts: {rss:.0f} MB "
          f"(--cutouts {rss_cutouts:.0f} MB, --lightcurve {rss_lc:.0f} MB)")
    print(json.dumps({"alerts": n, "seconds": best, "rss_mb": rss, "rss_cutouts_mb": rss_cutouts,
                      "rss_lightcurve_mb": rss_lc, "rss_alerts": rss_n}))


if __name__ == "__main__":
    main()
