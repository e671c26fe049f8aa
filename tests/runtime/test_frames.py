"""Tests for runtime/python/faaset_frames.py, the frame reader/writer that the
local runtime (faaset_host.py) and the local platform's workers (worker.py)
share. The module is imported directly and driven over a socketpair, the
kind of socket the kernel gives both.
Run with `python3 -m pytest tests/runtime` or `python3 -m unittest discover -s tests/runtime`.
"""
import os
import socket
import struct
import sys
import threading
import unittest

RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python")
sys.path.insert(0, RUNTIME_DIR)
try:
    import faaset_frames
finally:
    sys.path.remove(RUNTIME_DIR)


class _Length:
    """Stands in for a body of LENGTH bytes without allocating them."""

    def __init__(self, length):
        self.length = length

    def __len__(self):
        return self.length


class FramesTest(unittest.TestCase):
    def setUp(self):
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ours.settimeout(10)
        self.theirs.settimeout(10)

    def tearDown(self):
        self.ours.close()
        self.theirs.close()

    def send_raw(self, data, close=False):
        self.theirs.sendall(data)
        if close:
            self.theirs.shutdown(socket.SHUT_WR)

    def test_round_trip(self):
        message = {"type": "invoke", "id": 7, "payload": {"text": "h\u00e9llo \u2603", "list": [1, 2.5, None, True]}}
        self.assertTrue(faaset_frames.write(self.theirs, faaset_frames.pack(faaset_frames.encode(message))))
        self.assertEqual(faaset_frames.read(self.ours), message)

    def test_wire_format_is_the_kernels(self):
        body = faaset_frames.encode({"a": "\u00e9"})
        self.assertEqual(body, '{"a": "\u00e9"}'.encode("utf-8"))  # UTF-8, not \\u escapes
        self.assertEqual(faaset_frames.pack(body), struct.pack(">I", len(body)) + body)

    def test_several_frames_in_one_write_are_read_one_by_one(self):
        frames = b"".join(faaset_frames.pack(faaset_frames.encode({"n": n})) for n in range(3))
        self.send_raw(frames, close=True)
        self.assertEqual([faaset_frames.read(self.ours) for _ in range(4)], [{"n": 0}, {"n": 1}, {"n": 2}, None])

    def test_a_frame_larger_than_the_socket_buffer(self):
        message = {"data": "x" * (8 * 1024 * 1024)}
        frame = faaset_frames.pack(faaset_frames.encode(message))
        writer = threading.Thread(target=faaset_frames.write, args=(self.theirs, frame))
        writer.start()
        try:
            self.assertEqual(faaset_frames.read(self.ours), message)
        finally:
            writer.join()

    def test_encode_refuses_nan_and_replaces_lone_surrogates(self):
        with self.assertRaises(ValueError):
            faaset_frames.encode({"x": float("nan")})
        self.assertEqual(faaset_frames.encode({"x": "a\ud800b"}), b'{"x": "a?b"}')

    def test_oversize_body_is_what_a_writer_must_not_send(self):
        limit = faaset_frames.FRAME_MAX_SIZE
        self.assertEqual(limit, 256 * 1024 * 1024)  # runtime/frame.h
        self.assertTrue(faaset_frames.body_fits(b"{}"))
        self.assertTrue(faaset_frames.body_fits(_Length(limit - 4)))
        self.assertFalse(faaset_frames.body_fits(_Length(limit - 3)))
        self.assertFalse(faaset_frames.body_fits(_Length(limit + 1)))

    def test_eof_before_a_frame(self):
        self.theirs.shutdown(socket.SHUT_WR)
        self.assertIsNone(faaset_frames.read(self.ours))

    def test_truncated_header(self):
        self.send_raw(b"\x00\x00", close=True)
        self.assertIsNone(faaset_frames.read(self.ours))

    def test_truncated_body(self):
        body = faaset_frames.encode({"type": "invoke", "id": 1})
        self.send_raw(struct.pack(">I", len(body)) + body[:-3], close=True)
        self.assertIsNone(faaset_frames.read(self.ours))

    def test_header_announcing_more_than_arrives(self):
        self.send_raw(struct.pack(">I", 1000) + b"{}", close=True)
        self.assertIsNone(faaset_frames.read(self.ours))

    def test_socket_error_reads_as_eof(self):
        self.ours.close()
        self.ours = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # not connected: recv fails
        self.assertIsNone(faaset_frames.read(self.ours))

    def test_non_object_json_is_a_value_error_and_the_stream_stays_in_step(self):
        for text in ('[1, 2]', '"text"', '3', 'null'):
            body = text.encode("utf-8")
            self.send_raw(struct.pack(">I", len(body)) + body)
            with self.assertRaises(ValueError) as caught:
                faaset_frames.read(self.ours)
            self.assertEqual(str(caught.exception), "a frame must hold a JSON object")
        self.send_raw(faaset_frames.pack(faaset_frames.encode({"after": True})))
        self.assertEqual(faaset_frames.read(self.ours), {"after": True})

    def test_malformed_json_and_utf8_are_value_errors(self):
        for body in (b"{not json", b'{"a": "\xff"}', b""):
            self.send_raw(struct.pack(">I", len(body)) + body)
            with self.assertRaises(ValueError):
                faaset_frames.read(self.ours)
        self.send_raw(faaset_frames.pack(faaset_frames.encode({"ok": 1})))
        self.assertEqual(faaset_frames.read(self.ours), {"ok": 1})

    def test_write_to_a_peer_that_has_gone(self):
        self.ours.close()
        self.assertFalse(faaset_frames.write(self.theirs, faaset_frames.pack(b"{}")))


if __name__ == "__main__":
    unittest.main()
