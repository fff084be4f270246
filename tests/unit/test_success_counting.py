"""Evaluation counts success (issue 7): every simulator ends an episode on success, and under SAME_STEP autoreset the
vector env has already reset that env inside the same step, so success must be read from the finished episode's
info (`final_info`). The scripted experts drive the very evaluation path a policy uses (`rollout(None, ...)`), and
must read success exactly where the same expert succeeds when recording; a policy that never succeeds reads 0."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from orchestrator.datasets import record
from orchestrator.envs.configs import MetaWorldEnvConfig, PushTEnvConfig
from orchestrator.envs.rollout import episode_success, rollout, summarize

SAME_STEP, NEXT_STEP = gym.vector.AutoresetMode.SAME_STEP, gym.vector.AutoresetMode.NEXT_STEP

# Short episodes so that some expert episodes run out of time: each case holds successes and failures.
# Measured when written: reach succeeds in 50/42/32 steps on these seeds, PushT in 128/169/59 steps.
CASES = {
    "metaworld-reach": (MetaWorldEnvConfig(task="reach", episode_length=45), [100_000, 100_001, 100_002]),
    "pusht": (PushTEnvConfig(episode_length=100), [100_000, 100_001, 100_002]),
}
FAR_CORNER = [10.0, 10.0]  # a PushT agent target in a corner of the 512 x 512 table, far from the T's goal


@pytest.fixture(scope="module")
def recorded():
    """Per case, the recording path's (success, sum reward, max reward) of the expert on each seed."""
    out = {}
    for name, (cfg, seeds) in CASES.items():
        episodes = [record.rollout(cfg, seed) for seed in seeds]
        out[name] = [
            (success, float(ep["next.reward"].sum()), float(ep["next.reward"].max())) for ep, success in episodes
        ]
    return out


def test_the_cases_hold_successes_and_failures(recorded):
    for name, results in recorded.items():
        successes = [success for success, _, _ in results]
        assert any(successes) and not all(successes), (name, successes)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("mode", [SAME_STEP, NEXT_STEP], ids=["same_step", "next_step"])
@pytest.mark.parametrize("name", list(CASES))
def test_expert_reads_the_success_it_records(name, mode, use_async, recorded):
    cfg, seeds = CASES[name]
    # batch_size 2 < len(seeds): several batches, the last one padded with a replayed seed
    results = rollout(None, cfg, seeds, batch_size=2, use_async=use_async, autoreset_mode=mode)
    assert [r.seed for r in results] == seeds
    assert [r.success for r in results] == [success for success, _, _ in recorded[name]]
    # the same episodes, step for step: the rewards of the recording are those the evaluation summed
    for r, (_, sum_reward, max_reward) in zip(results, recorded[name]):
        assert r.sum_reward == pytest.approx(sum_reward, rel=1e-6, abs=1e-6)
        assert r.max_reward == pytest.approx(max_reward, rel=1e-6, abs=1e-6)
    expected = np.mean([success for success, _, _ in recorded[name]])
    assert summarize(results)["eval/success"] == pytest.approx(expected)


def constant_policy(env_cfg, action, chunk_size: int = 5):
    """A real (tiny MLP) policy that outputs `action` whatever it sees: last layer zeroed, its bias the action
    (identity normalization statistics)."""
    from orchestrator.policies.factory import make_policy
    from orchestrator.policies.mlp.configuration import MLPConfig

    features = env_cfg.features()
    stats = {key: {"mean": np.zeros(f.shape), "std": np.ones(f.shape)} for key, f in features.items()}
    policy = make_policy(MLPConfig(hidden_dims=[8], chunk_size=chunk_size, n_action_steps=chunk_size), features, stats)
    with torch.no_grad():
        policy.model[-1].weight.zero_()
        policy.model[-1].bias.copy_(torch.tensor(action, dtype=torch.float32).repeat(chunk_size))
    return policy.eval()


def replay_constant(env_cfg, seed: int, action) -> tuple[float, float]:
    """Sum and max reward of one episode of a constant action in a plain (non-vector) env."""
    env = env_cfg.make()
    env.reset(seed=seed)
    rewards, done = [], False
    while not done:
        _, reward, terminated, truncated, _ = env.step(np.asarray(action, dtype=np.float32))
        rewards.append(reward)
        done = terminated or truncated
    env.close()
    return float(np.sum(rewards)), float(np.max(rewards))


