"""`python -m orchestrator push <experiment or policy folder> --hub.repo_id=<org>/<name> [--hub.private=true]`:
publish after the fact what a sweep would have pushed at its end.

- An experiment folder (summary.json + best/), or its best/: pushes best/ with the sweep's model card, rebuilt from
  summary.json for this repo id (its load instructions name the repo); best/README.md and summary.json's hub_url
  are updated as if the sweep had pushed.
- A policy folder (config.json, model.safetensors, the processor files: a checkpoint's pretrained_model/, or the
  checkpoint folder holding it): pushes itself; one without a card gets a short one naming the repo (added to the
  upload, not to the checkpoint).

The same checks as at the end of a sweep: the token first (hub.check_hub_access), then no file may hold a secret.
Bad input exits 2 with one message.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import draccus

from orchestrator.configs.parsing import check_types, parse_cli
from orchestrator.configs.train import HubConfig
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.experiment_layout import BEST, PRETRAINED, REPORT_MD, SUMMARY
from orchestrator.policy_source import CONFIG_NAME, PREPROCESSOR_CONFIG, WEIGHTS_NAME
from orchestrator.publish.hub import check_hub_access, push_to_hub, scrub_secrets
from orchestrator.publish.model_card import card_info_from_dict, name_repo_in_card, write_model_card, write_policy_card

USAGE = "push <experiment folder or policy folder> --hub.repo_id=<user or org>/<name> [--hub.private=true]"
TEXT_SUFFIXES = (".json", ".md", ".txt", ".yaml", ".yml", ".csv", ".log")


HELP = f"""usage: python -m orchestrator {USAGE}

Publishes a sweep's best/ (with its model card, rebuilt for this repo id) or a policy folder to the Hugging Face
Hub. The token comes from HF_TOKEN or `huggingface-cli login`; no file that holds a secret is uploaded.

  --hub.repo_id=ORG/NAME   the model repo to create or update (required)
  --hub.private=true       create it private"""


def push_from_args(args: list[str]) -> str | None:
    """Check everything, then push; returns the repo URL (None for --help)."""
    if any(a in ("--help", "-h") for a in args):
        print(HELP)
        return None
    if not args or args[0].startswith("--"):
        raise UserError(problem("folder", f"give the folder first: {USAGE}"), "bad command line")
    hub = _hub_config(args[1:])
    repo_id = hub.repo_id
    assert repo_id is not None, "_hub_config requires it"
    experiment, policy = locate(args[0])

    check_hub_access(repo_id)  # the token before anything is written or sent
    summary = json.loads((experiment / SUMMARY).read_text()) if experiment else None
    if experiment and summary is not None:
        _experiment_card(policy, summary, repo_id)
        message = f"Best policy of sweep {summary.get('experiment', experiment.name)}"
    else:
        message = f"Policy {policy.parent.name if policy.name == PRETRAINED else policy.name}"
    with tempfile.TemporaryDirectory() as staging:
        folder = policy
        if not (policy / "README.md").is_file():  # a card goes with the upload; the checkpoint stays as Ray wrote it
            folder = Path(shutil.copytree(policy, Path(staging) / "policy"))
            _policy_card(folder, repo_id)
        _refuse_secrets(folder)
        url = push_to_hub(folder, repo_id, private=hub.private, commit_message=message)
    if experiment and summary is not None:
        summary["hub_url"] = url
        (experiment / SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    print(f"pushed {policy} to {url}")
    print(f"  load it with --policy.path={repo_id}")
    return url


def _hub_config(args: list[str]) -> HubConfig:
    cli, config_path = parse_cli(args)
    section = cli.pop("hub", {})
    bad = [
        problem(name, f"is not an option of push: {USAGE}")
        for name in [*cli, *(["config_path"] if config_path else [])]
    ]
    if not isinstance(section, dict):
        section = {}
        bad.append(problem("hub", f"set its fields: {USAGE}"))
    bad += [
        problem(f"hub.{name}", f"is not an option of push: {USAGE}")
        for name in section
        if name not in ("repo_id", "private")
    ]
    raise_if(bad, "bad command line")
    raise_if(
        [
            problem(f"hub.{p.field}", p.message, p.value) if p.has_value else problem(f"hub.{p.field}", p.message)
            for p in check_types(section, HubConfig)
        ],
        "bad command line",
    )
    hub = draccus.decode(HubConfig, section)
    if not hub.repo_id:
        raise UserError(problem("hub.repo_id", "is required: --hub.repo_id=<user or org>/<name>"), "bad command line")
    raise_if([problem(f"hub.{p.field}", p.message, p.value) for p in hub.problems()], "bad command line")
    return hub


def locate(path: str) -> tuple[Path | None, Path]:
    """(the experiment folder or None, the policy folder to push) for what the user named."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UserError(problem("folder", "no such folder", path), "bad command line")
    if (folder / SUMMARY).is_file():
        if not (folder / BEST).is_dir():
            raise UserError(
                problem(
                    "folder",
                    f"is an experiment without best/ (no trial reported the sweep's metric; "
                    f"see {folder / REPORT_MD}): nothing to push",
                    path,
                ),
                "bad command line",
            )
        experiment, policy = folder, folder / BEST
    elif folder.name == BEST and (folder.parent / SUMMARY).is_file():
        experiment, policy = folder.parent, folder
    elif (folder / PRETRAINED).is_dir() and not (folder / CONFIG_NAME).is_file():  # a checkpoint folder
        experiment, policy = None, folder / PRETRAINED
    else:
        experiment, policy = None, folder
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME, PREPROCESSOR_CONFIG) if not (policy / name).is_file()]
    if missing:
        raise UserError(
            problem(
                "folder",
                f"is neither an experiment folder (summary.json + best/) nor a policy folder "
                f"({policy} has no {' and no '.join(missing)})",
                path,
            ),
            "bad command line",
        )
    return experiment, policy


def _experiment_card(best: Path, summary: dict, repo_id: str) -> None:
    """best/README.md as the sweep writes it when it pushes to `repo_id`."""
    card = best / "README.md"
    if "model_card" in summary:
        write_model_card(best, card_info_from_dict(summary["model_card"], repo_id=repo_id))
    elif card.is_file():  # written before summary.json kept the card's facts: name the repo in its text
        card.write_text(name_repo_in_card(card.read_text(), repo_id))
    else:
        _policy_card(best, repo_id)


def _policy_card(folder: Path, repo_id: str) -> None:
    config = json.loads((folder / CONFIG_NAME).read_text())
    train = folder / "train_config.json"
    train = json.loads(train.read_text()) if train.is_file() else {}
    dataset = train.get("dataset") or {}
    dataset_name = Path(dataset["root"]).name if dataset.get("root") else dataset.get("repo_id")
    write_policy_card(
        folder, repo_id, config.get("type", "unknown"), (train.get("env") or {}).get("type"), dataset_name
    )


def _refuse_secrets(folder: Path) -> None:
    """No file that goes to the Hub may hold a token (HF_TOKEN, WANDB_API_KEY, the stored Hub token)."""
    holding = [
        p.relative_to(folder)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in TEXT_SUFFIXES and scrub_secrets(text := p.read_text(errors="ignore")) != text
    ]
    if holding:
        raise UserError(
            problem(
                "folder",
                f"{', '.join(map(str, holding))} in {folder} hold a secret (a Hub or W&B "
                "token): remove it, nothing was pushed",
            ),
            "cannot publish to the Hugging Face Hub",
        )
