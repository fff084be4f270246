"""Publishing the best policy to the Hugging Face Hub: token check before training, model card, push.

The endpoint is read from HF_ENDPOINT when each function is called (huggingface_hub reads it once, at import), so a
sweep can be pointed at a private Hub or at a local test server without re-importing anything. Tokens come from
HF_TOKEN or the `hf auth login` token file and never appear in messages, logs or the model card.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx2
from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData, constants, get_token
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from orchestrator.errors import UserError, problem

logger = logging.getLogger(__name__)

SUCCESS_METRIC = "eval/success"  # the evaluator's success rate, a fraction of episodes in [0, 1]
WHOAMI_TIMEOUT_S = 15.0  # how long check_hub_access waits for the Hub before calling it unreachable
LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"


@dataclass
class ModelCardInfo:
    """What the model card says about the published policy."""

    repo_id: str | None  # where it will be pushed (None: local only)
    policy_type: str  # e.g. "act"
    env_type: str  # e.g. "pusht"
    dataset_repo_id: str  # e.g. "local/pusht_keypoints_expert"
    metric: str  # the sweep metric, e.g. "eval/success" or "eval/avg_max_reward"
    metric_value: float  # the best trial's value of `metric`
    n_episodes: int  # eval episodes behind the metric
    success_rate: float | None  # best trial's eval/success (a fraction in [0, 1]) if known
    baseline_value: float | None  # the default config's value of `metric` on the same episodes, if measured
    trials_table_md: str  # a markdown table of the ranked trials (given, ready to paste)
    config_diff: dict[str, object]  # best config's dotted fields that differ from the base config
    experiment: str  # sweep/experiment name


def write_model_card(folder: Path, info: ModelCardInfo) -> Path:
    """Write folder/README.md: Hub metadata (YAML front matter with a model-index) and a body for people."""
    card = ModelCard(f"---\n{_card_data(info).to_yaml()}\n---\n\n{_card_body(info, folder)}")
    path = Path(folder) / "README.md"
    card.save(path)
    return path


def resolve_token() -> str | None:
    """The Hub token: HF_TOKEN, else the one huggingface_hub has stored (`hf auth login`); None when there is none."""
    return os.environ.get("HF_TOKEN", "").strip() or get_token()


def check_hub_access(repo_id: str) -> None:
    """Fail fast, before training, when the policy could not be pushed to `repo_id` afterwards.

    Raises UserError (field hub.repo_id) when there is no token, when the Hub rejects it (401), when it is a read-only
    token, when its user may not create repos under the repo's namespace, or when the endpoint cannot be reached.
    """
    endpoint = _endpoint()
    token = resolve_token()
    if token is None:
        _refuse(repo_id, f"pushing to {endpoint} needs a Hugging Face token: {LOGIN_HINT}")
    try:
        response = get_session().get(f"{endpoint}/api/whoami-v2", headers=build_hf_headers(token=token),
                                     timeout=WHOAMI_TIMEOUT_S)
        hf_raise_for_status(response)
    except HfHubHTTPError as err:
        status = err.response.status_code
        if status == 401:
            _refuse(repo_id, f"{endpoint} rejected the Hugging Face token (401: invalid or expired): {LOGIN_HINT}")
        _refuse(repo_id, f"{endpoint} answered {status} when checking the token: {scrub_secrets(str(err))}")
    except httpx2.HTTPError as err:
        _refuse(repo_id, f"cannot reach the Hugging Face Hub at {endpoint} ({type(err).__name__}: "
                         f"{scrub_secrets(str(err))}); check the network, or HF_ENDPOINT if you set it")
    me = response.json()
    if me.get("auth", {}).get("accessToken", {}).get("role") == "read":
        _refuse(repo_id, f"the Hugging Face token of {me['name']!r} is read-only: use a token with write access")
    namespace = repo_id.split("/", 1)[0]
    writable = [me["name"], *(org["name"] for org in me.get("orgs", []))]
    if namespace not in writable:
        _refuse(repo_id, f"the Hugging Face token belongs to {me['name']!r}, who cannot create repos under "
                         f"{namespace!r}; allowed namespaces: {writable}")
    logger.info("Hub access checked: %s can push to %s on %s", me["name"], repo_id, endpoint)


def push_to_hub(folder: Path, repo_id: str, private: bool = False,
                commit_message: str = "Upload the best policy of a robot-sweeps sweep") -> str:
    """Create the model repo if needed and upload every file of `folder` in one commit; return the repo URL."""
    endpoint = _endpoint()
    api = HfApi(endpoint=endpoint, token=resolve_token())
    repo_url = api.create_repo(repo_id, private=private, exist_ok=True)
    logger.info("Pushing %s to %s on %s", folder, repo_id, endpoint)
    commit = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="model", commit_message=commit_message)
    logger.info("Pushed %s: %s", repo_id, commit.commit_url)
    return str(repo_url)


def scrub_secrets(text: str) -> str:
    """`text` with every known secret (HF_TOKEN, WANDB_API_KEY, the stored Hub token) replaced by "***"."""
    token_file = Path(constants.HF_TOKEN_PATH)
    stored = token_file.read_text().strip() if token_file.is_file() else None
    secrets = {os.environ.get("HF_TOKEN"), os.environ.get("WANDB_API_KEY"), resolve_token(), stored}
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _endpoint() -> str:
    """The Hub endpoint: HF_ENDPOINT now, else what huggingface_hub resolved at import."""
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _refuse(repo_id: str, message: str) -> NoReturn:
    raise UserError(problem("hub.repo_id", message, repo_id), title="cannot publish to the Hugging Face Hub")


def _success_rate(info: ModelCardInfo) -> float | None:
    """The best trial's success rate: given, or the sweep metric itself when the sweep ranked by it."""
    if info.success_rate is not None:
        return info.success_rate
    return info.metric_value if info.metric == SUCCESS_METRIC else None


