"""MP4 video of one camera, written and read with PyAV, in LeRobot's v3.0 layout: many episodes per file, one after
the other, frame i of the file at time i / fps. A frame is looked up by timestamp, within LeRobot's tolerance."""

from __future__ import annotations

import os
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from av.container import InputContainer

DEFAULT_CODEC = "libsvtav1"  # LeRobot's default codec (AV1); PyAV's wheels encode it on the CPU
CODEC_OPTIONS = {"g": "2", "crf": "30"}  # LeRobot's defaults: a keyframe every 2 frames keeps random access cheap
PIX_FMT = "yuv420p"
CODEC_NAMES = {"libsvtav1": "av1", "libx264": "h264", "h264": "h264", "mpeg4": "mpeg4"}  # encoder -> info.json name
TOLERANCE_S = 1e-4  # a decoded frame must lie this close to the asked timestamp (LeRobot's default tolerance_s)

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration to stderr otherwise


@contextmanager
def _keeping_scheduling_policy():
    """Undo SVT-AV1's switch of the calling thread to real-time scheduling.

    Run as root, SVT-AV1's first `encode` turns the calling thread into SCHED_FIFO priority 99. Every process
    started from it afterwards (Ray's GCS, raylets, workers, the dashboard) inherits that, and their busy threads
    then starve the kernel: on a 2-core machine the load climbs past 100 and the machine stops making progress.
    """
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if os.sched_getscheduler(0) != policy or os.sched_getparam(0) != param:
            os.sched_setscheduler(0, policy, param)


class VideoEncoder:
    """Appends RGB uint8 frames (N, H, W, 3) to one MP4 file; `close()` finishes it."""

    def __init__(self, path: Path, fps: int, height: int, width: int, codec: str = DEFAULT_CODEC):
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.frames = 0  # frames written so far
        self._container = av.open(str(path), "w")
        stream = self._container.add_stream(codec, rate=Fraction(fps))
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec!r} is not a video codec")
        self._stream = stream
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, PIX_FMT
        self._stream.options = dict(CODEC_OPTIONS) if codec != "mpeg4" else {"g": CODEC_OPTIONS["g"]}

    def add(self, frames: np.ndarray) -> None:
        import av

        with _keeping_scheduling_policy():
            for frame in frames:
                video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                video_frame.pts = self.frames
                self._container.mux(self._stream.encode(video_frame))
                self.frames += 1

    def close(self) -> None:
        with _keeping_scheduling_policy():
            self._container.mux(self._stream.encode())
            self._container.close()


def video_info(fps: int, height: int, width: int, codec: str) -> dict:
    """The `info` entry LeRobot keeps for a video feature in meta/info.json."""
    return {
        "video.height": height,
        "video.width": width,
        "video.codec": CODEC_NAMES.get(codec, codec),
        "video.pix_fmt": PIX_FMT,
        "video.is_depth_map": False,
        "video.fps": fps,
        "video.channels": 3,
        "has_audio": False,
    }


class FrameNotFound(Exception):
    """No frame of the video lies within the tolerance of an asked timestamp."""


MAX_OPEN_VIDEOS = 64  # open files kept per process (v2.1 datasets have one video per episode and camera)
_open_videos: dict[tuple[int, str], InputContainer] = {}  # (pid, path) -> open container: one per data-loader worker


def _container(path: Path) -> InputContainer:
    import av

    key = (os.getpid(), str(path))
    if key not in _open_videos:
        if len(_open_videos) >= MAX_OPEN_VIDEOS:
            oldest = next(iter(_open_videos))
            if oldest[0] == os.getpid():  # a container inherited from the parent process is left alone
                _open_videos[oldest].close()
            del _open_videos[oldest]
        _open_videos[key] = av.open(str(path))
    return _open_videos[key]


def decode_frames(path: Path, timestamps: list[float], tolerance_s: float = TOLERANCE_S) -> np.ndarray:
    """The frames (N, H, W, 3) uint8 nearest to `timestamps` (seconds from the file's start).

    Seeks to the keyframe before the first timestamp and decodes forward to the last one.
    """
    container = _container(path)
    stream = container.streams.video[0]
    time_base = stream.time_base
    assert time_base is not None, "a demuxed stream has a time base"
    first, last = min(timestamps), max(timestamps)
    container.seek(max(0, int((first - tolerance_s) / time_base)), stream=stream, backward=True)
    decoded_times, images = [], []
    for frame in container.decode(stream):
        assert frame.pts is not None, "a frame decoded from an MP4 file has a timestamp"
        time = float(frame.pts * time_base)
        if time >= first - tolerance_s:
            decoded_times.append(time)
            images.append(frame.to_ndarray(format="rgb24"))
        if time >= last - tolerance_s:
            break
    times = np.array(decoded_times)
    out = []
    for wanted in timestamps:
        nearest = int(np.argmin(np.abs(times - wanted))) if len(times) else -1
        if nearest < 0 or abs(times[nearest] - wanted) > tolerance_s:
            found = f"{times[nearest]:.4f} s" if nearest >= 0 else "nothing"
            raise FrameNotFound(f"no frame at {wanted:.4f} s (within {tolerance_s} s); the nearest is {found}")
        out.append(images[nearest])
    return np.stack(out)
