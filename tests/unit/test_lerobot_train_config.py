"""LeRobot's train_config.json as --config_path: files LeRobot 0.4.4's lerobot-train wrote (tests/fixtures/lerobot/,
see its README) and a LeRobot 0.6-shaped variant become our TrainPipelineConfig with LeRobot's values, and every set
field we do not support is named in one note. `eval --policy.path` of a checkpoint lerobot-train wrote
(tests/fixtures/lerobot_train) reads its env and eval sections, env null included. No LeRobot needed."""

import json
from pathlib import Path

import pytest

from orchestrator.configs.lerobot_mapping import convert
from orchestrator.configs.lerobot_note import note_text
from orchestrator.configs.lerobot_train_config import is_lerobot_train_config
from orchestrator.configs.parsing import build_config, encode, from_lerobot, parse_train_args
from orchestrator.errors import UserError
from orchestrator.evaluate import parse_eval_args
from tests.support.lerobot_kit import LEROBOT_TRAIN_ACT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lerobot"


def lerobot(name: str) -> dict:
    return json.loads((FIXTURES / name / "train_config.json").read_text())


def parse(name: str, *flags: str):
    return parse_train_args([f"--config_path={FIXTURES / name / 'train_config.json'}", *flags])


def note_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("note: from LeRobot's train_config.json") == 1, err
    return err


@pytest.mark.parametrize("name", ["act_pusht", "act_pusht_v06"])
def test_act_run_with_the_policy_preset(name, capsys):
    cfg, data = parse(name), lerobot(name)
    assert (cfg.steps, cfg.batch_size, cfg.seed, cfg.log_freq, cfg.num_workers) == (4, 4, 7, 1, 0)
    assert cfg.eval_freq == 400  # 0.4's eval_freq, 0.6's env_eval_freq
    assert cfg.save_freq == 4  # 0.6 variant: save_freq 0 keeps the final checkpoint only, i.e. every `steps` steps
    assert (cfg.job_name, cfg.output_dir) == ("act_state_tiny", "outputs/train/act_state_tiny")
    assert (cfg.dataset.repo_id, cfg.dataset.root, cfg.dataset.episodes) == ("local/state", "datasets/state", [0, 1])
    assert (cfg.env.type, cfg.env.obs_type, cfg.env.fps, cfg.env.episode_length) == ("pusht", "keypoints", 10, 300)
    assert cfg.eval.n_episodes == 4 and cfg.wandb.project == "lerobot-act-tiny" and not cfg.wandb.enable
    p = cfg.policy
    assert p.type == "act" and cfg.use_policy_training_preset
    assert (p.dim_model, p.n_heads, p.dim_feedforward, p.chunk_size, p.n_action_steps) == (64, 2, 128, 10, 10)
    assert (p.n_encoder_layers, p.n_decoder_layers, p.n_vae_encoder_layers, p.kl_weight) == (1, 1, 1, 20.0)
    assert p.pretrained_backbone_weights is None  # LeRobot's torchvision download name is noted, not kept
    # The preset LeRobot materialized in the file is the one ours builds from the same policy fields.
    lr_opt = data["optimizer"]
    assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.weight_decay) == ("adamw", 3e-5, lr_opt["weight_decay"])
    assert (cfg.optimizer.grad_clip_norm, list(cfg.optimizer.betas), cfg.optimizer.eps) == (
        lr_opt["grad_clip_norm"],
        lr_opt["betas"],
        lr_opt["eps"],
    )
    assert data["scheduler"] is None and cfg.scheduler.type == "constant"
    note = note_of(capsys)
    assert cfg.dataset.use_imagenet_stats is False  # mapped: LeRobot's default (True) is ours too
    for item in ["tolerance_s = 0.001", "policy.pretrained_backbone_weights = 'ResNet18_Weights.IMAGENET1K_V1'"]:
        assert item in note
    if name == "act_pusht_v06":
        assert cfg.dataset.val_fraction == 0.5  # 0.6's dataset.eval_split
        assert cfg.eval.batch_size == 4  # 0.6's "auto" (0), at most n_episodes
        assert "peft = {" in note and "ema.enable = True" in note
    else:
        assert cfg.eval.batch_size == 2


