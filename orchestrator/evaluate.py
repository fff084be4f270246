"""`python -m orchestrator eval --policy.path=<folder or Hub id> [--env.* --eval.*]`: evaluate a saved policy in the
real simulator with the same asynchronous evaluator actors a sweep uses.

The env and eval settings default to those in the policy's `train_config.json` (saved beside every checkpoint and in
a sweep's `best/` folder), else to the config defaults; CLI flags override them. A `train_config.json` that
LeRobot's `lerobot-train` wrote gives its env and eval sections, mapped
(orchestrator/configs/lerobot_mapping.py: eval_layer); one with no env (LeRobot trained on a dataset without a
simulator) leaves the env to the flags or the default, and a note says so, and how to run the episodes lerobot-eval
runs (its --seed, 1000 by default). Prints success with its 95 % Wilson confidence interval, the average sum and max
reward, and writes `eval_info.json` into `--output_dir` when one is given: every episode with its seed, in
lerobot-eval's layout, and our metrics under `robot_sweeps` (orchestrator/results/eval_info.py).

`--expert=true` evaluates the env's scripted expert instead of a policy, on exactly the same episodes and actors: the
ceiling a policy can be compared with. It takes no --policy.path.
"""

from __future__ import annotations

import json
import sys
import time

from orchestrator import metrics as M
from orchestrator.configs.lerobot_mapping import eval_layer
from orchestrator.configs.lerobot_note import note_text
from orchestrator.configs.lerobot_train_config import is_lerobot_train_config
from orchestrator.configs.parsing import build_config, encode, parse_cli
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.envs.configs import EnvConfig
from orchestrator.envs.experts import EXPERTS, expert_problems
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.policy_source import resolve_policy_folder
from orchestrator.results.eval_info import eval_info, task_group, write_eval_info


def parse_eval_args(args: list[str]):
    """(config, expert): defaults <- the policy's train_config.json (env, eval, seed) <- CLI flags; --policy.path is
    required. With --expert=true (expert True) --policy.path is refused and the config is the defaults <- CLI flags."""
    cli, config_path = parse_cli(args)
    if config_path:
        raise UserError(problem("config_path", "is for `train`; eval takes --policy.path and --env/--eval flags"))
    policy_flags = cli.get("policy")
    section = policy_flags if isinstance(policy_flags, dict) else {}
    path = section.get("path")
    if _expert_flag(cli):
        return _expert_config(cli, path or section.get("pretrained_path")), True
    if not path:
        raise UserError(
            problem("policy.path", "is required: a saved policy folder (e.g. <experiment>/best) or a Hub model id"),
            "bad command line",
        )
    saved = resolve_policy_folder(str(path)) / "train_config.json"
    data = _read_saved(saved) if saved.is_file() else {}
    lerobot = eval_layer(data, str(saved)) if is_lerobot_train_config(data) else None
    layer = (
        lerobot.layer
        if lerobot
        else {k: v for k, v in data.items() if k in ("env", "eval", "resources") and v is not None}
    )
    base = encode(build_config(None, [layer], validate=False)) if layer else None
    cfg = build_config(base, [cli])
    if lerobot:
        _print_lerobot_note(cfg, data, lerobot, str(saved), seed_given="seed" in (cli.get("eval") or {}))
    return cfg, False


