"""Pictures of alerts: alertstream `view` against fink-client's viewer code,
same alerts, same run.

N single-alert ZTF files (the 19 bundled ones, copied) are drawn:
- `alertstream view DIR --out OUT` (PNG, both cores);
- fink-client 12.3's `fink_alert_viewer` code path, per alert as the
  script does it (AlertReader, `show_stamps`, the light-curve errorbar plot;
  matplotlib's Agg backend), the two figures saved as PNG instead of shown;
  timed inside Python, imports excluded, one process.
Best of three, alternating.

Usage: bench_view.py ALERTSTREAM_BINARY FINK_PYTHON [N]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

binary, fink_python = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 190
here = os.path.dirname(os.path.abspath(__file__))
ztf = os.path.join(here, "..", "tests", "data", "ztf")

FINK = r"""
import os, sys, time
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from fink_client.avro_utils import AlertReader
from fink_client.visualisation import show_stamps, extract_field
folder, out = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
start = time.perf_counter()
for i, path in enumerate(files):
    alert = AlertReader(path).to_list(size=1)[0]
    fig = plt.figure(num=0, figsize=(12, 4))
    show_stamps(alert, "ztf", fig)
    fig.savefig(os.path.join(out, f"{i}-stamps.png"))
    mag = extract_field(alert, "magpsf", current="candidate", previous="prv_candidates")
    error = extract_field(alert, "sigmapsf", current="candidate", previous="prv_candidates")
    upper = extract_field(alert, "diffmaglim", current="candidate", previous="prv_candidates")
    fid = extract_field(alert, "fid", current="candidate", previous="prv_candidates")
    jd = extract_field(alert, "jd", current="candidate", previous="prv_candidates")
    dates = np.array([j - jd[0] for j in jd])
    fig = plt.figure(num=1, figsize=(12, 8))
    for band, index in {"g": 1, "r": 2, "i": 3}.items():
        mask = np.where(fid == index)[0]
        if len(mask) == 0:
            continue
        ok = mag[mask] != None  # noqa: E711
        plt.errorbar(dates[mask][ok], mag[mask][ok], yerr=error[mask][ok], ls="", marker="o", label=band)
        plt.plot(dates[mask][~ok], upper[mask][~ok], marker="v", ls="", alpha=0.5)
    plt.legend()
    plt.gca().invert_yaxis()
    plt.title(alert["objectId"])
    fig.savefig(os.path.join(out, f"{i}-lightcurve.png"))
    plt.close("all")
print(time.perf_counter() - start, len(files))
"""


def main():
    work = tempfile.mkdtemp(prefix="alertstream-bench-view-", dir=os.path.expanduser("~/.cache/alertstream"))
    try:
        alerts = os.path.join(work, "alerts")
        os.makedirs(alerts)
        sources = sorted(os.path.join(ztf, f) for f in os.listdir(ztf))
        for i in range(n):
            shutil.copyfile(sources[i % len(sources)], os.path.join(alerts, f"{i:05d}.avro"))
        best = {}
        for round_ in range(3):
            print(f"round {round_ + 1}/3: alertstream view, fink-client viewer...", file=sys.stderr)
            out = os.path.join(work, f"ours-{round_}")
            start = time.perf_counter()
            subprocess.run([binary, "view", alerts, "--out", out], check=True, stdout=subprocess.DEVNULL)
            best["alertstream view"] = min(best.get("alertstream view", 1e9), time.perf_counter() - start)
            fink_out = os.path.join(work, f"fink-{round_}")
            os.makedirs(fink_out)
            result = subprocess.run([fink_python, "-c", FINK, alerts, fink_out], capture_output=True, text=True,
                                    check=True)
            seconds, count = result.stdout.strip().splitlines()[-1].split()
            assert int(count) == n
            best["fink-client viewer (matplotlib Agg)"] = min(best.get("fink-client viewer (matplotlib Agg)", 1e9),
                                                              float(seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fink = best["fink-client viewer (matplotlib Agg)"]
    print(f"picture benchmark: {n} ZTF alerts, {os.cpu_count()} cores, best of 3")
    print(f"{'drawer':<38} {'seconds':>8} {'pictures/s':>11} {'vs fink-client':>15}")
    for name, seconds in best.items():
        print(f"{name:<38} {seconds:>8.3f} {n / seconds:>11.1f} {fink / seconds:>14.1f}x")


if __name__ == "__main__":
    main()
