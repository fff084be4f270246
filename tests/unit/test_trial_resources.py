"""What a trial reserves (trainables/trial.py): the driver's bundle, one bundle per evaluator (with its GPU share when
resources.gpus_per_eval_actor > 0), and the footprint that caps concurrency (Train workers included)."""

from __future__ import annotations

from orchestrator.configs.train import EvalConfig, ResourcesConfig, TrainPipelineConfig
from orchestrator.runtime.ray_start import local_resource_problems
from orchestrator.runtime.resources import DRIVER_BUNDLE, trial_footprint
from trainables.trial import trial_resources


def test_evaluators_on_cpus_by_default():
    cfg = TrainPipelineConfig(eval=EvalConfig(num_actors=2))
    assert trial_resources(cfg).bundles == [DRIVER_BUNDLE, {"CPU": 1.0}, {"CPU": 1.0}]
    assert trial_footprint(cfg) == {"CPU": 3.0}


def test_evaluators_with_a_gpu_share_reserve_it_and_count_in_the_footprint():
    cfg = TrainPipelineConfig(
        eval=EvalConfig(num_actors=2),
        resources=ResourcesConfig(use_gpu=True, gpus_per_worker=1.0, gpus_per_eval_actor=0.25),
    )
    assert trial_resources(cfg).bundles == [DRIVER_BUNDLE, {"CPU": 1.0, "GPU": 0.25}, {"CPU": 1.0, "GPU": 0.25}]
    assert trial_footprint(cfg) == {"CPU": 3.0, "GPU": 1.5}
    cpu_training = TrainPipelineConfig(resources=ResourcesConfig(gpus_per_eval_actor=0.5))
    assert trial_footprint(cpu_training) == {"CPU": 2.0, "GPU": 0.5}  # the evaluator alone on a GPU


def test_a_gpu_share_is_refused_at_once_on_a_machine_without_a_gpu_and_a_negative_one_always():
    import torch

    if torch.cuda.device_count() == 0:
        (p,) = local_resource_problems(ResourcesConfig(gpus_per_eval_actor=0.5))
        assert p.field == "resources.gpus_per_eval_actor" and "no GPU" in p.message
    assert [p.field for p in ResourcesConfig(gpus_per_eval_actor=-1).problems()] == ["gpus_per_eval_actor"]


def test_the_gpu_check_script_says_in_one_line_that_there_is_no_gpu_and_exits_2():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        ["bash", "scripts/gpu_check.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NVIDIA_SMI": "/nonexistent/nvidia-smi"},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "gpu_check: no NVIDIA GPU here (nvidia-smi finds none): nothing to check"
    ]