def test_diffusion_run_with_explicit_optimizer_and_scheduler(capsys):
    cfg = parse("diffusion_pusht")
    assert not cfg.use_policy_training_preset
    assert (cfg.steps, cfg.batch_size, cfg.seed, cfg.eval_freq, cfg.save_freq) == (6, 2, 3, 0, 6)
    opt = cfg.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.weight_decay, opt.grad_clip_norm) == (
        "adam",
        2e-4,
        (0.95, 0.999),
        1e-6,
        5.0,
    )
    # LeRobot's `diffuser` scheduler named cosine: warm-up then cosine decay to 0 over the remaining steps
    assert (cfg.scheduler.type, cfg.scheduler.num_warmup_steps, cfg.scheduler.min_lr_ratio) == (
        "cosine_decay_with_warmup",
        2,
        0.0,
    )
    p = cfg.policy
    assert (p.type, p.n_obs_steps, p.horizon, p.n_action_steps, tuple(p.down_dims)) == ("diffusion", 2, 16, 8, (32, 64))
    assert (p.noise_scheduler_type, p.num_inference_steps, p.crop_shape) == ("DDIM", 10, None)
    assert p.normalization_mapping["STATE"] == "MIN_MAX" and "ENV" not in p.normalization_mapping  # as LeRobot's
    t = cfg.dataset.image_transforms
    assert (t.enable, t.max_num_transforms, t.brightness, t.sharpness) == (True, 2, [0.8, 1.2], [0.5, 1.5])
    assert (cfg.env.episode_length, cfg.eval.n_episodes, cfg.eval.batch_size) == (200, 6, 3)
    assert (cfg.wandb.mode, cfg.wandb.entity, cfg.wandb.project) == ("offline", "robot-lab", "lerobot")
    note = note_of(capsys)
    for item in [
        "dataset.image_transforms.tfs.hue = ColorJitter(hue=[-0.05, 0.05])",
        "dataset.image_transforms.tfs.affine = RandomAffine(",
        "dataset.video_backend = 'pyav'",
    ]:
        assert item in note


def test_cli_flags_win_over_the_file(capsys):
    cfg = parse("act_pusht", "--steps=50", "--policy.optimizer_lr=1e-4", "--env.obs_type=state")
    assert (cfg.steps, cfg.optimizer.lr, cfg.env.obs_type) == (50, 1e-4, "state")


def test_every_unsupported_field_that_is_set_is_named():
    data = lerobot("diffusion_pusht")
    data.update(
        resume=True,
        seed=None,
        save_checkpoint=False,
        rename_map={"observation.a": "observation.b"},
        use_rabc=True,
        peft={"r": 4},
        cudnn_deterministic=True,
    )
    data["dataset"].update(streaming=True, use_imagenet_stats=False)
    data["dataset"]["image_transforms"]["random_order"] = True
    data["eval"]["recording"] = True
    data["wandb"].update(run_id="abc", disable_artifact=True)
    data["policy"]["gradient_checkpointing"] = True  # LeRobot 0.6's Diffusion field
    data["policy"]["pretrained_path"] = "lerobot/diffusion_pusht"
    data["optimizer"] = {
        "type": "sgd",
        "lr": 0.1,
        "weight_decay": 0.0,
        "grad_clip_norm": 1.0,
        "momentum": 0.9,
        "dampening": 0.0,
        "nesterov": True,
    }
    data["scheduler"] = {"type": "vqbet", "num_warmup_steps": 10, "num_vqvae_training_steps": 5, "num_cycles": 0.5}
    data["accelerator"] = {"mixed_precision": "bf16", "gradient_accumulation": {"steps": 4}}
    data["env"] = {"type": "libero", "task": "libero_10"}
    converted = convert(data)
    names = {item.split(" = ")[0] for item in converted.left_out}
    assert names == {
        "resume",
        "seed",
        "save_checkpoint",
        "rename_map",
        "use_rabc",
        "peft",
        "cudnn_deterministic",
        "dataset.streaming",
        "dataset.video_backend",
        "dataset.image_transforms.random_order",
        "dataset.image_transforms.tfs.hue",
        "dataset.image_transforms.tfs.affine",
        "eval.recording",
        "wandb.run_id",
        "wandb.disable_artifact",
        "policy.gradient_checkpointing",
        "policy.pretrained_path",
        "optimizer.nesterov",
        "scheduler",
        "accelerator.mixed_precision",
        "accelerator.gradient_accumulation.steps",
        "env.type",
    }
    layer = converted.layer
    assert layer["optimizer"] == {"type": "sgd", "lr": 0.1, "weight_decay": 0.0, "grad_clip_norm": 1.0, "momentum": 0.9}
    assert "scheduler" not in layer and "env" not in layer and layer["eval_freq"] == 0  # no simulator: no evaluation
    # LeRobot's defaults are not noted
    assert convert(lerobot("diffusion_pusht")).left_out == [
        "dataset.image_transforms.tfs.hue = ColorJitter(hue=[-0.05, 0.05])",
        "dataset.image_transforms.tfs.affine = RandomAffine(degrees=[-5.0, 5.0], translate=[0.05, 0.05])",
        "dataset.video_backend = 'pyav'",
    ]


