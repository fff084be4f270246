"""The CLI as a user runs it: bad input exits 2 with one clear message and no traceback; the README demo command
(with tiny overrides) runs a real sweep, prints the ranked table and the best trial, and pushes to a local Hub."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TINY_ACT
from tests.support.cli import run_cli, run_in_process
from tests.support.hub_server import LocalHub
from tests.support.lerobot_kit import ACT_TINY, STATE_DATASET

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--policy.type=nope"], "unknown choice; known: ['act', "),
        (["train", "--policy.n_action_steps=200"], "policy.n_action_steps = 200: must be <= policy.chunk_size"),
        (["train", "--steps=-5", "--batch_size=abc"], "batch_size = 'abc': cannot be read as an integer"),
        (["train", "--eval.batch_size=20"], "eval.batch_size = 20: must be <= eval.n_episodes"),
        (["train", "--config_path=/does/not/exist.yaml"], "config_path = '/does/not/exist.yaml': file not found"),
        (["sweep", "search_spaces/nope.py"], "file not found"),
        (
            ["sweep", "search_spaces/act.py", "--tune.warm_start=/nope"],
            "tune.warm_start = '/nope': is not an experiment",
        ),
        (
            ["sweep", "search_spaces/act.py", "--tune.search=random", "--tune.warm_start=/nope"],
            "use --tune.search=optuna (not random)",
        ),
        (["train", "--optimizer.lr=nan"], "optimizer.lr = 'nan': must be finite (not NaN or infinite)"),
        (
            ["sweep", "search_spaces/act.py", "--eval.n_episodes_growth=inf"],
            "eval.n_episodes_growth = 'inf': must be finite",
        ),
        (
            ["train", "--resources.cpus_per_worker=4096"],
            "resources.cpus_per_worker = 4096.0: is more than this machine's",
        ),
        (
            ["train", f"--dataset.root={STATE_DATASET}", "--env.type=metaworld"],
            "env.type = 'metaworld': the metaworld env, which evaluates the policy, makes",
        ),
        (
            ["train", f"--policy.path={ACT_TINY}", "--policy.dim_model=32", f"--dataset.root={STATE_DATASET}"],
            "does not fit the saved weights in",
        ),
        (["sweep", "search_spaces/act.py", "--tune.metric=eval/sucess"], "tune.metric = 'eval/sucess': must be one of"),
        (["sweep", "search_spaces/act.py", "--policy.n_heads=3"], "policy.n_heads = 3: must divide policy.dim_model"),
        (["push", "/no/such/experiment", "--hub.repo_id=me/act"], "folder = '/no/such/experiment': no such folder"),
    ],
)
def test_bad_input_exits_2_with_one_message(args, fragment):
    proc = run_in_process(*args)  # the console script's code path, in this process (an exception would fail here)
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and not proc.started_ray  # found before Ray starts
    assert len(proc.stderr.strip().splitlines()) <= 3, proc.stderr  # one message (a field, what is allowed, a hint)


def test_bad_input_through_the_console_script():
    """The same refusal from a new interpreter: the exit code and the stream a shell sees."""
    proc = run_cli("train", "--policy.type=nope")
    assert proc.returncode == 2 and "unknown choice; known: ['act', " in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("recorded", [False, True], ids=["before-recording", "recorded"])
def test_features_the_policy_cannot_use_are_refused_before_training(recorded, tmp_path, monkeypatch, request):
    """Against a dataset on disk, and, when the `local/` dataset is still to be recorded, against the env's features
    that it would hold: refused before the expert records a single episode (60 of them by default)."""
    if recorded:
        request.getfixturevalue("tiny_pixels_dataset")  # the session's cache, recorded
    else:
        monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))  # nothing recorded there
    proc = run_in_process(
        "train",
        "--policy.type=diffusion",
        "--env.obs_type=pixels_agent_pos",
        "--dataset.repo_id=local/pusht_pixels_expert",
        "--policy.crop_shape=[120,120]",
        f"--output_dir={tmp_path / 'run'}",
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not proc.started_ray, proc.stderr
    assert "policy.crop_shape = (120, 120): must fit inside the images" in proc.stderr
    assert "96x96" in proc.stderr
    if not recorded:
        assert "recorded" not in proc.stdout + proc.stderr and not (tmp_path / "cache" / "datasets").exists()


def test_hub_without_token_is_refused_before_training(tmp_path):
    env = {"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    proc = run_cli("sweep", "search_spaces/act.py", f"--tune.storage_path={tmp_path}", "--hub.repo_id=me/act", env=env)
    assert proc.returncode == 2 and "hub.repo_id" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "act").exists()  # nothing started


def test_existing_output_dir_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_in_process("train", f"--output_dir={out}")
    assert proc.returncode == 2 and "--resume=true" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


@pytest.mark.parametrize(
    "space",
    ["search_spaces/act.py", "search_spaces/diffusion.py", "search_spaces/mlp.py", "search_spaces/act_or_diffusion.py"],
)
def test_dry_run(space):
    proc = run_in_process("sweep", space, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "dry run: 4 configs sampled and built; nothing was trained" in proc.stdout


@pytest.mark.e2e
def test_readme_demo_command_with_tiny_overrides(tmp_path, cache_dir):
    token = "hf_e2e_secret_token_123"
    with LocalHub(token=token) as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": token, "ROBOT_SWEEPS_CACHE": str(cache_dir)}
        proc = subprocess.run(
            [
                "bash",
                "scripts/demo.sh",
                f"--tune.storage_path={tmp_path}",
                "--tune.experiment_name=demo",
                "--tune.num_samples=2",
                "--tune.max_concurrent_trials=1",
                *TINY_ACT,
                "--steps=20",
                "--log_freq=10",
                "--save_freq=20",
                "--eval_freq=10",
                "--eval.n_episodes=2",
                "--eval.batch_size=2",
                "--dataset.record_episodes=3",
                "--tune.confirm_episodes=3",
                "--env.episode_length=100",  # the expert needs ~60 steps; a tiny policy's episodes end at 100, not 400
                "--hub.repo_id=tester/mw-act",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "Trials ranked by eval/success" in proc.stdout and "Best trial" in proc.stdout
        assert "Confirming 3 candidates on up to 3 fresh episodes" in proc.stdout  # 2 trials + the baseline
        assert "baseline (step" in proc.stdout
        assert "step:10 smpl:" in proc.stdout and not [s for s in RAY_INTERNALS if s in out]  # a quiet terminal
        files = hub.repos["tester/mw-act"].files
        assert {"config.json", "model.safetensors", "train_config.json", "README.md"} <= set(files)
        best = tmp_path / "demo" / "best"
        assert files["model.safetensors"] == (best / "model.safetensors").read_bytes()
        assert b"--policy.path=tester/mw-act" in files["README.md"] and str(tmp_path).encode() not in files["README.md"]
    assert token not in out
    for path in (tmp_path / "demo").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".txt", ".log", ".csv", ".yaml"):
            assert token not in path.read_text(errors="ignore"), path
    assert list((tmp_path / "demo" / "wandb").glob("offline-run-*"))
    log = (tmp_path / "demo" / "logs" / "trials.log").read_text()  # what the terminal showed, kept
    assert "step:20 smpl:" in log and "finished at step 20" in log
    ray_logs = (tmp_path / "demo" / "logs" / "ray").resolve()  # Ray's own lines went to its logs, not the terminal
    assert any("Reporting training result" in p.read_text(errors="ignore") for p in ray_logs.glob("worker-*.err"))

    # The best policy evaluates again in the real env with the async evaluators, from its folder alone, as a user
    # runs it (its own Ray: this test runs beside the shared cluster's tests, scripts/test.sh).
    proc = run_cli(
        "eval",
        f"--policy.path={tmp_path / 'demo' / 'best'}",
        "--eval.n_episodes=3",
        "--eval.batch_size=3",
        f"--output_dir={tmp_path / 'eval'}",
        env={"ROBOT_SWEEPS_CACHE": str(cache_dir)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 episodes" in proc.stdout and "95% CI" in proc.stdout
    assert (
        "parameters; select_action" in proc.stdout and "per model query (batch 1, cpu; 95 % intervals)" in proc.stdout
    )
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    from orchestrator.policies.costs import n_params
    from orchestrator.policies.factory import load_policy

    ours = info["robot_sweeps"]  # beside lerobot-eval's per_task / per_group / overall
    assert (
        ours["policy/n_params"] == n_params(load_policy(tmp_path / "demo" / "best")) and ours["policy/latency_ms"] > 0
    )
    assert ours["eval/n_episodes"] == 3 and ours["eval/avg_max_reward"] > 0  # MetaWorld rewards exceed 1
    assert info["overall"]["n_episodes"] == 3
    assert info["per_task"][0]["metrics"]["seeds"] == [100_000, 100_001, 100_002]  # every episode with its seed
    confirmed = sorted(p.parent.name for p in (tmp_path / "demo" / "confirm").glob("*/eval_info.json"))
    assert len(confirmed) == 3 and "baseline" in confirmed  # 2 trials + the baseline, every episode


RAY_INTERNALS = (
    "Reporting training result",
    "TrainingReport(",
    "Checkpoint successfully created",
    "Trial status:",
    "Requesting resources",
)


def test_a_gpu_on_a_machine_without_one_is_refused_at_once():
    """A local Ray would wait forever for it (the autoscaler's 'No available node types can fulfill')."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal is for machines without one")
    for command in (["train"], ["sweep", "search_spaces/act.py"]):
        proc = run_in_process(*command, "--resources.use_gpu=true")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "resources.use_gpu = True: this machine has no GPU torch can use" in proc.stderr + proc.stdout
    # LeRobot's flag means the same: it asks for the GPU (it is not only recorded), and is refused the same way
    proc = run_in_process("train", "--policy.device=cuda")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "(policy.device = 'cuda' asks for it: --policy.device=cpu trains on the CPU)" in proc.stderr


def test_dry_run_counts_each_constraints_passes_and_samples_both_types():
    proc = run_in_process("sweep", "search_spaces/act_or_diffusion.py", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert "constraint 'act: n_action_steps <= chunk_size': " in out and " of 200 samples pass" in out
    assert "all constraints: " in out and "infeasible, not trained" in out
    assert "-> act with" in out and "-> diffusion with" in out  # both types sampled and built


def test_dry_run_refuses_a_constraint_no_sample_passes(tmp_path):
    space = tmp_path / "never.py"
    space.write_text(
        (ROOT / "search_spaces/act_or_diffusion.py")
        .read_text()
        .replace("constraints={", 'constraints={"steps > 10**9": lambda cfg: cfg.steps > 10**9,')
    )
    proc = run_in_process("sweep", str(space), "--dry-run")  # the baseline breaks it: refused before any sampling
    assert proc.returncode == 2 and "constraints['steps > 10**9']: the baseline" in proc.stderr, proc.stderr
    proc = run_in_process("sweep", str(space), "--tune.baseline=false", "--dry-run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "constraints['steps > 10**9']" in proc.stderr and "no sample of 200 passes it" in proc.stderr


def test_repeats_below_one_are_refused():
    proc = run_in_process("sweep", "search_spaces/act.py", "--tune.repeats=0", "--dry-run")
    assert proc.returncode == 2 and "tune.repeats = 0: must be a number > 0" in proc.stderr, proc.stderr


def test_a_warning_is_one_line_once_whatever_the_filters_say(capsys):
    """The demo printed the same constant-feature warning twice (a library's filter let it through again)."""
    import warnings

    from orchestrator.cli import run

    assert run(["--help"], handle_signals=False) == 0
    capsys.readouterr()
    warnings.simplefilter("always", UserWarning)  # as a library might set it
    for _ in range(2):
        warnings.warn("stats['action']['std'] is 0 in some dimension (a test)", UserWarning, stacklevel=1)
    warnings.warn("stats['action']['std'] is 0 in some dimension (a test)", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "warning: stats['action']['std'] is 0 in some dimension (a test)\n", err
