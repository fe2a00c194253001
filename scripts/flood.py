#!/usr/bin/env python3
"""Bounded floods for the hardening measurement (scripts/flood-measure.sh): 127.0.0.1 only, each
stops by itself after DURATION seconds. Usage: flood.py PORT slowloris|slowbody|badframes N DURATION [TOKEN]"""
# Bounded floods against 127.0.0.1 only; each stops by itself after DURATION seconds.
import socket, sys, time, os, threading
host, port, kind, n, duration = "127.0.0.1", int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
token = sys.argv[5] if len(sys.argv) > 5 else "x"
end = time.time() + duration
socks = []
def opened():
    s = socket.socket(); s.settimeout(2)
    try: s.connect((host, port)); return s
    except Exception: return None
stats = {"opened": 0, "refused": 0, "frames": 0}
if kind in ("slowloris", "slowbody", "connect"):
    while time.time() < end:
        # keep n sockets open, re-opening the ones the server closed
        socks = [s for s in socks if s is not None]
        while len(socks) < n and time.time() < end:
            s = opened()
            if s is None: stats["refused"] += 1; continue
            stats["opened"] += 1
            try:
                if kind == "slowloris": s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                elif kind == "slowbody": s.send(("POST /api/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 60000\r\n\r\n{" % token).encode())
            except Exception: pass
            s.setblocking(False); socks.append(s)
        live = []
        for s in socks:
            try:
                if kind == "slowloris": s.send(b"X-a: b\r\n")
                elif kind == "slowbody": s.send(b" ")
                d = s.recv(4096)
                if d == b"": s.close(); continue
                s.close(); continue   # got an answer (408/503): closed, reopen
            except BlockingIOError: live.append(s)
            except Exception: s.close()
        socks = live
        time.sleep(0.5)
elif kind == "badframes":
    key = os.urandom(4)
    def worker():
        while time.time() < end:
            s = opened()
            if s is None: stats["refused"] += 1; continue
            try:
                s.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                s.recv(4096)
                payload = b'{"type":"ping"\xff}'
                s.send(bytes([0x81, 0x80 | len(payload)]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload)))
                s.recv(4096); stats["frames"] += 1
            except Exception: pass
            s.close()
            time.sleep(0.01)
    ts = [threading.Thread(target=worker) for _ in range(n)]
    [t.start() for t in ts]; [t.join() for t in ts]
for s in socks:
    try: s.close()
    except Exception: pass
print(kind, stats)
