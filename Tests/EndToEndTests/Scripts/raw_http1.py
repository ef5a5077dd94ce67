#!/usr/bin/env python3
"""Sends raw bytes (stdin) on one TCP connection and prints everything the server answers until it
closes the connection or stays silent for --idle seconds. Used to test pipelining and hostile input
exactly as written, which curl would normalise. Prints a final line "CLOSED" if the server closed."""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
idle = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
payload = sys.stdin.buffer.read()
s = socket.create_connection((host, port), timeout=idle)
s.sendall(payload)
received = b""
closed = False
deadline = time.time() + 30
while time.time() < deadline:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        closed = True
        break
    if not chunk:
        closed = True
        break
    received += chunk
sys.stdout.buffer.write(received)
if closed:
    sys.stdout.buffer.write(b"\nCLOSED\n")
