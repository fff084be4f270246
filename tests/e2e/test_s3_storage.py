"""--tune.storage_path=s3://... against a real S3-compatible server (moto's, its own process): the CLI's sweep writes
its Tune experiment, Ray Train's checkpoints, summary.json, the report and best/ into the bucket (the endpoint and
credentials reach every Ray worker through the environment), resumes from it, and `report` rebuilds the page from
the bucket alone. The secret never shows up in the output, in the bucket or in the local copy."""

import json

import pytest

from tests.conftest import TINY_ACT
from tests.support.cli import run_cli
from tests.support.s3_server import SECRET_KEY

pytestmark = pytest.mark.e2e

SWEEP = [
    "sweep",
    "search_spaces/act.py",
    "--tune.storage_path=s3://e2e-sweeps/team/sweeps",
    "--tune.experiment_name=act",
    "--tune.metric=train/loss",
    "--tune.mode=min",
    "--tune.scheduler=none",
    "--tune.baseline=false",
    "--tune.confirm_top_k=0",
    *TINY_ACT,
    "--steps=4",
    "--log_freq=2",
    "--save_freq=4",
    "--eval_freq=0",
    "--dataset.record_episodes=3",
    "--wandb.enable=true",
]


def test_a_sweep_in_s3_resumes_and_reports_from_the_bucket(s3_server, tiny_dataset, cache_dir, monkeypatch, tmp_path):
    s3_server.create_bucket("e2e-sweeps")
    env = {**s3_server.env, "ROBOT_SWEEPS_CACHE": str(cache_dir), "WANDB_MODE": "offline"}
    proc = run_cli(*SWEEP, "--tune.num_samples=1", env=env, timeout=400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    keys = [k for k in s3_server.keys("e2e-sweeps") if not k.endswith("/")]  # "x/": pyarrow's folder markers
    exp = "team/sweeps/act/"
    summary = json.loads(s3_server.read("e2e-sweeps", exp + "summary.json"))
    (trial,) = summary["trials"]
    checkpoint = trial["checkpoint_path"]  # a URI the sweep read back from (best/ was downloaded from it)
    assert checkpoint.startswith(f"s3://e2e-sweeps/{exp}train/trial_{trial['trial_id']}/checkpoint_")
    ckpt_key = checkpoint.removeprefix("s3://e2e-sweeps/")
    assert {
        f"{ckpt_key}/pretrained_model/model.safetensors",
        f"{ckpt_key}/training_state/optimizer_state.pt",
        f"{exp}trials/tuner.pkl",
        f"{exp}trials/trial_{trial['trial_id']}/result.json",
        f"{exp}report.md",
        f"{exp}report/report.html",
        f"{exp}best/model.safetensors",
        f"{exp}best/README.md",
        f"{exp}logs/trials.log",
    } <= set(keys), keys
    assert s3_server.read("e2e-sweeps", f"{exp}best/model.safetensors") == s3_server.read(
        "e2e-sweeps", f"{ckpt_key}/pretrained_model/model.safetensors"
    )
    assert any(k.startswith(f"{exp}wandb/offline-run-") for k in keys)  # the driver's node's W&B runs, uploaded
    local = cache_dir / "storage/s3/e2e-sweeps/team/sweeps/act"
    assert f"local copy: {local}" in proc.stdout and (local / "report" / "report.html").is_file()

    # Resume: Tune restores the finished experiment from the bucket and runs nothing more (a fresh Tuner would run
    # the 2 trials asked for here); the same checkpoints, the same trial.
    again = run_cli(*SWEEP, "--tune.resume=true", "--tune.num_samples=2", env=env, timeout=400)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    after = [k for k in s3_server.keys("e2e-sweeps", exp + "train/") if not k.endswith("/")]
    assert after == [k for k in keys if k.startswith(exp + "train/")]
    resumed = json.loads(s3_server.read("e2e-sweeps", exp + "summary.json"))
    assert [t["trial_id"] for t in resumed["trials"]] == [trial["trial_id"]]

    # `report` from the URI alone (what `python -m orchestrator report s3://...` runs), into a folder of our choice.
    from orchestrator.report.command import report_from_args

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    page = report_from_args(["s3://e2e-sweeps/team/sweeps/act", f"--out={tmp_path / 'report'}"])
    assert page == tmp_path / "report" / "report.html"
    html = page.read_text()
    assert trial["trial_id"] in html and "<section id='trials'>" in html and "s3://e2e-sweeps/team/sweeps/act" in html

    for text in (out, again.stdout + again.stderr):
        assert SECRET_KEY not in text
    assert not [k for k in keys if SECRET_KEY.encode() in s3_server.read("e2e-sweeps", k)]
    assert not [p for p in local.rglob("*") if p.is_file() and SECRET_KEY.encode() in p.read_bytes()]
    # Ray's own session logs, which <experiment>/logs/ray links to (runtime_env_agent.log would print a runtime
    # environment's env_vars): the workers got the credentials from the environment, not through Ray
    ray_logs = (local / "logs" / "ray").resolve()
    assert ray_logs.is_dir() and (ray_logs / "runtime_env_agent.log").is_file()
    assert not [p for p in ray_logs.parent.rglob("*") if p.is_file() and SECRET_KEY.encode() in p.read_bytes()]
