"""ALOHA transfer-cube expert: ACT's scripted waypoint policy (Zhao et al. 2023) in end-effector space, replayed
as joint targets in the joint-space env, as ACT recorded its simulated demonstrations.

At reset, the expert reads the cube's position from the live env, drives gym-aloha's end-effector model (the
grippers welded to mocap bodies) through the waypoints in a private physics, and records the arm joint
positions and gripper commands at every step; act() then replays them. On MuJoCo 3.x the stock weld
(solref 0.01) is too soft for the grippers to follow the mocap bodies closely; a stiffer one (0.004) restores
ACT's behaviour.
"""

from __future__ import annotations

import numpy as np

WELD_SOLREF = (0.004, 1.0)  # stiffer mocap weld than gym-aloha's xml (0.01, 1) for MuJoCo 3.x
MEET_XYZ = np.array([0.0, 0.5, 0.25])  # where the arms hand the cube over
PICK_QUAT = np.array([np.cos(np.pi / 6), 0.0, -np.sin(np.pi / 6), 0.0])  # right gripper pitched down by 60 deg
MEET_LEFT_QUAT = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])  # left gripper rolled by 90 deg
IDENTITY_QUAT = np.array([1.0, 0.0, 0.0, 0.0])


def transfer_cube_waypoints(left_start: np.ndarray, right_start: np.ndarray, cube_xyz: np.ndarray):
    """ACT's PickAndTransferPolicy: per arm, (step, xyz, quat, gripper opening) waypoints.

    The right arm grasps the cube and brings it to the meeting point, the left arm takes it, the right lets go.
    """
    meet = MEET_XYZ
    left = [
        (0, left_start[:3], left_start[3:], 0.0),  # sleep
        (100, meet + [-0.1, 0, -0.02], MEET_LEFT_QUAT, 1.0),  # approach the meeting point
        (260, meet + [0.02, 0, -0.02], MEET_LEFT_QUAT, 1.0),  # move to the meeting point
        (310, meet + [0.02, 0, -0.02], MEET_LEFT_QUAT, 0.0),  # close the gripper
        (360, meet + [-0.1, 0, -0.02], IDENTITY_QUAT, 0.0),  # move left
        (400, meet + [-0.1, 0, -0.02], IDENTITY_QUAT, 0.0),  # stay
    ]
    right = [
        (0, right_start[:3], right_start[3:], 0.0),  # sleep
        (90, cube_xyz + [0, 0, 0.08], PICK_QUAT, 1.0),  # approach the cube
        (130, cube_xyz + [0, 0, -0.015], PICK_QUAT, 1.0),  # go down
        (170, cube_xyz + [0, 0, -0.015], PICK_QUAT, 0.0),  # close the gripper
        (200, meet + [0.05, 0, 0], PICK_QUAT, 0.0),  # approach the meeting point
        (220, meet, PICK_QUAT, 0.0),  # move to the meeting point
        (310, meet, PICK_QUAT, 1.0),  # open the gripper
        (360, meet + [0.1, 0, 0], PICK_QUAT, 1.0),  # move right
        (400, meet + [0.1, 0, 0], PICK_QUAT, 1.0),  # stay
    ]
    return left, right


def _interpolate(waypoints, t: int) -> np.ndarray:
    """The arm's (xyz, quat, gripper) target at step t: linear between the surrounding waypoints (as in ACT)."""
    for (t0, xyz0, quat0, g0), (t1, xyz1, quat1, g1) in zip(waypoints, waypoints[1:]):
        if t0 <= t < t1:
            f = (t - t0) / (t1 - t0)
            return np.concatenate(
                [
                    np.add(xyz0, f * np.subtract(xyz1, xyz0)),
                    np.add(quat0, f * np.subtract(quat1, quat0)),
                    [g0 + f * (g1 - g0)],
                ]
            )
    _, xyz, quat, g = waypoints[-1]
    return np.concatenate([xyz, quat, [g]])


class AlohaTransferCubeExpert:
    """Deterministic given the cube's position; `seed` is unused (kept for the common Expert(seed=...) signature)."""

    def __init__(self, seed: int = 0, steps: int = 400):
        self.seed = seed  # unused: the waypoints depend only on the cube's position
        self.steps = steps  # length of the planned trajectory; later steps hold its last joint targets
        self._joint_targets: np.ndarray | None = None
        self._t = 0

    def reset(self, env) -> None:
        """Plan the episode from the env's cube position; call after env.reset()."""
        u = env.unwrapped
        if u.task != "transfer_cube":
            raise ValueError(f"the ALOHA expert only does transfer_cube, not {u.task}")
        self._joint_targets = self._plan(u.physics.data.qpos[16:23].copy())
        self._t = 0

    def act(self, env) -> np.ndarray:
        """The next action: 14 joint targets (grippers normalized), float32."""
        assert self._joint_targets is not None, "reset() plans the episode"
        action = self._joint_targets[min(self._t, len(self._joint_targets) - 1)]
        self._t += 1
        return action

    def _plan(self, cube_pose: np.ndarray) -> np.ndarray:
        """Drive the end-effector model through the waypoints; the joint targets seen along the way, (steps, 14)."""
        from dm_control import mujoco as dm_mujoco
        from gym_aloha.constants import ASSETS_DIR, DT, normalize_puppet_gripper_position
        from gym_aloha.tasks.sim_end_effector import TransferCubeEndEffectorTask

        physics = dm_mujoco.Physics.from_xml_path(str(ASSETS_DIR / "bimanual_viperx_end_effector_transfer_cube.xml"))
        physics.model.eq_solref[:] = WELD_SOLREF
        task = TransferCubeEndEffectorTask()
        with physics.reset_context():
            task.initialize_robots(physics)
            box = physics.model.name2id("red_box_joint", "joint")
            start = physics.model.jnt_qposadr[box]
            physics.data.qpos[start : start + 7] = cube_pose
        left, right = transfer_cube_waypoints(
            np.concatenate([physics.data.mocap_pos[0], physics.data.mocap_quat[0]]),
            np.concatenate([physics.data.mocap_pos[1], physics.data.mocap_quat[1]]),
            cube_pose[:3],
        )
        substeps = round(DT / physics.model.opt.timestep)
        targets = []
        for t in range(self.steps):
            joints = task.get_qpos(physics)
            ctrl = physics.data.ctrl  # gripper commands: the joint env takes them, not the gripper positions
            joints[6], joints[13] = (
                normalize_puppet_gripper_position(ctrl[0]),
                normalize_puppet_gripper_position(ctrl[2]),
            )
            targets.append(joints.astype(np.float32))
            task.before_step(np.concatenate([_interpolate(left, t), _interpolate(right, t)]), physics)
            physics.step(substeps)
        return np.stack(targets)