def _card_data(info: ModelCardInfo) -> ModelCardData:
    """The front matter: library, tags, dataset, and a model-index with one result (success rate and sweep metric)."""
    result = dict(task_type="robotics", dataset_type=info.dataset_repo_id, dataset_name=info.dataset_repo_id)
    eval_results = []
    success = _success_rate(info)
    if success is not None:
        eval_results.append(EvalResult(**result, metric_type="success_rate", metric_value=success,
                                       metric_name=f"Success rate ({info.n_episodes} episodes)"))
    if info.metric != SUCCESS_METRIC:
        eval_results.append(EvalResult(**result, metric_type=info.metric, metric_value=info.metric_value,
                                       metric_name=f"{info.metric} ({info.n_episodes} episodes)"))
    return ModelCardData(
        library_name="robot-sweeps",
        tags=["robotics", info.policy_type, info.env_type, "ray-tune"],
        datasets=[info.dataset_repo_id],
        pipeline_tag="robotics",
        model_name=info.repo_id or f"{info.experiment}-{info.policy_type}",
        eval_results=eval_results,
    )


def _card_body(info: ModelCardInfo, folder: Path) -> str:
    """The markdown a person reads: what it is, how to load it, results, sweep table, config diff, protocol."""
    dataset = info.dataset_repo_id
    dataset_md = f"`{dataset}`" if dataset.startswith("local/") else f"[`{dataset}`]({_endpoint()}/datasets/{dataset})"
    load_from = info.repo_id or str(folder)
    success = _success_rate(info)
    success_md = "not measured" if success is None else (
        f"{success:.1%} ({round(success * info.n_episodes)} of {info.n_episodes} episodes)")
    return f"""# {info.policy_type} policy for {info.env_type}, tuned by the sweep `{info.experiment}`

This `{info.policy_type}` policy was trained on {dataset_md} with robot-sweeps. It is the best trial of the Ray
Tune hyperparameter sweep `{info.experiment}`, ranked by `{info.metric}` in the `{info.env_type}` simulator.

## How to load it

```bash
python -m orchestrator eval --policy.path={load_from}
```

## Results

| | value |
|---|---|
| `{info.metric}` (best trial) | {info.metric_value:.4g} |
| success rate (best trial) | {success_md} |

## Evaluation protocol

Every metric on this card comes from {info.n_episodes} episodes in the `{info.env_type}` simulator, with the same
seeds for every trial and every evaluation, so the trials and the baseline are compared on identical episodes.

## Baseline comparison

{_baseline_md(info)}

## Sweep results

{info.trials_table_md.strip()}

## Best configuration

{_config_diff_md(info.config_diff)}
"""


def _baseline_md(info: ModelCardInfo) -> str:
    if info.baseline_value is None:
        return "The default configuration was not evaluated on these episodes, so there is no baseline to compare with."
    delta = info.metric_value - info.baseline_value
    return (f"The default configuration scores {info.baseline_value:.4g} on `{info.metric}` over the same "
            f"{info.n_episodes} episodes; the best trial scores {info.metric_value:.4g} ({delta:+.4g}).")


def _config_diff_md(config_diff: dict[str, object]) -> str:
    if not config_diff:
        return "The best trial used the base configuration unchanged."
    rows = "\n".join(f"| `{field}` | `{_cell(json.dumps(value, default=str))}` |"
                     for field, value in sorted(config_diff.items()))
    return f"The fields of the best trial's configuration that differ from the base configuration:\n\n" \
           f"| field | value |\n|---|---|\n{rows}"


def _cell(text: str) -> str:
    """Text that stays inside one markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
