"""probe_video on the public cases (C13 webm/flv without durations, C15 truncated mp4s) and made videos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from parsers.mp4_boxes import walk_boxes
from parsers.video import probe_video
from tests.factories import make_video

CASES = Path(__file__).resolve().parent / "cases"
pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", *args], check=True, timeout=60
    )


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Real videos made once: mp4s of 240/372/610 s, audio-only, rotated, long-audio, non-media."""
    d = tmp_path_factory.mktemp("videos")
    out = {f"mp4_{s}": make_video(d / f"v{s}.mp4", s) for s in (240, 372, 610)}
    out["audio_only"] = d / "只有声音.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=8000:duration=30",
        "-c:a",
        "aac",
        "-b:a",
        "16k",
        str(out["audio_only"]),
    )
    out["rotated"] = d / "竖屏.mp4"
    _ffmpeg(
        "-i", str(out["mp4_240"]), "-c", "copy", "-metadata:s:v", "rotate=90", str(out["rotated"])
    )
    out["long_audio"] = d / "音频更长.mkv"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=8000:duration=400",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x36:rate=1:duration=300",
        "-map",
        "0:a",
        "-map",
        "1:v",  # audio is stream 0: the picture is not stream 0
        "-c:a",
        "libopus",
        "-b:a",
        "8k",
        "-c:v",
        "libvpx",
        "-b:v",
        "20k",
        str(out["long_audio"]),
    )
    out["text"] = d / "项目视频.mp4"
    out["text"].write_text("这不是视频，只是一段文字。\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("name", ["项目展示_浏览器录制.webm", "直播回放.flv"])
def test_c13_duration_from_packets_when_headers_have_none(name: str) -> None:
    """GIVEN a browser WebM / live FLV whose streams carry no duration (ffprobe prints N/A)
    WHEN it is probed THEN the picture duration comes from the packets: 372 s within 1.5 s."""
    expected = json.loads((CASES / "C13" / "expected.json").read_text(encoding="utf-8"))["files"][
        name
    ]
    facts = probe_video(CASES / "C13" / "input" / name)
    assert (facts.readable, facts.problem, facts.has_video, facts.truncated) == (
        True,
        None,
        True,
        False,
    )
    assert facts.duration_s == pytest.approx(expected["duration_s"], abs=expected["tolerance_s"])
    assert (facts.width, facts.height) == (64, 36)
    assert facts.ffprobe_version


def test_c15a_complete_moov_at_end_is_readable() -> None:
    facts = probe_video(CASES / "C15" / "input" / "a_完整_moov在末尾.mp4")
    assert (facts.readable, facts.problem, facts.truncated) == (True, None, False)
    assert facts.duration_s == pytest.approx(372.5, abs=0.5)
    assert facts.codec == "h264"


def test_c15b_cut_before_moov_is_moov_missing() -> None:
    facts = probe_video(CASES / "C15" / "input" / "b_截断_moov在末尾.mp4")
    assert (facts.readable, facts.problem, facts.truncated) == (False, "moov_missing", True)


def test_c15c_truncated_faststart_is_not_accepted_as_full_length() -> None:
    """GIVEN a faststart mp4 cut at 60 % (ffprobe -show_format still says 372.5 s, exit 0)
    WHEN it is probed THEN it is truncated and unreadable, its duration what the packets cover."""
    path = CASES / "C15" / "input" / "c_截断_faststart.mp4"
    facts = probe_video(path)
    assert (facts.readable, facts.problem, facts.truncated) == (False, "truncated", True)
    assert facts.duration_s is not None and facts.duration_s < 200
    walk = walk_boxes(path)
    assert (walk.cut.type, walk.has_moov) == ("mdat", True)


@pytest.mark.parametrize("seconds", [240, 372, 610])
def test_made_mp4_durations(videos: dict[str, Path], seconds: int) -> None:
    facts = probe_video(videos[f"mp4_{seconds}"])
    assert (facts.readable, facts.problem, facts.truncated) == (True, None, False)
    assert facts.duration_s == pytest.approx(seconds, abs=1.0)
    assert walk_boxes(videos[f"mp4_{seconds}"]).cut is None


def test_audio_only_has_no_video_stream(videos: dict[str, Path]) -> None:
    facts = probe_video(videos["audio_only"])
    assert (facts.has_video, facts.problem, facts.duration_s) == (False, "no_video_stream", None)


def test_text_named_mp4_is_not_a_video_nor_moov_missing(videos: dict[str, Path]) -> None:
    facts = probe_video(videos["text"])
    assert (facts.readable, facts.has_video, facts.problem) == (False, False, "no_video_stream")


def test_rotated_video_reports_display_size(videos: dict[str, Path]) -> None:
    facts = probe_video(videos["rotated"])
    assert (facts.width, facts.height) == (36, 64)


def test_picture_duration_when_audio_is_longer_and_not_stream_0(videos: dict[str, Path]) -> None:
    facts = probe_video(videos["long_audio"])
    assert (facts.readable, facts.codec) == (True, "vp8")
    assert facts.duration_s == pytest.approx(300, abs=1.5)


def test_missing_ffprobe_is_a_fact(videos: dict[str, Path]) -> None:
    facts = probe_video(videos["mp4_240"], ffprobe="/nonexistent/ffprobe")
    assert (facts.readable, facts.problem) == (False, "ffprobe_missing")


def test_timeout_kills_ffprobe(videos: dict[str, Path], tmp_path: Path) -> None:
    """A probe that cannot finish in time is reported as a timeout (ffprobe is killed)."""
    slow = tmp_path / "slow_ffprobe"
    slow.write_text(
        f'#!/bin/sh\n[ "$1" = "-version" ] && exec {shutil.which("ffprobe")} -version\nsleep 30\n'
    )
    slow.chmod(0o755)
    facts = probe_video(videos["mp4_240"], ffprobe=str(slow), timeout_s=0.5)
    assert (facts.readable, facts.problem) == (False, "timeout")


def test_ffprobe_bundled_off_means_path_only(videos: dict[str, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``[parsing] ffprobe_bundled = false``: with no ffprobe on PATH there is none, whatever extra
    is installed (a test that hides ffprobe must not depend on the machine)."""
    from parsers.ffprobe_locate import locate_ffprobe

    monkeypatch.setenv("PATH", str(tmp_path))
    assert locate_ffprobe(bundled=False) is None
    facts = probe_video(videos["mp4_240"], bundled=False)
    assert facts.problem == "ffprobe_missing"


def test_one_ffprobe_run_per_video_and_odd_names(videos: dict[str, Path], tmp_path: Path) -> None:
    """GIVEN a video whose name holds ffprobe's compact separators (| and \\) WHEN probed THEN
    its facts come from a single ffprobe run (issue 16: each start costs ~70 ms of CPU)."""
    odd = tmp_path / "a|b\\c=d.mp4"
    shutil.copyfile(videos["mp4_240"], odd)
    log = tmp_path / "calls"
    wrapper = tmp_path / "ffprobe"
    wrapper.write_text(f'#!/bin/sh\necho x >> "{log}"\nexec "{shutil.which("ffprobe")}" "$@"\n')
    wrapper.chmod(0o755)
    facts = probe_video(odd, ffprobe=str(wrapper))
    assert (facts.readable, facts.problem, facts.codec) == (True, None, "h264")
    assert facts.duration_s == pytest.approx(240, abs=1.0)
    assert log.read_text().count("x") == 2  # "-version" once (cached per process), the probe once


@pytest.mark.parametrize(
    ("made", "forged"),
    [
        (b"A|DURATIONX5XB", b"a|duration=5|b"),  # the stream's declared duration
        (b"A|DISPOSITIONXATTACHED_PICX1XB", b"a|disposition:attached_pic=1|b"),  # "cover art"
        (b"A|WIDTHX9999XB", b"a|width=9999|b"),
    ],
    ids=["duration", "attached_pic", "width"],
)
def test_a_tag_name_cannot_forge_stream_fields(tmp_path: Path, made: bytes, forged: bytes) -> None:
    """GIVEN a Matroska video whose stream tag has a *name* holding ``|`` and ``=`` (ffprobe's
    compact writer escapes values, not names) WHEN probed THEN the stream's facts are its own:
    a 30 s video is not reported as 5 s, as cover art, nor 9999 pixels wide."""
    made_path = tmp_path / "made.mkv"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc=duration=30:size=160x120:rate=5", "-c:v", "mpeg4",
        "-metadata:s:v:0", made.decode() + "=v", str(made_path),
    )  # fmt: skip
    data = made_path.read_bytes()
    assert data.count(made) == 1 and len(made) == len(forged)
    video = tmp_path / "forged.mkv"
    video.write_bytes(data.replace(made, forged))  # a name ffmpeg's muxer would upper-case
    facts = probe_video(video)
    assert (facts.readable, facts.problem, facts.has_video) == (True, None, True)
    assert facts.duration_s == pytest.approx(30, abs=0.5)
    assert (facts.width, facts.height) == (160, 120)


def test_an_ffprobe_naming_its_sections_otherwise_still_probes(videos: dict[str, Path], tmp_path: Path) -> None:
    """GIVEN an ffprobe that refuses a -show_entries section name (another FFmpeg version names
    its side-data sections otherwise) WHEN a video is probed THEN it is probed again without the
    side data and read as usual."""
    real = shutil.which("ffprobe")
    wrapper = tmp_path / "ffprobe"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$*" in *stream_side_data*) echo "No match for section \'stream_side_data\'" >&2; exit 1;; esac\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    facts = probe_video(videos["mp4_240"], ffprobe=str(wrapper))
    assert (facts.readable, facts.problem, facts.codec) == (True, None, "h264")
    assert facts.duration_s == pytest.approx(240, abs=1.0)


@pytest.mark.parametrize("lines", [
    [b"packet|stream_index=0|pts_time=0.000000|dts_time=-0.066667|duration_time=0.033333\n",
     b"packet|stream_index=0|pts_time=N/A|dts_time=0.5|duration_time=N/A\r\n",
     b"packet|stream_index=1|pts_time=N/A|dts_time=N/A|duration_time=1.0\n",
     b"packet|stream_index=0|pts_time=3.5|dts_time=3.4|duration_time=0.5",
     b"packet|stream_index=1|pts_time=7|dts_time=7|duration_time=-0.5\n"],
    [b"packet|stream_index=0|pts_time=1\\|2|dts_time=2.0|duration_time=1.0\n",  # escaped: the slow path
     b"packet|pts_time=4.0|duration_time=1.0\n",  # fields missing: the slow path
     b"packet|stream_index=0|pts_time=9.0|dts_time=8.0|duration_time=0.5|extra=1\n"],
])
def test_packet_lines_read_the_same_on_the_fast_path(lines: list[bytes]) -> None:
    """GIVEN packet lines as ffprobe's compact writer prints them (and lines only the general
    reader can take) WHEN folded THEN each stream's count, first and last time are those of the
    general reader (every field split, escapes undone)."""
    from parsers.video import _Listing, _PacketScan, _split

    listing = _Listing()
    expected: dict[int, _PacketScan] = {}
    for line in lines:
        assert listing.add_line(line) is False
        fields = dict(_split(line[7:]))
        index = int(fields.get("stream_index") or 0)
        expected.setdefault(index, _PacketScan()).add(fields)
    assert listing.packets == expected
