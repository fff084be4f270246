"""A local Ray never starts under real-time scheduling, whatever left the driver in it (see datasets/video.py)."""

import os

import pytest

from orchestrator.runtime.ray_start import start_at_normal_priority


def test_a_real_time_driver_goes_back_to_normal_scheduling_before_ray_starts(capsys):
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # what SVT-AV1 leaves behind, run as root
    except PermissionError:
        pytest.skip("setting real-time scheduling needs root (CI runs as root)")
    try:
        start_at_normal_priority()
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
        assert "Ray starts at normal priority" in capsys.readouterr().out
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def test_a_normal_driver_is_left_alone(capsys):
    before = os.sched_getscheduler(0), os.sched_getparam(0)
    start_at_normal_priority()
    assert (os.sched_getscheduler(0), os.sched_getparam(0)) == before and capsys.readouterr().out == ""
