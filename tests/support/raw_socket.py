"""A hand-made Socket.IO-over-WebSocket client on a raw socket, for what the official clients cannot do:
send oversized frames, and stop reading altogether with a tiny receive buffer."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any


class RawSocketIO:
    def __init__(self, port: int, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    def _next_text(self) -> str | None:
        """Read one frame: its text, or None for a frame that is not text or an engine.io ping (answered)."""
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._exactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._exactly(8))[0]
        payload = self._exactly(length)
        opcode = first & 0x0F
        if opcode == 0x8:
            raise ConnectionError("closed by the server")
        if opcode != 0x1:
            return None
        if payload == b"2":  # engine.io ping
            self.send_text("3")
            return None
        return payload.decode()

    def receive_text(self) -> str:
        """The next text message (answering engine.io pings on the way)."""
        while True:
            text = self._next_text()
            if text is not None:
                return text

    def handshake(self, token: str) -> str:
        """engine.io open, then the Socket.IO connect with the token; returns the sid."""
        assert self.receive_text().startswith("0")
        self.send_text("40" + json.dumps({"token": token}))
        reply = self.receive_text()
        assert reply.startswith("40"), reply
        return str(json.loads(reply[2:])["sid"])

    def emit(self, event: str, payload: Any, ack_id: int = 1) -> None:
        self.send_text(f"42{ack_id}" + json.dumps([event, payload]))

    def ack(self, ack_id: int = 1) -> Any:
        """Read until the acknowledgement numbered ``ack_id`` arrives; other messages are skipped."""
        prefix = f"43{ack_id}"
        while True:
            text = self.receive_text()
            if text.startswith(prefix):
                return json.loads(text[len(prefix) :])[0]

    def send_binary(self, data: bytes) -> None:
        """One binary WebSocket message: an attachment of the binary event sent just before it."""
        mask = os.urandom(4)
        if len(data) < 126:
            header = bytes([0x82, 0x80 | len(data)])
        else:
            header = bytes([0x82, 0x80 | 126]) + struct.pack(">H", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def acks(self, *ack_ids: int, within: float = 10.0) -> dict[int, list[Any]]:
        """Read until every acknowledgement named arrives, for at most ``within`` seconds (then TimeoutError); each
        one's arguments (an empty list when the server acknowledged with nothing). Other messages are skipped."""
        found: dict[int, list[Any]] = {}
        with self._deadline(within) as receive:
            while len(found) < len(set(ack_ids)):
                text = receive()
                if not text.startswith("43"):
                    continue
                digits = len(text) - len(text[2:].lstrip("0123456789"))
                number = int(text[2:digits]) if digits > 2 else None
                if number in ack_ids:
                    found[number] = list(json.loads(text[digits:]))
        return found

    def event(self, name: str, within: float = 10.0) -> Any:
        """Read until the server sends the event ``name``, for at most ``within`` seconds (then TimeoutError); its
        first argument. Other messages are skipped."""
        with self._deadline(within) as receive:
            while True:
                text = receive()
                if text.startswith("42"):
                    message = json.loads(text[2:])
                    if message and message[0] == name:
                        return message[1] if len(message) > 1 else None

    @contextlib.contextmanager
    def _deadline(self, within: float) -> Iterator[Callable[[], str]]:
        """``receive_text`` that gives up at a deadline: the server's pings alone never keep a wait going."""
        deadline = time.monotonic() + within

        def receive() -> str:
            # As ``receive_text``, with the deadline checked at every message (pings included).
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nothing awaited arrived within {within} s")
                self.sock.settimeout(left)
                text = self._next_text()
                if text is not None:
                    return text

        try:
            yield receive
        finally:
            self.sock.settimeout(10)

    def is_closed(self) -> bool:
        try:
            self.sock.settimeout(0.5)
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except TimeoutError:
            return False
        except OSError:
            return True

    def close(self) -> None:
        self.sock.close()
