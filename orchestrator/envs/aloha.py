"""gym-aloha: the bimanual ALOHA arms in MuJoCo (Zhao et al. 2023), transfer-cube and insertion tasks.

gym-aloha's own env renders three 480x640 cameras at every step (4-9 steps/s on one CPU core). This env runs
the same dm_control physics and tasks (so the same rewards) but renders only the configured cameras, at the
configured size, without shadows, reflections or anti-aliasing; with no camera it is physics only.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from orchestrator.configs.checks import one_of, positive
from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.envs.base import EnvConfig
from orchestrator.errors import Problem, problem

if sys.platform.startswith("linux") and ctypes.util.find_library("EGL"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; read when mujoco is first imported

TASKS = ["transfer_cube", "insertion"]
CAMERAS = ["top", "angle", "front_close", "left_pillar", "right_pillar", "left_wrist", "right_wrist"]
JOINTS = 14  # per arm: 6 joint angles + a normalized gripper opening (0 closed, 1 open); left arm first
DESCRIPTIONS = {
    "transfer_cube": "Pick up the cube with the right arm and hand it over to the left arm.",
    "insertion": "Pick up the peg and the socket, one in each arm, and insert the peg into the socket.",
}
MAX_REWARD = 4  # the tasks' top contact reward: the cube held by the left gripper only / the peg in the socket


@EnvConfig.register_subclass("aloha")
@dataclass
class AlohaEnvConfig(EnvConfig):
    """ALOHA at 50 Hz; joint-position actions; success (which ends the episode) when the reward reaches 4."""

    task: str = "transfer_cube"  # "transfer_cube" or "insertion"
    fps: int = 50  # ALOHA's control frequency
    episode_length: int = 400  # steps before truncation (LeRobot's ALOHA evaluations use 400)
    cameras: list[str] = field(default_factory=lambda: ["top"])  # cameras rendered as observation.images.<name>
    render_height: int = 240  # image height in pixels (LeRobot's aloha_sim datasets use 480)
    render_width: int = 320  # image width in pixels (LeRobot's aloha_sim datasets use 640)

    @property
    def task_description(self) -> str:
        return DESCRIPTIONS[self.task]

    def problems(self) -> list[Problem]:
        out = super().problems() + one_of("task", self.task, TASKS)
        out += positive("render_height", self.render_height) + positive("render_width", self.render_width)
        for camera in self.cameras:
            out += one_of("cameras", camera, CAMERAS)
        if len(set(self.cameras)) != len(self.cameras):
            out.append(problem("cameras", "lists a camera twice", self.cameras))
        return out

    def make(self) -> gym.Env:
        env = AlohaEnv(self.task, self.cameras, self.render_height, self.render_width)
        return gym.wrappers.TimeLimit(env, self.episode_length)

    def features(self) -> dict[str, PolicyFeature]:
        image = PolicyFeature(FeatureType.VISUAL, (3, self.render_height, self.render_width))
        return {
            **{f"observation.images.{camera}": image for camera in self.cameras},
            "observation.state": PolicyFeature(FeatureType.STATE, (JOINTS,)),
            "action": PolicyFeature(FeatureType.ACTION, (JOINTS,)),
        }

    def to_frame(self, observation) -> dict[str, np.ndarray]:
        frame = {
            f"observation.images.{camera}": np.asarray(observation["pixels"][camera], dtype=np.uint8)
            for camera in self.cameras
        }
        frame["observation.state"] = np.asarray(observation["agent_pos"], dtype=np.float32)
        return frame


class AlohaEnv(gym.Env):
    """gym-aloha's joint-space task with chosen cameras. Observations: {"agent_pos": (14,), "pixels": {camera:
    (H, W, 3) uint8}}; actions: 14 absolute joint targets (grippers normalized); reward: the task's contact
    reward in 0..4. `physics` (dm_control) is public for scripted experts."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, task: str, cameras: list[str], height: int, width: int):
        from dm_control import mujoco as dm_mujoco
        from dm_control.rl import control
        from gym_aloha.constants import ASSETS_DIR, DT
        from gym_aloha.tasks.sim import InsertionTask, TransferCubeTask

        task_cls = {"transfer_cube": TransferCubeTask, "insertion": InsertionTask}[task]
        self.task = task  # "transfer_cube" or "insertion"
        self.cameras = list(cameras)  # cameras rendered at every step
        self.physics = dm_mujoco.Physics.from_xml_path(str(ASSETS_DIR / f"bimanual_viperx_{task}.xml"))
        self._env = control.Environment(
            self.physics,
            _without_images(task_cls)(),
            time_limit=float("inf"),
            control_timestep=DT,
            flat_observation=False,
        )
        self._renderer = _renderer(self.physics, height, width) if self.cameras else None
        self.observation_space = gym.spaces.Dict(
            {
                "agent_pos": gym.spaces.Box(-np.inf, np.inf, (JOINTS,), np.float64),
                "pixels": gym.spaces.Dict({c: gym.spaces.Box(0, 255, (height, width, 3), np.uint8) for c in cameras}),
            }
        )
        self.action_space = gym.spaces.Box(-np.inf, np.inf, (JOINTS,), np.float32)

    def reset(self, *, seed: int | None = None, options=None):
        from gym_aloha.tasks.sim import BOX_POSE
        from gym_aloha.utils import sample_box_pose, sample_insertion_pose

        super().reset(seed=seed)
        layout_seed = int(self.np_random.integers(2**31))  # objects are placed as gym-aloha places them
        if self.task == "transfer_cube":
            BOX_POSE[0] = sample_box_pose(layout_seed)  # gym-aloha's tasks read the pose from this global
        else:
            BOX_POSE[0] = np.concatenate(sample_insertion_pose(layout_seed))
        time_step = self._env.reset()
        return self._observation(time_step.observation), {"is_success": False}

    def step(self, action):
        time_step = self._env.step(np.asarray(action, dtype=np.float64))
        reward = float(time_step.reward)
        success = reward == MAX_REWARD
        return self._observation(time_step.observation), reward, success, False, {"is_success": success}

    def render(self) -> np.ndarray:
        return self._render(self.cameras[0] if self.cameras else "top")

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _observation(self, raw) -> dict:
        return {"agent_pos": raw["qpos"], "pixels": {camera: self._render(camera) for camera in self.cameras}}

    def _render(self, camera: str) -> np.ndarray:
        if self._renderer is None:
            raise RuntimeError("this ALOHA env renders no camera: set env.cameras")
        self._renderer.update_scene(self.physics.data.ptr, camera=camera)
        return self._renderer.render()


def _without_images(task_cls: type) -> type:
    """The gym-aloha task with an observation of joint positions only (it would render three cameras)."""

    class Task(task_cls):
        def get_observation(self, physics):
            return {"qpos": self.get_qpos(physics)}

    return Task


def _renderer(physics, height: int, width: int):
    """A MuJoCo renderer of `physics` without shadows, reflections or multisampling."""
    import mujoco

    model = physics.model.ptr
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, height)
    model.vis.quality.offsamples = 0
    renderer = mujoco.Renderer(model, height, width)
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    return renderer
