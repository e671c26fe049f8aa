# FaaSET frames: the one reader/writer of the kernel's pipe framing, shared by
# the local runtime (faaset_host.py) and the local platform's workers
# (worker.py), so both read and write frames exactly as the C side does
# (runtime/frame.c; runtime/PROTOCOL.md).
#
# A frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON
# holding one object. Writing: encode() makes the body (no NaN/Infinity, which
# the kernel rejects; text that is not valid UTF-8, such as lone surrogates,
# becomes "?"), pack() puts the length in front, write() sends it all, and a
# peer that has gone is not an error here (the next read sees EOF). Reading:
# read() blocks until a whole frame has arrived and returns the object; None
# at EOF or a socket error, also in the middle of a frame; ValueError when the
# body is not UTF-8 JSON holding an object (the frame has been consumed, so
# the stream stays in step and the caller may read on). There is no size
# limit on reading: the kernel checks what it receives (FRAME_MAX_SIZE), and
# each writer checks what it sends where it knows how to say what is too
# large (body_fits()).
#
# How each side gets it: the kernel embeds this file in its binary. The local
# runtime gets it in the boot frame, before faaset_host (bootstrap.py creates
# the modules in order). A worker gets its source in $FAASET_FRAMES_SOURCE
# (platforms/local.c), because the package folder it runs in is the one a
# cloud gets and does not hold this file. Only the standard library is used.
import json
import struct

FRAME_MAX_SIZE = 256 * 1024 * 1024  # the kernel's limit on a frame's body (platforms/base/frame.h)
HEADER = struct.Struct(">I")


def dumps(message):
    """JSON text the kernel accepts: no NaN/Infinity (ValueError)."""
    return json.dumps(message, ensure_ascii=False, allow_nan=False)


def encode(message):
    """A frame's body: the message as UTF-8 JSON."""
    return dumps(message).encode("utf-8", "replace")


def body_fits(body):
    """Whether BODY (with its header) is within the kernel's limit, as a writer checks it."""
    return len(body) <= FRAME_MAX_SIZE - HEADER.size


def pack(body):
    """The whole frame: the length, then BODY."""
    return HEADER.pack(len(body)) + body


def write(sock, frame):
    """Send a packed frame, all of it. False when the peer has gone."""
    try:
        sock.sendall(frame)
    except OSError:
        return False
    return True


def read(sock):
    """The next frame's object (a dict); None at EOF; ValueError if it is not a JSON object."""
    header = read_exactly(sock, HEADER.size)
    if header is None:
        return None
    body = read_exactly(sock, HEADER.unpack(header)[0])
    if body is None:
        return None
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a frame must hold a JSON object")
    return message


def read_exactly(sock, size):
    """SIZE bytes from SOCK; None if it ends (EOF or an error) first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        try:
            count = sock.recv_into(view[received:])
        except InterruptedError:
            continue
        except OSError:
            return None
        if count == 0:
            return None
        received += count
    return bytes(buffer)
