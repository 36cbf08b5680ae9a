"""An app that notes its SIGTERM in a marker file (argv: marker, port, mode), then exits ("graceful") or goes on
("stubborn"): tests/integration/test_shutdown.py and tests/local/test_lifecycle.py write it to app.py and start it."""

from __future__ import annotations

APP = """import http.server, os, signal, sys, time
marker, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def on_term(*_):
    with open(marker, "w") as f:
        f.write(f"SIGTERM {time.time()}")
    if mode == "graceful":
        os._exit(0)
signal.signal(signal.SIGTERM, on_term)  # mode "stubborn": noted, then ignored
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""
