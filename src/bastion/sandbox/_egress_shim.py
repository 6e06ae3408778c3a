"""In-sandbox helper: expose bastion's egress proxy on 127.0.0.1 and exec the server.

Run inside the sandbox as ``python -I -S _egress_shim.py PORT SOCKET -- COMMAND ARGS...``.
It binds ``127.0.0.1:PORT`` *before* the server starts (so the proxy is ready at once), forks a
forwarder that relays each TCP connection to the Unix socket ``SOCKET`` (bastion's filtering
proxy, bound into the sandbox), and execs ``COMMAND`` in the original process so the server keeps
the sandbox's stdin/stdout and exit status. The forwarder dies with the sandbox's PID namespace.
Standard library only; no output on stdout.
"""

import contextlib
import os
import socket
import sys
import threading


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                s.shutdown(how)


def _serve(conn: socket.socket, path: str) -> None:
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(path)
    except OSError:
        conn.close()
        up.close()
        return
    t = threading.Thread(target=_pump, args=(up, conn), daemon=True)
    t.start()
    _pump(conn, up)
    t.join()
    conn.close()
    up.close()


def _forward(listener: socket.socket, path: str) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=_serve, args=(conn, path), daemon=True).start()


def main() -> None:
    port, path, sep = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cmd = sys.argv[4:]
    if sep != "--" or not cmd:
        sys.stderr.write("usage: _egress_shim.py PORT SOCKET -- COMMAND [ARGS...]\n")
        sys.exit(2)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    if os.fork() == 0:
        try:
            _forward(listener, path)
        finally:
            os._exit(0)
    listener.close()
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