@pytest.mark.parametrize(
    "scheduler, ours",
    [
        (None, {"type": "constant"}),
        (
            {"type": "diffuser", "name": "cosine", "num_warmup_steps": 500},
            {"type": "cosine_decay_with_warmup", "num_warmup_steps": 500, "min_lr_ratio": 0.0},
        ),
        ({"type": "diffuser", "name": "constant", "num_warmup_steps": None}, {"type": "constant"}),
        (
            {"type": "cosine_annealing_with_warmup", "num_warmup_steps": 7},  # LeRobot 0.6
            {"type": "cosine_decay_with_warmup", "num_warmup_steps": 7, "min_lr_ratio": 0.0},
        ),
        ({"type": "constant_with_warmup", "num_warmup_steps": 0}, {"type": "constant"}),
        (
            {
                "type": "cosine_decay_with_warmup",
                "num_warmup_steps": 0,
                "num_decay_steps": 30000,
                "peak_lr": 2.5e-5,
                "decay_lr": 2.5e-6,
            },
            {"type": "cosine_decay_with_warmup", "num_warmup_steps": 0, "min_lr_ratio": 0.1},
        ),
        (
            {
                "type": "cosine_decay_with_warmup",
                "num_warmup_steps": 1000,
                "num_decay_steps": 30000,
                "peak_lr": 2.5e-5,
                "decay_lr": 2.5e-6,
            },
            None,
        ),  # LeRobot's decays from step 0, through its warm-up: not our curve
        ({"type": "diffuser", "name": "linear", "num_warmup_steps": 10}, None),
        ({"type": "constant_with_warmup", "num_warmup_steps": 1000}, None),
    ],
)
def test_schedulers_map_where_the_curve_is_the_same(scheduler, ours):
    data = lerobot("diffusion_pusht")
    data["scheduler"] = scheduler
    converted = convert(data)
    assert converted.layer.get("scheduler") == ours
    assert any(item.startswith("scheduler = ") for item in converted.left_out) == (ours is None)


def test_from_lerobot_is_a_search_space_base(capsys):
    base = from_lerobot(str(FIXTURES / "act_pusht"))  # a folder holding train_config.json
    assert base.policy.type == "act" and base.steps == 4
    assert base.optimizer is None and base.scheduler is None  # the preset stays a preset ...
    cfg = build_config(encode(base), [{"policy": {"optimizer_lr": 1e-3}}])
    assert cfg.optimizer.lr == 1e-3  # ... so sampling policy.optimizer_lr moves the learning rate
    explicit = from_lerobot(str(FIXTURES / "diffusion_pusht" / "train_config.json"))
    assert explicit.optimizer.lr == 2e-4 and explicit.scheduler.type == "cosine_decay_with_warmup"
    assert capsys.readouterr().err.count("note:") == 2


def test_our_own_train_config_is_not_taken_for_lerobots(tmp_path):
    ours = encode(build_config(None, []))
    assert not is_lerobot_train_config(ours)
    assert all(is_lerobot_train_config(lerobot(name)) for name in ["act_pusht", "diffusion_pusht", "act_pusht_v06"])


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["policy"].update(type="pi0"), "policy.type = 'pi0': LeRobot's policy has no counterpart here"),
        (
            lambda d: d["dataset"].update(repo_id=["a/b", "c/d"]),
            "dataset.repo_id = ['a/b', 'c/d']: must be one dataset",
        ),
    ],
)
def test_unusable_lerobot_configs_are_refused(tmp_path, edit, fragment):
    data = lerobot("act_pusht")
    edit(data)
    path = tmp_path / "train_config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as e:
        parse_train_args([f"--config_path={path}"])
    assert fragment in e.value.render() and str(path) in e.value.render()


def test_bad_json_and_not_a_lerobot_config(tmp_path):
    bad = tmp_path / "train_config.json"
    bad.write_text('{"dataset": {"repo_id": ')
    with pytest.raises(UserError, match="config_path = .*is not valid JSON"):
        parse_train_args([f"--config_path={bad}"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"dataset": {"repo_id": "a/b"}, "learning_rate": 3}))
    with pytest.raises(UserError, match="is not LeRobot's train_config.json"):
        from_lerobot(str(other))
    with pytest.raises(UserError, match="learning_rate: unknown field"):  # read as our own config file
        parse_train_args([f"--config_path={other}"])


def test_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(UserError) as e:
        parse_train_args(["--config_path=lerobot/diffusion_pusht"])
    text = e.value.render()
    assert "config_path = 'lerobot/diffusion_pusht'" in text and "offline" in text and str(tmp_path / "hub") in text


def test_hub_id_from_the_cache(tmp_path, monkeypatch, capsys):
    """A Hub model repo id is read through huggingface_hub (here from its cache, offline, in the cache's own layout)."""
    repo = tmp_path / "hub" / "models--lerobot--act_tiny"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "train_config.json").write_text(json.dumps(lerobot("act_pusht")))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    cfg = parse_train_args(["--config_path=lerobot/act_tiny"])
    assert cfg.policy.type == "act" and cfg.steps == 4
    assert "(lerobot/act_tiny (Hub))" in note_of(capsys)


