"""`--help` of every command lists its fields from the config dataclasses: dotted name, type, default and the
comment beside the field in the source; every config field has such a comment."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import cli
from orchestrator.configs.docs import field_comments
from orchestrator.configs.fields import field_types, is_choice, section_class
from orchestrator.configs.parsing import build_config

ROOT = Path(__file__).resolve().parents[2]


def run_main(capsys, monkeypatch, *args) -> str:
    """The CLI entry point in-process (its final os._exit replaced by sys.exit); exit 0 and stdout expected."""
    monkeypatch.setattr(cli, "_leave", sys.exit)
    with pytest.raises(SystemExit) as e:
        cli.main(list(args))
    out, err = capsys.readouterr()
    assert e.value.code == 0, err
    return out


def flat(text: str) -> str:
    return " ".join(text.split())


def dotted_fields(cfg, prefix=""):
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            yield from dotted_fields(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", field_comments(type(cfg))[f.name]


def test_train_help_lists_every_field_with_its_comment(capsys, monkeypatch):
    out = run_main(capsys, monkeypatch, "train", "--help")
    assert out.startswith("usage: python -m orchestrator train")
    fields = list(dotted_fields(build_config(None, [], validate=False)))
    assert len(fields) > 60
    for dotted, comment in fields:
        assert f"--{dotted}:" in out, dotted
        assert flat(comment) in flat(out), dotted
    assert "--steps: int = 2000" in out and "--dataset.root: str | None = null" in out
    assert "--policy.discover_packages_path=MODULE" in out


@pytest.mark.parametrize(
    "args, present, absent",
    [
        (["--env.type=aloha"], '--env.cameras: list[str] = ["top"]', "--env.obs_type"),
        (["--optimizer.type=sgd"], "--optimizer.momentum: float = 0.9", "--optimizer.betas"),
    ],
)
def test_a_chosen_type_shows_its_own_fields(capsys, monkeypatch, args, present, absent):
    out = run_main(capsys, monkeypatch, "train", *args, "-h")
    assert present in out and absent not in out


def test_policy_type_help_through_the_real_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "train", "--policy.type=diffusion", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--policy.horizon: int = 16" in proc.stdout and "--policy.kl_weight" not in proc.stdout
    assert "is missing a value" not in proc.stdout + proc.stderr


def test_eval_and_dataset_record_help(capsys, monkeypatch):
    out = run_main(capsys, monkeypatch, "eval", "--help")
    assert "usage: python -m orchestrator eval" in out and "--eval.n_episodes: int = 10" in out
    assert "--policy.path=FOLDER_OR_HUB_ID" in out and "--env.type: str = pusht" in out
    out = run_main(capsys, monkeypatch, "dataset", "record", "--env.type=aloha", "--help")
    assert "usage: python -m orchestrator dataset record" in out
    assert "--episodes: int = 60" in out and "--env.task: str = transfer_cube" in out


def test_sweep_help_shows_the_base_values_and_what_is_searched(capsys, monkeypatch):
    out = run_main(capsys, monkeypatch, "sweep", "search_spaces/act.py", "--tune.num_samples=3", "--help")
    assert "--policy.chunk_size: int = 20   [searched: choice([10, 20])]" in out  # the baseline's value
    assert "--policy.n_action_steps: int = 20   [tied to policy.chunk_size]" in out
    assert "[searched: loguniform(0.0001, 0.003)]" in out and "--steps: int = 1200" in out
    assert "--tune.num_samples: int = 3" in out and "--tune.metric: list[str] | str = eval/avg_max_reward" in out


def _config_classes():
    from orchestrator.configs.train import TrainPipelineConfig
    from orchestrator.configs.tune import Sweep
    from orchestrator.datasets.record_cli import RecordConfig

    seen, todo = [], [TrainPipelineConfig, Sweep, RecordConfig]
    while todo:
        cls = todo.pop()
        for klass in cls.get_known_choices().values() if is_choice(cls) else [cls]:
            if klass not in seen:
                seen.append(klass)
                todo += [s for s in map(section_class, field_types(klass).values()) if s is not None]
    return seen


def test_every_config_field_has_a_comment():
    classes = _config_classes()
    assert len(classes) > 15
    missing = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in classes
        for name, comment in field_comments(cls).items()
        if not comment
    ]
    assert not missing, f"document these fields with a `# comment` beside them: {missing}"


def test_comments_read_continuations_and_lerobot_style_blocks():
    from orchestrator.configs.train import EvalConfig
    from orchestrator.envs.pusht import PushTEnvConfig

    assert field_comments(EvalConfig)["n_episodes_growth"].endswith("where the decisions matter more")
    assert field_comments(PushTEnvConfig)["obs_type"].startswith('"keypoints": agent position')


@pytest.mark.parametrize(
    "argv", [["--help"], ["sweep"], ["train"], ["eval"], ["push"], ["report"], ["dataset"], ["dataset", "record"]]
)
def test_every_command_and_subcommand_prints_its_usage_and_exits_0_on_help(capsys, monkeypatch, argv):
    out = run_main(capsys, monkeypatch, *argv, *([] if argv == ["--help"] else ["--help"]))
    assert f"python -m orchestrator {' '.join(argv) if argv != ['--help'] else ''}".strip() in out
