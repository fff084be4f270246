"""LeRobot's train_config.json field by field: the defaults of the fields with no home here (a field holding its
default is not noted), and how its env and image-transform values map onto ours (orchestrator/configs/lerobot_mapping.py
uses them)."""

from __future__ import annotations

from typing import Any

# LeRobot's defaults of the fields we do not support (0.4.4 and 0.6.2): a field holding its default is not noted.
# A field missing here is noted whenever it is set (not null, false, 0 or empty).
UNSUPPORTED_DEFAULTS: dict[str, Any] = {
    "resume": False,
    "tolerance_s": 1e-4,
    "save_checkpoint": True,
    "peft": None,
    "rename_map": {},
    "use_rabc": False,
    "rabc_progress_path": None,
    "rabc_kappa": 0.01,
    "rabc_epsilon": 1e-6,
    "rabc_head_mode": "sparse",
    "reward_model": None,
    "sample_weighting": None,
    "cudnn_deterministic": False,
    "prefetch_factor": 4,
    "persistent_workers": True,
    "dataloader_multiprocessing_context": "spawn",
    "eval_steps": 0,
    "max_eval_samples": 0,
    "checkpoint_format": "safetensors",
    "save_checkpoint_to_hub": False,
    "ema": {
        "enable": False,
        "decay": None,
        "update_after_step": 0,
        "inv_gamma": 1.0,
        "power": 0.75,
        "min_decay": 0.0,
        "max_decay": 0.9999,
        "use_for_eval": True,
    },
    "job": {"target": None, "image": "huggingface/lerobot-gpu:latest", "timeout": "2d", "detach": False, "tags": []},
    "parallelism": {
        "dp_replicate": 1,
        "dp_shard": 1,
        "cfg_parallel": 1,
        "context_parallel": {"ring_degree": 1, "ulysses_degree": 1},
    },
    "accelerator": {
        "mixed_precision": "no",
        "gradient_accumulation": {"steps": 1},
        "fsdp": {
            "reshard_after_forward": True,
            "wrap_modules": None,
            "min_num_params": None,
            "cpu_offload": False,
            "ignored_modules": None,
        },
        "ddp": {"find_unused_parameters": True, "gradient_as_bucket_view": False, "static_graph": False},
        "compile": {"enabled": False, "backend": "inductor", "mode": None, "regional": True},
        "activation_checkpointing": {"mode": "none"},
    },
    "dataset": {
        "video_backend": "torchcodec",
        "streaming": False,
        "repo_type": "dataset",
        "exclude_episodes": None,
        "return_uint8": False,
        "depth_output_unit": "mm",
    },
    "eval": {"recording": False, "recording_repo_id": None, "recording_private": False},
    "wandb": {"disable_artifact": False, "run_id": None, "add_tags": True},
    "policy": {
        "device": None,
        "use_amp": False,
        "use_peft": False,
        "push_to_hub": True,
        "repo_id": None,
        "private": None,
        "tags": None,
        "license": None,
        "pretrained_path": None,
        "pretrained_revision": None,
    },
    "env": {
        "task": None,
        "render_mode": "rgb_array",
        "max_parallel_tasks": 1,
        "disable_env_checker": True,
        "visualization_width": 384,
        "visualization_height": 384,
        "multitask_eval": True,
    },
}
NOT_NOTED = {"checkpoint_path", "env.features", "env.features_map", "eval_freq", "env_eval_freq"}

PUSHT_OBS_TYPES = {
    "environment_state_agent_pos": "keypoints",
    "pixels_agent_pos": "pixels_agent_pos",
    "pixels": "pixels",
    "state": "state",
}
ALOHA_TASKS = {"AlohaInsertion-v0": "insertion", "AlohaTransferCube-v0": "transfer_cube"}
ALOHA_IMAGE = (480, 640)  # gym-aloha's camera size: LeRobot never passes its observation_height/width to the env
# LeRobot's image transform (name, torchvision type, kwarg) -> ours: same name, the kwarg's range.
OUR_TRANSFORMS = {
    "brightness": "ColorJitter",
    "contrast": "ColorJitter",
    "saturation": "ColorJitter",
    "sharpness": "SharpnessJitter",
}
