"""A tiny OpenAI-compatible chat server for the language-model writer tests (tests/test_scripts.py).

`python fake_openai_server.py [PORT]` (0 picks a free port) prints `PORT <n>` once it listens.
The requested model name picks what it answers, so one process serves every case:
- valid:   a valid version-1 script as the message content
- garbage: text that is not JSON
- invalid: JSON that fails the script schema (a look missing from a shot prompt)
- slow:    sleeps SLOW_S seconds before answering (past the client's timeout)
- refusal: a refusal message
- error:   HTTP 500
GET /last returns the last request body it received, so a test can see what was sent.
Standard library only.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_S = 5.0
LOOK = "a golden loaf of garlic bread with a tiny chef's hat"
SCRIPT = {
    "version": 1, "title": "Garlic Bread: The Musical", "logline": "A loaf of garlic bread sings its way out of the oven.",
    "format": "musical", "tone": "playful", "duration_s": 12.0, "aspect": "9:16",
    "world": {"subject": "garlic bread", "setting": "a cosy bakery kitchen"},
    "cast": [{"id": "c1", "name": "Gus", "role": "lead singer", "look": LOOK, "voice": {"rate": 1.0, "pitch": 2.0}, "seed": 1234}],
    "shots": [
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus rises in the oven", "camera": "push-in",
         "characters": ["c1"], "props": ["oven", "bread"], "transition": "cut", "prompt": f"Stage-musical scene: {LOOK} rises in the oven"},
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus sings on the counter", "camera": "orbit",
         "characters": ["c1"], "props": ["butter"], "transition": "cut", "prompt": f"Stage-musical scene: {LOOK} sings on the counter"},
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus takes a bow", "camera": "pull-out",
         "characters": ["c1"], "props": ["bread"], "transition": "fade", "prompt": f"Stage-musical scene: {LOOK} takes a bow"},
    ],
    "lines": [
        {"shot": 0, "kind": "narration", "speaker": None, "text": "In a little bakery, something is rising."},
        {"shot": 1, "kind": "lyric", "speaker": "c1", "text": "Butter and garlic, golden and bright", "beat": 0},
        {"shot": 2, "kind": "dialogue", "speaker": "c1", "text": "Take a bite!"},
    ],
    "music": {"genre": "broadway", "mood": "joyful", "tempo_bpm": 112, "key": "C major"},
    "sound": {"ambience": "kitchen bustle", "effects": ["oven ding"]},
    "negative": "blurry, distorted", "seed": 42, "series": None,
}
_last = {"body": None}
_lock = threading.Lock()


def _completion(content: str | None, refusal: str | None = None, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": "fake",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet: the test prints what matters
        pass

    def _send(self, status: int, payload: dict | str) -> None:
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout case)
            pass

    def do_GET(self):
        if self.path == "/last":
            with _lock:
                self._send(200, _last["body"] or {})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "request body is not JSON"}})
            return
        with _lock:
            _last["body"] = body
        mode = body.get("model", "valid")
        if mode == "valid":
            self._send(200, _completion(json.dumps(SCRIPT)))
        elif mode == "garbage":
            self._send(200, _completion("Sure! Here is a lovely script about garlic bread: it sings. {not json"))
        elif mode == "invalid":
            broken = json.loads(json.dumps(SCRIPT))
            broken["shots"][1]["prompt"] = "a loaf of bread sings"  # the look is gone
            self._send(200, _completion(json.dumps(broken)))
        elif mode == "slow":
            time.sleep(SLOW_S)
            self._send(200, _completion(json.dumps(SCRIPT)))
        elif mode == "refusal":
            self._send(200, _completion(None, refusal="I can't help with that."))
        else:
            self._send(500, {"error": {"message": "internal error"}})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