def test_a_missing_local_file_is_not_looked_up_on_the_hub():
    with pytest.raises(UserError, match="config_path = 'configs/run.json': file not found"):
        parse_train_args(["--config_path=configs/run.json"])


def test_the_note_says_that_evaluation_seeds_differ(capsys):
    cfg = parse("act_pusht")
    assert (cfg.seed, cfg.eval.seed) == (7, 100_000)  # LeRobot's seed seeds the training; eval.seed the episodes
    note = note_of(capsys)
    assert "tolerance_s = 0.001" in note.split("and evaluation seeds differ")[0]  # left out, then the difference
    assert (
        "and evaluation seeds differ: LeRobot seeds its evaluation episodes from `seed` (episodes 7, 8, ...), "
        "this project from eval.seed (episodes 100000, 100001, ...; `seed` seeds only the training); "
        "--eval.seed=7 runs the episodes lerobot-train evaluated"
    ) in " ".join(note.split())
    data = lerobot("act_pusht")
    data.update(tolerance_s=1e-4, seed=None)  # nothing left out (seed null is noted), or nothing at all but seeds
    assert "seed = None" in convert(data).left_out and "unseeded episodes" in convert(data).differences[0]
    data["seed"], data["policy"]["pretrained_backbone_weights"] = 3, None
    converted = convert(data)
    assert converted.left_out == [] and "--eval.seed=3" in converted.differences[0]
    text = note_text(converted.left_out, "f.json", differences=converted.differences)
    assert text.startswith("note: from LeRobot's train_config.json (f.json):\n  evaluation seeds differ: ")
    assert all(len(line) <= 120 for line in text.splitlines())


@pytest.mark.parametrize("flags", [[], ["--env.type=pusht"]], ids=["default env", "--env.type"])
def test_eval_of_a_lerobot_train_checkpoint_without_an_env(flags, capsys):
    """lerobot-train without a simulator writes `env: null`: the env comes from the flags or the default."""
    assert lerobot_train_config()["env"] is None
    cfg, expert = parse_eval_args([f"--policy.path={LEROBOT_TRAIN_ACT}", *flags])
    assert not expert and cfg.policy.pretrained_path == str(LEROBOT_TRAIN_ACT.resolve())
    assert (cfg.env.type, cfg.env.obs_type, cfg.env.episode_length) == ("pusht", "keypoints", 300)
    assert (cfg.eval.n_episodes, cfg.eval.batch_size, cfg.eval.seed) == (50, 50, 100_000)  # the file's, lerobot-eval's
    note = " ".join(capsys.readouterr().err.split())
    assert note.count("note:") == 1 and "not supported here" not in note  # nothing of env/eval is left out
    assert "it names no env (LeRobot trained without a simulator): evaluating on 'pusht'" in note
    assert "from --seed in lerobot-eval (1000 by default)" in note and "--eval.seed=1000 runs lerobot-eval's" in note
    cfg, _ = parse_eval_args([f"--policy.path={LEROBOT_TRAIN_ACT}", *flags, "--eval.seed=1000"])
    assert cfg.eval.seed == 1000 and "seeds differ" not in capsys.readouterr().err


def test_eval_of_a_lerobot_train_checkpoint_with_an_env(tmp_path, capsys):
    """Its env section is LeRobot's (gym-pusht's obs_type, features, ...): mapped, as --config_path maps it."""
    for path in LEROBOT_TRAIN_ACT.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    data = lerobot_train_config()
    data.update(env=lerobot("act_pusht")["env"], eval={"n_episodes": 4, "batch_size": 2, "use_async_envs": False})
    data["env"]["episode_length"] = 120
    (tmp_path / "train_config.json").write_text(json.dumps(data))
    cfg, _ = parse_eval_args([f"--policy.path={tmp_path}"])
    assert (cfg.env.type, cfg.env.obs_type, cfg.env.episode_length) == ("pusht", "keypoints", 120)
    assert (cfg.eval.n_episodes, cfg.eval.batch_size) == (4, 2)
    note = capsys.readouterr().err
    assert "names no env" not in note and "evaluation seeds differ" in note
    data["env"] = {"type": "libero", "task": "libero_10"}  # no such simulator here: noted, the default runs
    (tmp_path / "train_config.json").write_text(json.dumps(data))
    cfg, _ = parse_eval_args([f"--policy.path={tmp_path}", "--eval.seed=1000"])
    note = " ".join(capsys.readouterr().err.split())
    assert cfg.env.type == "pusht" and "env.type = 'libero'" in note
    assert "and its env has no simulator here: evaluating on 'pusht'" in note


def lerobot_train_config() -> dict:
    return json.loads((LEROBOT_TRAIN_ACT / "train_config.json").read_text())