def _read_saved(saved) -> dict:
    try:
        return json.loads(saved.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(problem("policy.path", f"{saved} is not valid JSON ({e})")) from None


def _print_lerobot_note(cfg, data: dict, lerobot, source: str, seed_given: bool) -> None:
    """One note for a checkpoint lerobot-train wrote: its env and eval fields left out, where the env comes from when
    the file has none we can use, and which episodes are run (LeRobot seeds them otherwise)."""
    differences = []
    if "env" not in lerobot.layer:
        why = (
            "it names no env (LeRobot trained without a simulator)"
            if data.get("env") is None
            else "its env has no simulator here"
        )
        differences.append(f"{why}: evaluating on {cfg.env.type!r} (--env.* flags, else the default)")
    if not seed_given:
        differences.append(
            f"evaluation seeds differ: the episodes are seeded from eval.seed here ({cfg.eval.seed}, "
            f"{cfg.eval.seed + 1}, ...), from --seed in lerobot-eval (1000 by default) and from the run's seed in "
            f"lerobot-train's evaluations ({data.get('seed')}): --eval.seed=1000 runs lerobot-eval's episodes"
        )
    if lerobot.left_out or differences:
        print(note_text(lerobot.left_out, source, differences=differences), file=sys.stderr, flush=True)


def _expert_flag(cli: dict) -> bool:
    """Pop and read `--expert` (true/false)."""
    if "expert" not in cli:
        return False
    value = cli.pop("expert")
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in ("true", "false", "1", "0", "yes", "no"):
        return value if isinstance(value, bool) else text in ("true", "1", "yes")
    raise UserError(problem("expert", "must be true or false", value), "bad command line")


def _expert_config(cli: dict, path):
    """defaults <- CLI flags, for an env whose type (and task) has a scripted expert."""
    if path:
        raise UserError(
            problem(
                "expert",
                f"--expert=true and --policy.path (= {path!r}) are mutually exclusive: "
                "evaluate either the env's scripted expert or a saved policy",
            ),
            "bad command line",
        )
    env_type = cli["env"].get("type") if isinstance(cli.get("env"), dict) else None
    env_type = env_type or TrainPipelineConfig().env.type
    if env_type in EnvConfig.get_known_choices() and env_type not in EXPERTS:  # before the env's own fields
        raise_if(expert_problems(env_type, None), "bad command line")
    cfg = build_config(None, [cli])
    raise_if(expert_problems(cfg.env.type, getattr(cfg.env, "task", None)), "bad command line")
    return cfg


def _expert_name(env_cfg) -> str:
    """e.g. "MetaWorldExpert, task reach"."""
    task = getattr(env_cfg, "task", None)
    return EXPERTS[env_cfg.type].__name__ + (f", task {task}" if task else "")


def evaluate(args: list[str]) -> dict:
    cfg, expert = parse_eval_args(args)
    # imported here, not at the top: bad input is refused before Ray and torch load (seconds)
    import ray
    import torch

    from orchestrator.policies.costs import blank_observation, describe, policy_costs
    from orchestrator.policies.factory import load_policy
    from orchestrator.runtime.ray_start import connect_ray
    from trainables.evaluator import EvalPool, create_actors

    policy = None if expert else load_policy(cfg.policy.pretrained_path)  # None: the env's scripted expert acts
    connect_ray()
    actors = create_actors(
        encode(cfg),
        cfg.eval.num_actors,
        cfg.resources.cpus_per_eval_actor,
        gpus_per_actor=cfg.resources.gpus_per_eval_actor,
    )
    try:
        start = time.perf_counter()
        pool = EvalPool(actors, cfg.eval.n_episodes, cfg.eval.seed)
        pool.submit(0, policy)
        episodes = pool.collect()
        seconds = time.perf_counter() - start  # wall time of the episodes, as lerobot-eval's eval_s
    finally:
        for actor in actors:
            ray.kill(actor)
    info = eval_info(episodes, task_group(cfg.env), seconds)
    metrics = info["robot_sweeps"]  # success with its interval, ...; the policy's costs join it below
    n, low, high = int(metrics[M.EVAL_N_EPISODES]), metrics[M.EVAL_SUCCESS_LOW], metrics[M.EVAL_SUCCESS_HIGH]
    what = (
        f"scripted expert ({_expert_name(cfg.env)})"
        if expert
        else f"policy {cfg.policy.pretrained_path} ({cfg.policy.type})"
    )
    print(f"{what} on {cfg.env.type}, {n} episodes (seeds {cfg.eval.seed}..{cfg.eval.seed + n - 1}):")
    print(
        f"  success {metrics[M.EVAL_SUCCESS]:.1%} (95% CI {low:.1%}-{high:.1%}), "
        f"avg sum reward {metrics[M.EVAL_AVG_SUM_REWARD]:.3f}, avg max reward {metrics[M.EVAL_AVG_MAX_REWARD]:.3f}, "
        f"{metrics[M.EVAL_SECONDS]:.1f} s"
    )
    if policy is not None:  # what it costs on the robot, measured here after the episodes (the actors are gone)
        cpu = torch.device("cpu")
        costs = policy_costs(policy, blank_observation(policy), cpu)
        metrics.update(costs)
        print(f"  policy: {describe(costs, cpu)}")
    if cfg.output_dir:
        print(f"  every episode written to {write_eval_info(cfg.output_dir, info)}")
    return metrics
