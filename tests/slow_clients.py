"""Slow and idle clients, as an attacker on the internet would send them (issue 9, item 1)."""

import contextlib
import socket
import ssl
import time
import urllib.error
import urllib.request


def _connect(port, tls):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname="localhost")
    return sock


@contextlib.contextmanager
def slow_clients(port, count=50, *, tls=False):
    """Half of them send a partial request head and wait; the other half a login POST that
    declares 4 MB and sends 1 KB. All stay connected until the block ends."""
    held = []
    try:
        for i in range(count):
            sock = _connect(port, tls)
            if i % 2:
                sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            else:
                sock.sendall(
                    b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000000\r\n\r\n" + b"a" * 1024
                )
            held.append(sock)
        time.sleep(0.5)  # let the server hand them to whatever reads requests
        yield held
    finally:
        for sock in held:
            sock.close()


def seconds_to_answer(url, *, timeout=5.0):
    """Seconds until the server answers a GET with any HTTP status; ``timeout`` if it never does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            response.read()
    except urllib.error.HTTPError as answered:
        answered.read()
    except OSError:
        return timeout
    return time.monotonic() - started
