"""Hostile videos: corrupt, cut, hanging, absurd or fake ones end as findings; ffprobe is killed on time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from parsers.inputs import InputError, read_input
from parsers.video import probe_video
from tests.robustness import hostile as H
from tests.robustness.harness import judge


@pytest.fixture(scope="module")
def good_video(tmp_path_factory) -> Path:
    return H.real_video(tmp_path_factory.mktemp("good"), 6)


@pytest.mark.parametrize(
    "seed", [0, 37, 68, 131, None], ids=["nothing", "raw-h263-0x0", "raw-h263-frame", "lrc", "fresh"]
)
def test_random_bytes_named_mp4_are_video_unreadable(tmp_path: Path, seed: int | None) -> None:
    """Whatever ffprobe takes random bytes for (nothing, one bare H.263 frame, LRC lyrics), the
    applicant reads VIDEO_UNREADABLE, never a duration."""
    got = judge(H.video_random_bytes(tmp_path / "in", seed), tmp_path)
    assert got.where("VIDEO_UNREADABLE") == ["项目视频-乱码.mp4"]


def test_truncated_upload_is_video_unreadable(tmp_path: Path, good_video: Path) -> None:
    got = judge(H.video_truncated(tmp_path / "in", good_video), tmp_path)
    (m,) = got.dossier.materials
    assert m.problem == "truncated" or (m.video is not None and m.video.truncated)
    assert got.where("VIDEO_UNREADABLE") == [m.name]


def test_text_named_mp4_is_a_mismatch_not_silence(tmp_path: Path) -> None:
    """GIVEN 项目视频.mp4 holding Chinese text
    THEN it is the video the applicant meant, unreadable: VIDEO_UNREADABLE, not only VIDEO_MISSING."""
    got = judge(H.video_text(tmp_path / "in"), tmp_path)
    (m,) = got.dossier.materials
    assert (m.role, m.kind, m.problem) == ("video", "text", "mismatch")
    assert got.where("VIDEO_UNREADABLE") == ["项目视频.mp4"]


def test_absurd_declared_durations_do_not_pass_as_a_good_video(tmp_path: Path, good_video: Path) -> None:
    """GIVEN a 6-second video whose mvhd/tkhd/mdhd durations say 0xFFFFFFFF
    THEN its duration comes from the packets: still far too short (VIDEO_TOO_SHORT), or unreadable."""
    got = judge(H.video_absurd_duration(tmp_path / "in", good_video), tmp_path)
    assert got.codes() & {"VIDEO_TOO_SHORT", "VIDEO_UNREADABLE"}
    assert "VIDEO_TOO_LONG" not in got.codes()


def test_a_hundred_and_twenty_streams_are_probed(tmp_path: Path) -> None:
    got = judge(H.video_many_streams(tmp_path / "in"), tmp_path)
    (m,) = got.dossier.materials
    assert m.video is not None and m.video.has_video and m.video.duration_s == pytest.approx(2, abs=0.5)
    assert got.where("VIDEO_TOO_SHORT") == [m.name]


def test_ffprobe_on_a_fifo_is_killed_at_the_timeout(tmp_path: Path) -> None:
    """GIVEN a FIFO named .mp4 that nobody writes (ffprobe blocks opening it)
    WHEN probed with a 2-second timeout
    THEN the probe returns 'timeout' after about 2 s: the child was killed, not waited for."""
    fifo = H.video_fifo(tmp_path)
    started = time.monotonic()
    facts = probe_video(fifo, timeout_s=2)
    elapsed = time.monotonic() - started
    assert facts.problem == "timeout" and not facts.readable
    assert 1.5 <= elapsed < 30


def test_a_fifo_is_never_opened_by_read_input(tmp_path: Path) -> None:
    """GIVEN a FIFO given as the input, and one inside a dossier folder
    THEN the first is an InputError (intake check exits 2), the second an ARCHIVE_UNSAFE finding."""
    with pytest.raises(InputError, match="not a regular file"):
        read_input(H.video_fifo(tmp_path / "direct"), tmp_path / "w1")
    folder = tmp_path / "in" / "dossier"
    H.video_fifo(folder)
    got = judge(folder, tmp_path)
    assert got.where("ARCHIVE_UNSAFE") == ["项目视频-管道.mp4"]


def test_a_sparse_1_gib_file_named_mp4_is_judged_without_reading_it_into_memory(tmp_path: Path) -> None:
    """GIVEN 1 GiB of zeros (a sparse file) named .mp4
    THEN it is hashed by streaming and ffprobe gives up on it: VIDEO_UNREADABLE."""
    got = judge(H.video_sparse(tmp_path / "in", gib=1), tmp_path)
    (m,) = got.dossier.materials
    assert m.size == 1024**3
    assert got.where("VIDEO_UNREADABLE") == [m.name]
