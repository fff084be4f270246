"""The model card of a sweep's best policy (`best/README.md`): the evidence behind it, not just a number.

It states the confirmed success with its 95 % interval and episode count, the evaluation seeds, the comparison with
the default config (paired on the shared confirmation episodes, at the family-wise level over the top-k), whether the
confirmation told this policy apart from the other candidates (if not, it says the choice is not evidence), with
`tune.confirm_seeds` whether its config beats the default config over training seeds and which seed this is, the
search space, trial count, compute used, the versions that produced it, and how to load it: by its Hub repo id when
pushed, never by a path of the machine that ran the sweep. The front matter's model-index is what the Hub shows as
evaluation results.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from orchestrator import metrics as M
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmed import Confirmed


@dataclass
class SearchEvidence:
    """What the search measured for the winner, on the search's evaluation episodes."""

    metric: str  # the sweep metric, e.g. "eval/success"
    mode: str  # max or min
    value: float | None  # the winner's value at its best evaluated checkpoint
    step: int | None  # that checkpoint's training step
    n_episodes: int  # episodes behind every search-time evaluation
    first_seed: int  # their seeds: first_seed .. first_seed + n_episodes - 1


@dataclass
class ModelCardInfo:
    """Everything the card says."""

    repo_id: str | None  # where it is pushed (None: not pushed; the card then names no machine's path)
    policy_type: str
    env_type: str
    dataset_repo_id: str
    experiment: str  # the sweep's name
    search: SearchEvidence
    winner: Confirmed | None  # the winner on the confirmation episodes (None: not confirmed)
    baseline: Confirmed | None  # the default config on the same confirmation episodes
    comparison: str | None  # "the sweep improved success by ..." (winner - baseline: Decision.comparison_sentence)
    confirm_first_seed: int | None
    search_space: dict[str, str]  # dotted field -> distribution in words
    n_trials: int
    search_algorithm: str  # e.g. "optuna + asha"
    cpu_hours: float
    gpu_hours: float
    trials_table_md: str
    config_diff: dict[str, object]  # the winner's sampled fields
    seed_spread: dict | None = None  # retrained with more seeds: {"seeds": [...], "success": [...], "mean", "std",
    #   "default": the default config's seeds, "versus_default": the comparison over seeds, "best": which seed this is}
    versions: dict[str, str] = field(default_factory=lambda: versions())
    dataset_folder: str | None = None  # the name of the dataset.root folder trained on (None: dataset_repo_id)
    objectives: list[list[str]] | None = None  # several objectives: [[metric, mode], ...] (None: search.metric only)
    pareto_rule: str | None = None  # how this policy was chosen from the Pareto front (orchestrator/results/pareto.py)
    costs: dict[str, float] | None = None  # what the policy costs on the robot: policy/* metrics of its trial
    confirmation: dict | None = None  # the confirmation's decision (orchestrator/results/confirmation.py,
    #   Decision.to_dict): episodes run, the family-wise level, whether the winner was told apart from the others


def versions() -> dict[str, str]:
    """torch, ray and this project's git commit (or "unknown" outside a git checkout)."""
    import ray
    import torch

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=Path(__file__).resolve().parent,
                text=True,
                capture_output=True,
                timeout=10,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.TimeoutExpired):
        commit = "unknown"
    return {"torch": torch.__version__, "ray": ray.__version__, "robot-sweeps commit": commit}


def write_model_card(folder: Path, info: ModelCardInfo) -> Path:
    """Write folder/README.md: Hub metadata (YAML front matter with a model-index) and a body for people."""
    card = ModelCard(f"---\n{card_data(info).to_yaml()}\n---\n\n{_body(info)}")
    path = Path(folder) / "README.md"
    card.save(path)
    return path


def card_info_to_dict(info: ModelCardInfo) -> dict:
    """The card's facts as JSON-ready data (kept in summary.json, so `push` can rebuild the card for a repo id)."""
    return json.loads(json.dumps(asdict(info), default=str))


def card_info_from_dict(data: dict, **changes) -> ModelCardInfo:
    """The inverse of card_info_to_dict, with `changes` (e.g. repo_id=...) applied."""
    data = {**data, **changes}

    def confirmed(c: dict | None) -> Confirmed | None:
        if c is None:
            return None
        return Confirmed(
            **{
                **c,
                "candidate": Candidate(**c["candidate"]),
                "success_ci95": tuple(c["success_ci95"]),
                "avg_sum_reward": tuple(c["avg_sum_reward"]),
                "avg_max_reward": tuple(c["avg_max_reward"]),
                "episodes": [tuple(e) for e in c.get("episodes", [])],
            }
        )

    return ModelCardInfo(
        **{
            **data,
            "search": SearchEvidence(**data["search"]),
            "winner": confirmed(data["winner"]),
            "baseline": confirmed(data["baseline"]),
        }
    )


