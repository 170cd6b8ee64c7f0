#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A TCP relay on loopback that holds every request for DELAY seconds
before passing it to the real liaison-server while the file SLOW-FLAG
exists: an org that answers after 2 s, for the UI test's main-loop latency
measurement (the self-test creates the flag around its Synchronize Now).
Not a fake: the bytes go unchanged to and from the real server.

    slow-proxy.py LISTEN-PORT-FILE TARGET-PORT DELAY-SECONDS SLOW-FLAG [DOWN-FLAG]

While DOWN-FLAG exists, connections are closed at once: the org is
unreachable (the self-test's offline check).

Writes the port it listens on to LISTEN-PORT-FILE and serves until killed.
"""
import os
import socket
import sys
import threading
import time


def pump(src, dst, delay, flag):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delay and flag and os.path.exists(flag):
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    port_file, target, delay, flag = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    down = sys.argv[5] if len(sys.argv) > 5 else None
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = server.accept()
        if down and os.path.exists(down):
            client.close()
            continue
        upstream = socket.create_connection(("127.0.0.1", target))
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, upstream, delay, flag), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, 0, None), daemon=True).start()


if __name__ == "__main__":
    main()
