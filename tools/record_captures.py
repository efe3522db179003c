"""Record the packet captures the TCP lessons play, on 127.0.0.1, with tcpdump.

Usage (as root, with Debian's tcpdump and editcap: ``apt-get install tcpdump
wireshark-common``)::

    python tools/record_captures.py [--out content/linux/how/captures]

Two conversations, each captured into its own file, as pcap (tcpdump) and as pcapng
(the same packets, converted by ``editcap -F pcapng``):

* ``server-closes-first.pcap(ng)``: a client connects to a server listening on
  127.0.0.1:47913, sends a short request, gets a short response, and the *server*
  closes first; the client closes 0.2 s after it has read the end of the stream, so
  its kernel acknowledges the server's FIN on its own (Linux delays that ACK by some
  tens of milliseconds) before the client's FIN goes out. The server's end is left
  in TIME-WAIT, the client's goes through CLOSE-WAIT and LAST-ACK.
* ``connect-refused.pcap(ng)``: a client connects to 127.0.0.1:47914, where nothing
  listens; the kernel answers the SYN with RST,ACK and ``connect()`` fails with
  "connection refused".

Both ends are Python sockets written here; the ports are this project's own choice,
and the client's port is whatever the kernel picks. The payloads are made-up text:
the site build drops payload bytes anyway and keeps only their lengths.

With ``--lossy`` (root, plus ``apt-get install libnetfilter-queue-dev`` and ``pip install
NetfilterQueue``, which the script asks for) it records the lossy conversations of
:data:`LOSSY` into ``tests/fixtures/captures/lossy/`` instead: each scenario's segments
pass an NFQUEUE impairment (``tools/lossy_captures.py``) written for it, which drops, holds or
delays chosen segments. tcpdump on ``lo`` sees a segment between the two netfilter hooks
the impairment sits on, so a segment dropped on OUTPUT is *lost before the capture
point* (never in the capture), and one dropped on INPUT is *lost after it* (in the
capture, never delivered). Beside each ``NAME.pcap`` goes ``NAME.json``: what was done,
and both sockets' final states as ``ss`` showed them a moment after the conversation
(``CLOSED`` when the socket is gone), which the tests compare the replay with.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
SERVER_PORT = 47913
REFUSED_PORT = 47914
REQUEST = b"GET /stepwise/capture-demo HTTP/1.0\r\nHost: stepwise.invalid\r\n\r\n"
RESPONSE = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 31\r\n\r\n"
            b"stepwise capture demo payload\r\n")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "content/linux/how/captures"
LOSSY_OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/captures/lossy"


def server_closes_first() -> None:
    """One request and response; the server calls close() first."""
    listener = socket.create_server((HOST, SERVER_PORT), reuse_port=False)
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            data += conn.recv(4096)
        conn.sendall(RESPONSE)
        conn.close()  # the server closes first: its end will wait in TIME-WAIT
        done.set()

    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.create_connection((HOST, SERVER_PORT))
    client.sendall(REQUEST)
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    assert received == RESPONSE, received
    time.sleep(0.2)  # let the kernel's delayed ACK for the server's FIN go out alone
    client.close()
    thread.join()
    listener.close()
    assert done.is_set()


def connect_refused() -> None:
    """A connect to a port nobody listens on: SYN, then RST,ACK."""
    try:
        socket.create_connection((HOST, REFUSED_PORT), timeout=2).close()
    except ConnectionRefusedError:
        return
    raise SystemExit(f"something listens on {HOST}:{REFUSED_PORT}; stop it and try again")


def record(name: str, scenario: object, out: Path, work: Path) -> None:
    raw, pcap = work / f"{name}.all.pcap", work / f"{name}.pcap"
    # Everything on lo is captured, then filtered in user space: in some sandboxes the
    # kernel's BPF filter drops every packet on lo; tcpdump -r applies the same filter
    # reliably.
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-n", "-U", "-Z", "root", "-w", str(raw)],
        stderr=subprocess.PIPE, text=True)
    assert tcpdump.stderr is not None
    line = tcpdump.stderr.readline()  # "listening on lo, link-type EN10MB ..."
    if "listening" not in line:
        raise SystemExit(f"tcpdump did not start: {line}{tcpdump.stderr.read()}")
    time.sleep(1.0)  # "listening" comes a little before the capture really starts
    assert callable(scenario)
    scenario()
    time.sleep(1.0)
    tcpdump.terminate()
    tcpdump.wait(timeout=10)
    subprocess.run(["tcpdump", "-r", str(raw), "-w", str(pcap), "-Z", "root",
                    f"tcp and host {HOST} and (port {SERVER_PORT} or port {REFUSED_PORT})"],
                   check=True, stderr=subprocess.DEVNULL)
    if pcap.stat().st_size <= 24:  # a pcap file header and no packet
        raise SystemExit(f"tcpdump captured nothing for {name}; run the script again")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pcap, out / f"{name}.pcap")
    subprocess.run(["editcap", "-F", "pcapng", str(pcap), str(out / f"{name}.pcapng")],
                   check=True)
    print(f"wrote {out / name}.pcap and .pcapng")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for the .pcap and .pcapng files (default: %(default)s)")
    parser.add_argument("--lossy", action="store_true",
                        help=f"record the lossy scenarios into {LOSSY_OUT} instead")
    parser.add_argument("--only", nargs="*", default=None,
                        help="with --lossy: just these scenarios (default: all)")
    args = parser.parse_args(argv)
    for tool in ("tcpdump",) if args.lossy else ("tcpdump", "editcap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install tcpdump wireshark-common")
    if args.lossy:
        from lossy_captures import record_lossy  # needs NetfilterQueue: only for --lossy

        return record_lossy(args.out if args.out != DEFAULT_OUT else LOSSY_OUT, args.only)
    with tempfile.TemporaryDirectory() as tmp:
        record("server-closes-first", server_closes_first, args.out, Path(tmp))
        record("connect-refused", connect_refused, args.out, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