def write_policy_card(folder: Path, repo_id: str, policy_type: str, env_type: str | None, dataset: str | None) -> Path:
    """folder/README.md for a policy pushed on its own (a checkpoint, not a sweep's best/): what it is, how to load it."""
    data = ModelCardData(
        library_name="robot-sweeps",
        pipeline_tag="robotics",
        model_name=repo_id,
        tags=[
            "robotics",
            policy_type,
            *([env_type] if env_type else []),
            *(["lerobot"] if policy_type in LEROBOT_CLASSES else []),
        ],
        datasets=[dataset] if dataset and not dataset.startswith("local/") and dataset.count("/") == 1 else None,
    )
    trained = f" on `{dataset}`" if dataset else ""
    env = f" for {env_type}" if env_type else ""
    body = f"""# {policy_type} policy{env}

This `{policy_type}` policy was trained{trained} with robot-sweeps.

## How to load it

```bash
python -m orchestrator eval --policy.path={repo_id} --eval.n_episodes=50
python -m orchestrator train --policy.path={repo_id} --steps=1000   # fine-tune it
```
{_lerobot_md_for(policy_type, repo_id)}"""
    path = Path(folder) / "README.md"
    ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}").save(path)
    return path


NOT_PUSHED_NOTE = "(Not pushed to the Hub: replace `path/to/this/folder` with where this folder lives.)"


def name_repo_in_card(text: str, repo_id: str) -> str:
    """A card this module wrote (for no repo, or another one) made to name `repo_id`: load instructions and the
    model-index name. For cards whose facts were not kept (summary.json without "model_card")."""
    text = text.replace("\n" + NOT_PUSHED_NOTE + "\n", "")
    old = re.search(r"--policy\.path=(\S+) --eval", text)
    if old:
        text = text.replace(old.group(1), repo_id)
    return re.sub(r"(?m)^(model-index:\n- name: ).*$", lambda m: m.group(1) + repo_id, text, count=1)


def card_data(info: ModelCardInfo) -> ModelCardData:
    """The front matter: library, tags, dataset, and a model-index with the confirmed (else search-time) results."""
    dataset = info.dataset_folder or info.dataset_repo_id
    result: dict[str, Any] = dict(
        task_type="robotics", task_name=f"{info.env_type} simulation", dataset_type=dataset, dataset_name=dataset
    )
    eval_results = []
    if info.winner is not None:
        w = info.winner
        eval_results.append(
            EvalResult(
                **result,
                metric_type="success_rate",
                metric_value=w.success,
                metric_name=f"Success rate ({w.n_episodes} fresh episodes, 95% CI "
                f"{w.success_ci95[0]:.3f}-{w.success_ci95[1]:.3f})",
            )
        )
        eval_results.append(
            EvalResult(
                **result,
                metric_type="avg_max_reward",
                metric_value=w.avg_max_reward[0],
                metric_name=f"Average max reward ({w.n_episodes} fresh episodes)",
            )
        )
    elif info.search.value is not None:
        s = info.search
        eval_results.append(
            EvalResult(
                **result,
                metric_type=s.metric.replace("eval/", ""),
                metric_value=s.value,
                metric_name=f"{s.metric} ({s.n_episodes} search episodes, not confirmed)",
            )
        )
    return ModelCardData(
        library_name="robot-sweeps",
        tags=[
            "robotics",
            info.policy_type,
            info.env_type,
            "ray-tune",
            *(["lerobot"] if _loads_in_lerobot(info) else []),
        ],
        datasets=None if info.dataset_folder or info.dataset_repo_id.startswith("local/") else [info.dataset_repo_id],
        pipeline_tag="robotics",
        model_name=info.repo_id or f"{info.experiment}-{info.policy_type}",
        eval_results=eval_results or None,
    )