@pytest.mark.parametrize("mode", [SAME_STEP, NEXT_STEP], ids=["same_step", "next_step"])
def test_a_policy_that_never_succeeds_reads_zero_and_its_rewards_are_summed(mode):
    cfg, seeds = PushTEnvConfig(episode_length=25), [100_000, 100_001, 100_002]
    policy = constant_policy(cfg, FAR_CORNER)
    results = rollout(policy, cfg, seeds, batch_size=2, autoreset_mode=mode)
    assert summarize(results)["eval/success"] == 0.0
    assert not any(r.success for r in results)
    expected = [replay_constant(cfg, seed, FAR_CORNER) for seed in seeds]
    assert any(sum_reward > 0 for sum_reward, _ in expected), expected  # a reward to sum: the T overlaps its goal
    for r, (sum_reward, max_reward) in zip(results, expected):
        assert r.sum_reward == pytest.approx(sum_reward, rel=1e-6, abs=1e-6)
        assert r.max_reward == pytest.approx(max_reward, rel=1e-6, abs=1e-6)


# episode_success on infos in gymnasium's vector format: each key batched, with a `_<key>` mask of the envs that
# reported it; under SAME_STEP the finished episodes' infos nest under "final_info", masked by "_final_info".


def test_same_step_reads_the_finished_episode_not_the_reset_one():
    info = {  # env 0 succeeded, env 2 timed out, env 1 goes on; envs 0 and 2 were reset in this step
        "is_success": np.array([False, False, False]),
        "_is_success": np.array([True, True, True]),
        "final_info": {"is_success": np.array([True, False, False]), "_is_success": np.array([True, False, True])},
        "_final_info": np.array([True, False, True]),
    }
    assert episode_success(info, 3).tolist() == [True, False, False]
    # the bug of issue 7: the reset episode's own info says no success
    assert np.asarray(info["is_success"]).tolist() == [False, False, False]


def test_same_step_an_ongoing_env_reads_its_own_info():
    info = {
        "is_success": np.array([False, True, False]),
        "_is_success": np.array([True, True, True]),
        "final_info": {"is_success": np.array([False, False, True]), "_is_success": np.array([False, False, True])},
        "_final_info": np.array([False, False, True]),
    }
    # env 1 reports success without having ended (a simulator that does not end on success); env 2 ended with one
    assert episode_success(info, 3).tolist() == [False, True, True]


def test_same_step_an_ended_env_ignores_its_new_episode_info():
    info = {
        "is_success": np.array([True, False]),
        "_is_success": np.array([True, True]),
        "final_info": {"is_success": np.array([False, False]), "_is_success": np.array([True, False])},
        "_final_info": np.array([True, False]),
    }
    assert episode_success(info, 2).tolist() == [False, False]


def test_next_step_reads_the_step_info_itself():
    info = {"is_success": np.array([True, False, True]), "_is_success": np.array([True, True, False])}
    # env 2's value is unset filler (its mask is False): not a success
    assert episode_success(info, 3).tolist() == [True, False, False]


def test_no_success_key_reads_no_success():
    assert episode_success({}, 2).tolist() == [False, False]
    assert episode_success({"final_info": {}, "_final_info": np.array([True, False])}, 2).tolist() == [False, False]


def test_the_hand_built_infos_are_gymnasiums_format():
    """The shape used above is what gymnasium's own vector env builds (its `_add_info`)."""
    vector = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 3)
    info: dict = {}
    info = vector._add_info(info, {"final_obs": np.zeros(4), "final_info": {"is_success": True}}, 0)
    info = vector._add_info(info, {"is_success": False}, 0)
    info = vector._add_info(info, {"is_success": False}, 1)
    vector.close()
    assert info["_final_info"].tolist() == [True, False, False]
    assert info["final_info"]["is_success"].tolist() == [True, False, False]
    assert info["final_info"]["_is_success"].tolist() == [True, False, False]
    assert info["_is_success"].tolist() == [True, True, False]
    assert episode_success(info, 3).tolist() == [True, False, False]
