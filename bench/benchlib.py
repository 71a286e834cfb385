"""What the benchmark drivers share: a Tansu broker (memory engine) on a free
port of 127.0.0.1 with one topic."""
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tansu(tansu, work, topic):
    """Starts Tansu in `work` and creates `topic` (one partition); returns
    (process, url, servers). The caller kills the process."""
    port = free_port()
    url, servers = f"tcp://127.0.0.1:{port}", f"127.0.0.1:{port}"
    broker = subprocess.Popen(
        [tansu, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=open(work / "tansu.log", "w"))
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    subprocess.run([tansu, "topic", "create", topic, "--partitions", "1", "--broker", url], check=True,
                   capture_output=True)
    return broker, url, servers