def _body(info: ModelCardInfo) -> str:
    dataset = info.dataset_repo_id
    dataset_md = (
        f"`{dataset}` (recorded locally by the env's scripted expert)"
        if dataset.startswith("local/")
        else f"[`{dataset}`](https://huggingface.co/datasets/{dataset})"
    )
    if info.dataset_folder:
        dataset_md = f"the LeRobot dataset in the local folder `{info.dataset_folder}`"
    load_from = info.repo_id or "path/to/this/folder"
    return f"""# {info.policy_type} policy for {info.env_type}, tuned by the sweep `{info.experiment}`

This `{info.policy_type}` policy was trained on {dataset_md} with robot-sweeps. It won the Ray Tune sweep
`{info.experiment}` ({info.n_trials} trials, {info.search_algorithm}){_chosen_how(info)}.

## How to load it

```bash
python -m orchestrator eval --policy.path={load_from} --eval.n_episodes=50
python -m orchestrator train --policy.path={load_from} --steps=1000   # fine-tune it
```
{_lerobot_md(info, load_from)}{"" if info.repo_id else chr(10) + NOT_PUSHED_NOTE + chr(10)}
## Evidence

{_evidence_md(info)}

## Search

{_search_md(info)}

{_costs_md(info.costs)}## Best configuration

{_config_diff_md(info.config_diff)}

`train_config.json` beside this card is the complete configuration (seed included): training it again on one CPU
machine gives bit-identical losses and evaluations (`python -m orchestrator train --config_path=train_config.json`).
Across machines, CPU kernels may differ in the last bits; on GPU, kernels are not deterministic.

## Versions

{chr(10).join(f"- {name}: `{value}`" for name, value in info.versions.items())}
"""


def _loads_in_lerobot(info: ModelCardInfo) -> bool:
    return info.policy_type in LEROBOT_CLASSES


LEROBOT_CLASSES = {
    "act": ("act.modeling_act", "ACTPolicy"),
    "diffusion": ("diffusion.modeling_diffusion", "DiffusionPolicy"),
}


def _lerobot_md(info: ModelCardInfo, load_from: str) -> str:
    return _lerobot_md_for(info.policy_type, load_from)


def _lerobot_md_for(policy_type: str, load_from: str) -> str:
    """How LeRobot (>= 0.4) loads this folder: the policy and its processors (the normalization statistics)."""
    if policy_type not in LEROBOT_CLASSES:
        return ""
    module, name = LEROBOT_CLASSES[policy_type]
    return f"""
It is a LeRobot policy folder; with LeRobot (>= 0.4):

```python
from lerobot.policies.{module} import {name}
from lerobot.policies.factory import make_pre_post_processors

policy = {name}.from_pretrained("{load_from}")
preprocessor, postprocessor = make_pre_post_processors(policy.config, pretrained_path="{load_from}")
action = postprocessor(policy.select_action(preprocessor(observation)))
```
"""


def _chosen_how(info: ModelCardInfo) -> str:
    step = f" at step {info.search.step}" if info.search.step is not None else ""
    if info.winner is not None:
        how = (
            f"; its best evaluated checkpoint{step} was confirmed, with the other top candidates and the default "
            f"config, on fresh episodes, and chosen by that confirmation"
        )
        c = info.confirmation or {}
        if c.get("distinguishable") is False:
            how += (
                f".\n\n**The choice is not evidence: {c['choice']}.** The winner is the best point estimate, "
                "kept because a policy was asked for"
            )
        spread = info.seed_spread or {}
        if spread.get("best"):
            how += f".\n\n{spread['best']['rule']}"
        return how
    return f"; it is the best evaluated checkpoint{step} by `{info.search.metric}` (not confirmed on fresh episodes)"


