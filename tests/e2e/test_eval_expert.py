"""`python -m orchestrator eval --expert=true`: the env's scripted expert on the evaluation episodes (the ceiling a
policy is compared with), through the same CLI, Ray actors and printed line as a policy; bad input exits 2."""

import json
import re

import pytest

from tests.support.cli import run_in_process, run_on_cluster


@pytest.mark.parametrize(
    "args, fragments",
    [
        (
            ["--expert=true", "--policy.path=outputs/sweeps/act/best"],
            ["expert: --expert=true and --policy.path (= 'outputs/sweeps/act/best') are mutually exclusive"],
        ),
        (
            ["--expert=true", "--env.type=gym", "--env.id=Pendulum-v1"],
            ["env.type = 'gym': has no scripted expert", "['aloha', 'metaworld', 'pusht']"],
        ),
        (
            ["--expert=true", "--env.type=aloha", "--env.task=insertion"],
            ["env.task = 'insertion': the aloha expert solves only ['transfer_cube']"],
        ),
        (["--expert=perhaps"], ["expert = 'perhaps': must be true or false"]),
    ],
)
def test_bad_expert_input_exits_2_with_one_message(args, fragments):
    proc = run_in_process("eval", *args)
    assert proc.returncode == 2, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "Ray dashboard" not in proc.stdout and not proc.started_ray  # refused before Ray started


def test_without_expert_a_policy_path_is_still_required():
    proc = run_in_process("eval", "--expert=false", "--env.type=metaworld")
    assert proc.returncode == 2 and "policy.path: is required" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_metaworld_reach_expert_succeeds_on_every_episode(tmp_path, ray_cluster):  # (ROBOT_SWEEPS_CACHE: cache_dir)
    proc = run_on_cluster(
        "eval",
        "--expert=true",
        "--env.type=metaworld",
        "--env.task=reach",
        "--eval.n_episodes=4",
        "--eval.batch_size=4",
        f"--output_dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "scripted expert (MetaWorldExpert, task reach) on metaworld, 4 episodes (seeds 100000..100003):" in proc.stdout
    ), proc.stdout
    # the same line as for a policy; MetaWorld's reach policy solves every episode (4/4: Wilson interval 51%-100%)
    line = re.search(
        r"success (\S+)% \(95% CI (\S+)%-(\S+)%\), avg sum reward (\S+), avg max reward (\S+), ", proc.stdout
    )
    assert line, proc.stdout
    assert [float(x) for x in line.groups()[:3]] == [100.0, 51.0, 100.0]
    assert float(line.group(4)) > float(line.group(5)) > 0
    info = json.loads((tmp_path / "eval_info.json").read_text())  # lerobot-eval's layout, every episode with its seed
    assert info["robot_sweeps"]["eval/n_episodes"] == 4 and info["robot_sweeps"]["eval/success"] == 1.0
    assert info["overall"]["pc_success"] == 100.0 and info["overall"]["n_episodes"] == 4
    assert info["per_task"][0]["task_group"] == "reach-v3" and info["per_task"][0]["task_id"] == 0
    episodes = info["per_task"][0]["metrics"]
    assert episodes["seeds"] == [100_000, 100_001, 100_002, 100_003] and episodes["successes"] == [True] * 4
    assert len(episodes["sum_rewards"]) == len(episodes["max_rewards"]) == 4