def _upper(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _row(name: str, c: Confirmed) -> str:
    low, high = c.success_ci95
    return (
        f"| {name} | {c.success:.1%} ({c.successes} of {c.n_episodes}) | {low:.1%} - {high:.1%} | "
        f"{c.avg_sum_reward[0]:.3f} ± {c.avg_sum_reward[2] - c.avg_sum_reward[0]:.3f} | "
        f"{c.avg_max_reward[0]:.3f} ± {c.avg_max_reward[2] - c.avg_max_reward[0]:.3f} |"
    )


def _evidence_md(info: ModelCardInfo) -> str:
    s = info.search
    search_seeds = f"seeds {s.first_seed}..{s.first_seed + s.n_episodes - 1}"
    search_line = (
        f"During the search every trial was evaluated on the same {s.n_episodes} episodes "
        f"({search_seeds}); this checkpoint scored `{s.metric}` = "
        f"{'-' if s.value is None else f'{s.value:.4g}'} there (step {s.step})."
    )
    if info.winner is None:
        return search_line + "\n\nIt was not confirmed on fresh episodes (`tune.confirm_top_k=0`)."
    w = info.winner
    assert info.confirm_first_seed is not None, "a confirmed winner comes with its confirmation's first seed"
    seeds = f"seeds {info.confirm_first_seed}..{info.confirm_first_seed + w.n_episodes - 1}"
    rows = [_row("this policy", w)] + ([_row("default config", info.baseline)] if info.baseline else [])
    table = (
        "| policy | success | 95 % CI (Wilson) | avg sum reward (± 95 %) | avg max reward (± 95 %) |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows)
    )
    comparison = info.comparison or "The default config was not evaluated, so there is no comparison."
    c = info.confirmation
    who = (
        "the search's winning seed - the default config's seed"
        if (info.seed_spread or {}).get("best")
        else "winner - default config"
    )
    how = (
        f"{who}, paired on the shared episodes; {c['family']}"
        if c
        else "difference of the two success rates, Newcombe's 95 % interval"
    )
    design = ""
    if c:
        design = f" {_upper(c['stopping'])}; {c['n_episodes']} episodes per candidate."
        choice = (
            f"**Not evidence: {c['choice']}.**" if c.get("distinguishable") is False else f"The winner: {c['choice']}."
        )
        design += f"\n\n{choice}"
    return (
        f"Confirmed on {w.n_episodes} fresh episodes ({seeds}) that no trial saw during the search:\n\n{table}\n\n"
        f"**{_upper(comparison)}**{f' ({how}).' if info.comparison else ''}{design}{_seeds_md(info.seed_spread)}"
        f"\n\n{search_line}"
    )


def _seeds_md(sp: dict | None) -> str:
    """With tune.confirm_seeds: the config's seeds and the default config's, and whether the config beats it."""
    if not sp:
        return ""
    text = (
        f"\n\nRetrained with {len(sp['seeds'])} seeds ({sp['seeds']}), this configuration's confirmed success was "
        f"{', '.join(f'{v:.0%}' for v in sp['success'])}: mean {sp['mean']:.1%}, standard deviation "
        f"{sp['std']:.1%}."
    )
    default = sp.get("default")
    if default:
        text += (
            f" The default config, trained with the same seeds ({default['seeds']}) and confirmed on the same "
            f"episodes: {', '.join(f'{v:.0%}' for v in default['success'])}, mean {default['mean']:.1%}."
        )
    versus = sp.get("versus_default")
    if versus:
        text += f"\n\n**Over training seeds, {versus['sentence']}.**"
    elif "default" in sp:
        text += " The default config was not retrained, so the two configs are not compared over seeds."
    return text


def _search_md(info: ModelCardInfo) -> str:
    space = "\n".join(f"| `{name}` | `{_cell(dist)}` |" for name, dist in sorted(info.search_space.items()))
    gpu = f", {info.gpu_hours:.2f} GPU-hours" if info.gpu_hours else ""
    goal = f"optimizing `{info.search.metric}` ({info.search.mode})"
    if info.objectives:
        goal = (
            "with several objectives ("
            + ", ".join(f"`{m}` ({d})" for m, d in info.objectives)
            + f"); this policy is on their Pareto front, chosen so: {info.pareto_rule}"
        )
    return (
        f"{info.n_trials} trials ({info.search_algorithm}), {goal}; "
        f"compute used: {info.cpu_hours:.2f} CPU-hours{gpu}.\n\n| field | searched over |\n|---|---|\n{space}\n\n"
        f"{info.trials_table_md.strip()}"
    )


def _costs_md(costs: dict[str, float] | None) -> str:
    if not costs:
        return ""

    words = {
        M.POLICY_N_PARAMS: "parameters",
        M.POLICY_LATENCY_MS: "ms per action (select_action, batch 1, mean)",
        M.POLICY_CHUNK_MS: "ms per model query (one action chunk, mean)",
    }

    def cell(k: str, v: float) -> str:
        if k == M.POLICY_N_PARAMS:
            return f"{v:,.0f}"
        low, high = costs.get(f"{k}_ci95_low"), costs.get(f"{k}_ci95_high")
        return f"{v:.3g}" + ("" if low is None or high is None else f" (95 % CI {low:.3g}-{high:.3g})")

    lines = "\n".join(f"| {words.get(k, k)} | {cell(k, v)} |" for k, v in costs.items() if "_ci95_" not in k)
    return (
        f"## What it costs on the robot\n\nMeasured on the device its trial trained on, before training (timings "
        f"repeated over several model-query cycles):\n\n| | |\n|---|---|\n{lines}\n\n"
    )


def _config_diff_md(config_diff: dict[str, object]) -> str:
    if not config_diff:
        return "The best trial used the base configuration unchanged."
    rows = "\n".join(
        f"| `{name}` | `{_cell(json.dumps(value, default=str))}` |" for name, value in sorted(config_diff.items())
    )
    return f"The searched fields of this policy's configuration:\n\n| field | value |\n|---|---|\n{rows}"


def _cell(text: str) -> str:
    """Text that stays inside one markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
