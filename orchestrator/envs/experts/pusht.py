"""A scripted PushT expert: a greedy push planner that simulates candidate pushes in a private copy of the env.

gym-pusht is quasi-static: the space has zero damping, which in pymunk zeroes every body's velocity before the
contact impulses of each physics step, so the T moves only while the agent pushes it. The agent is a kinematic
disc tracked by a PD controller, so its motion does not depend on the block at all. The planner uses both facts:

1. Sample candidate pushes in the T's frame: a start point just off the T's outline (on an edge or around a
   convex corner), a push direction into the T and a push length.
2. For each candidate, plan a collision-free approach around the T (a shortest path through the corners of the
   T inflated by the agent's radius), and run the agent's PD dynamics alone (exact, no physics engine) until the
   push begins; candidates whose approach would touch the T are dropped.
3. Simulate the push itself with pymunk in the private env, from the live block pose.
4. Keep the candidate with the best progress per step on the mean distance between the T's corners and the
   goal's (or the fastest one that reaches the success coverage), and execute it closed-loop; replan when it is
   done or when the block moved while the agent was still approaching.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AGENT_RADIUS = 15.0  # the agent disc's radius in gym-pusht
BAR = (-60.0, 60.0, 0.0, 30.0)  # the T's bar in block coordinates: x0, x1, y0, y1 (gym-pusht's add_tee)
STEM = (-15.0, 15.0, 30.0, 120.0)  # the T's stem in block coordinates
GAP = 5.0  # a push starts with the agent this far from the T's outline
MIN_PUSH, MAX_PUSH = 2.0, 80.0  # push lengths are drawn log-uniformly in this range (pixels)
MAX_APPROACH_STEPS = 20  # candidates needing a longer approach are dropped
MAX_PUSH_STEPS = 8  # a push ends after this many steps, or when the agent is near its push target
SUCCESS_COVERAGE = 0.95  # gym-pusht's success threshold
COVERAGE_CHECK_ERROR = 3.5  # compute the (costly) coverage only when the corner error is below this (pixels)

# Edges of the T's outline where a disc can touch it: (start, end, outward normal), in block coordinates.
# Edges next to the two inner corners are shortened by the agent's radius, which the stem/bar would block.
_R = AGENT_RADIUS
EDGES = np.array(
    [
        [(-60, 0), (60, 0), (0, -1)],  # bar, outer long side
        [(60, 0), (60, 30), (1, 0)],  # bar, right end
        [(15 + _R, 30), (60, 30), (0, 1)],  # bar, inner side right of the stem
        [(15, 30 + _R), (15, 120), (1, 0)],  # stem, right side
        [(-15, 120), (15, 120), (0, 1)],  # stem, end
        [(-15, 30 + _R), (-15, 120), (-1, 0)],  # stem, left side
        [(-60, 30), (-15 - _R, 30), (0, 1)],  # bar, inner side left of the stem
        [(-60, 0), (-60, 30), (-1, 0)],  # bar, left end
    ],
    dtype=np.float64,
)
# Convex corners of the T: (corner, angle of the first outward normal, angle of the second), normals 90 deg apart.
CORNERS = [
    ((-60.0, 0.0), -math.pi, -math.pi / 2),
    ((60.0, 0.0), -math.pi / 2, 0.0),
    ((60.0, 30.0), 0.0, math.pi / 2),
    ((15.0, 120.0), 0.0, math.pi / 2),
    ((-15.0, 120.0), math.pi / 2, math.pi),
    ((-60.0, 30.0), math.pi / 2, math.pi),
]
# Corners of the T as gym-pusht lists them (keypoints), for the pose error.
KEYPOINTS = np.array(
    [(-60, 0), (60, 0), (60, 30), (-60, 30), (-15, 30), (15, 30), (15, 120), (-15, 120)], dtype=np.float64
)


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _error(block: np.ndarray, goal_corners: np.ndarray) -> float:
    """Mean distance between the T's corners at pose (x, y, angle) and the goal's (pixels)."""
    corners = KEYPOINTS @ _rotation(block[2]).T + block[:2]
    return float(np.linalg.norm(corners - goal_corners, axis=1).mean())


def _inflated(margin: float) -> np.ndarray:
    """The T's two rectangles grown by `margin` on every side, as rows (x0, x1, y0, y1)."""
    return np.array([BAR, STEM]) + np.array([-margin, margin, -margin, margin])


def _segments_hit(p0: np.ndarray, p1: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Whether each segment p0[i] -> p1[i] passes through the interior of any rectangle (Liang-Barsky)."""
    d = p1 - p0
    hit = np.zeros(p0.shape[:-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for x0, x1, y0, y1 in rects:
            tx0, tx1 = (x0 - p0[..., 0]) / d[..., 0], (x1 - p0[..., 0]) / d[..., 0]
            ty0, ty1 = (y0 - p0[..., 1]) / d[..., 1], (y1 - p0[..., 1]) / d[..., 1]
            t_in = np.maximum.reduce([np.minimum(tx0, tx1), np.minimum(ty0, ty1), np.zeros_like(tx0)])
            t_out = np.minimum.reduce([np.maximum(tx0, tx1), np.maximum(ty0, ty1), np.ones_like(tx0)])
            hit |= t_in < t_out
    return hit


def _inside(points: np.ndarray, rects: np.ndarray) -> np.ndarray | np.bool_:
    """Whether each point lies strictly inside any rectangle (a numpy bool for a single point)."""
    x, y = points[..., 0, None], points[..., 1, None]
    return ((rects[:, 0] < x) & (x < rects[:, 1]) & (rects[:, 2] < y) & (y < rects[:, 3])).any(-1)


class _Roadmap:
    """Shortest collision-free paths for the agent's centre around the T, in block coordinates.

    The obstacle is the T grown by the agent's radius (plus a little); paths bend only at its convex corners,
    so a path is start -> (corner -> ... -> corner) -> goal, with corner-to-corner distances precomputed.
    """

    def __init__(self):
        self.obstacle = _inflated(AGENT_RADIUS + GAP - 1.0)  # segments must stay out of this
        self.exit_rects = _inflated(AGENT_RADIUS + GAP + 0.5)  # an agent inside this first steps out of it
        (bx0, bx1, by0, by1), (_, sx1, _, sy1) = _inflated(AGENT_RADIUS + GAP + 1.0)
        self.nodes = np.array([(bx0, by0), (bx1, by0), (bx1, by1), (sx1, sy1), (-sx1, sy1), (bx0, by1)])
        n = len(self.nodes)
        a, b = np.repeat(self.nodes, n, 0), np.tile(self.nodes, (n, 1))
        clear = ~_segments_hit(a, b, self.obstacle).reshape(n, n)
        dist = np.where(clear, np.linalg.norm(self.nodes[:, None] - self.nodes[None], axis=-1), np.inf)
        self.next = np.where(clear, np.arange(n)[None, :], -1)
        for k in range(n):  # Floyd-Warshall
            via = dist[:, k, None] + dist[None, k, :]
            better = via < dist
            dist = np.where(better, via, dist)
            self.next = np.where(better, self.next[:, k, None], self.next)
        self.dist = dist

    def exit_point(self, p: np.ndarray) -> np.ndarray | None:
        """The nearest point outside the grown T when `p` is inside it, else None."""
        if not _inside(p, self.exit_rects):
            return None
        sides = []
        for x0, x1, y0, y1 in self.exit_rects:
            sides += [(x0, p[1]), (x1, p[1]), (p[0], y0), (p[0], y1)]
        options = np.array(sides)
        options = options[~_inside(options, self.exit_rects)]  # on one rectangle's side, outside the other
        return options[np.argmin(np.linalg.norm(options - p, axis=1))]

    def paths(self, start: np.ndarray, goals: np.ndarray) -> list[list[np.ndarray]]:
        """For each goal, the waypoints after `start` (the goal last)."""
        n = len(self.nodes)
        start_clear = ~_segments_hit(np.broadcast_to(start, self.nodes.shape), self.nodes, self.obstacle)
        direct = ~_segments_hit(np.broadcast_to(start, goals.shape), goals, self.obstacle)
        a = np.repeat(self.nodes[None], len(goals), 0)
        goal_clear = ~_segments_hit(a, np.repeat(goals[:, None], n, 1), self.obstacle)
        to_start = np.where(start_clear, np.linalg.norm(self.nodes - start, axis=1), np.inf)
        to_goal = np.where(goal_clear, np.linalg.norm(a - goals[:, None], axis=-1), np.inf)
        total = to_start[None, :, None] + self.dist[None] + to_goal[:, None, :]  # (goal, first node, last node)
        out = []
        for g, goal in enumerate(goals):
            if direct[g]:
                out.append([goal])
                continue
            i, j = np.unravel_index(np.argmin(total[g]), (n, n))
            if not np.isfinite(total[g, i, j]):
                out.append([])
                continue
            way = [self.nodes[i]]
            while i != j:
                i = self.next[i, j]
                way.append(self.nodes[i])
            out.append(way + [goal])
        return out


@dataclass
class _Plan:
    """One push: approach waypoints then the push target, all in world coordinates, followed closed-loop."""

    targets: list[np.ndarray]  # approach waypoints, then the push target last
    tolerances: list[float]  # move on to the next target once the agent is this close to the current one
    block_pose: np.ndarray  # (x, y, angle) of the block when the plan was made
    index: int = 0  # the target being tracked
    push_steps: int = 0  # steps taken towards the push target so far

    def action(self, agent: np.ndarray) -> np.ndarray:
        """The target to track now, given the agent's position (advances along the waypoints)."""
        last = len(self.targets) - 1
        while self.index < last and np.hypot(*(agent - self.targets[self.index])) < self.tolerances[self.index]:
            self.index += 1
        self.push_steps += self.index == last
        return self.targets[self.index]

    @property
    def pushing(self) -> bool:
        return self.index == len(self.targets) - 1

    def finished(self, agent: np.ndarray) -> bool:
        near = np.hypot(*(agent - self.targets[-1])) < self.tolerances[-1]
        return self.pushing and (self.push_steps >= MAX_PUSH_STEPS or near)

    def copy(self) -> _Plan:
        return _Plan(self.targets, self.tolerances, self.block_pose)


class PushTExpert:
    """Acts from the live env's true state (env.unwrapped); deterministic given `seed` and the initial state."""

    def __init__(self, seed: int = 0, n_candidates: int = 48):
        from gym_pusht.envs.pusht import PushTEnv

        self.seed = seed  # seed of the candidate sampling, re-applied at every reset
        self.n_candidates = n_candidates  # candidate pushes sampled per decision
        self._sim = PushTEnv(obs_type="state")  # private env whose space simulates the candidate pushes
        self._sim.reset(seed=0)
        self._kp, self._kv, self._dt = float(self._sim.k_p), float(self._sim.k_v), self._sim.dt  # PD control
        self._substeps = round(1 / (self._sim.dt * self._sim.control_hz))  # physics steps per env step
        self._roadmap = _Roadmap()
        self._rng = np.random.default_rng(seed)
        self._plan: _Plan | None = None

    def reset(self, env) -> None:
        """Forget the current plan and re-seed; call after env.reset()."""
        self._rng = np.random.default_rng(self.seed)
        self._plan = None

    def act(self, env) -> np.ndarray:
        """The next action (an absolute target position for the agent), float32 of shape (2,)."""
        u = env.unwrapped
        agent = np.array(u.agent.position)
        block = np.array([*u.block.position, u.block.angle])
        if self._plan is None or self._plan.finished(agent) or self._disturbed(self._plan, block):
            self._plan = self._decide(u, agent, block)
        return self._plan.action(agent).copy()

    def _disturbed(self, plan: _Plan, block: np.ndarray) -> bool:
        """Whether the block moved while the plan was still approaching it (the plan assumed it would not)."""
        moved = np.abs(block - plan.block_pose)
        return not plan.pushing and (moved[:2].max() > 0.5 or moved[2] > 0.005)

    def _decide(self, u, agent: np.ndarray, block: np.ndarray) -> _Plan:
        """The candidate with the best progress per step, or the fastest one that succeeds."""
        goal_corners = KEYPOINTS @ _rotation(u.goal_pose[2]).T + u.goal_pose[:2]
        error0 = _error(block, goal_corners)
        best, best_score = None, -np.inf
        for plan in self._candidate_plans(agent, block):
            approach = self._approach(plan.copy(), agent, np.array(u.agent.velocity), block)
            if approach is None:
                continue
            running, agent_at_push, velocity_at_push, approach_steps = approach
            push_steps, error, success = self._push(u, running, agent_at_push, velocity_at_push, goal_corners)
            steps = approach_steps + push_steps
            score = 1e6 - steps if success else (error0 - error) / steps
            if score > best_score:
                best, best_score = plan, score
        if best is None:  # no feasible candidate: hold still for one step, then sample again
            return _Plan([agent.astype(np.float32)], [np.inf], block)
        return best

    def _candidate_plans(self, agent: np.ndarray, block: np.ndarray) -> list[_Plan]:
        """Plans (approach around the T, then push) for freshly sampled pushes."""
        rot = _rotation(block[2])
        local = (agent - block[:2]) @ rot
        exit_point = self._roadmap.exit_point(local)
        starts, directions, lengths = self._sample_pushes(self.n_candidates)
        paths = self._roadmap.paths(local if exit_point is None else exit_point, starts)
        plans = []
        for path, start, direction, length in zip(paths, starts, directions, lengths):
            if path:
                way = ([] if exit_point is None else [exit_point]) + path + [start + direction * (GAP + length)]
                targets = [np.clip(p @ rot.T + block[:2], 0.0, 512.0).astype(np.float32) for p in way]
                plans.append(_Plan(targets, [10.0] * (len(way) - 2) + [5.0, 2.0], block))
        return plans

    def _sample_pushes(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n pushes in block coordinates: start points of the agent's centre, unit directions, lengths."""
        rng = self._rng
        on_corner = rng.random(n) < 0.3
        # corner pushes: start around a convex corner, push towards it
        corner = rng.integers(len(CORNERS), size=n)
        angle = np.array([c[1] for c in CORNERS])[corner] + rng.random(n) * (math.pi / 2)
        corner_outward = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        corner_contact = np.array([c[0] for c in CORNERS])[corner]
        # edge pushes: start off a point of an edge, push into it, up to ~30 deg off its normal
        lengths = np.linalg.norm(EDGES[:, 1] - EDGES[:, 0], axis=1)
        edge = rng.choice(len(EDGES), size=n, p=lengths / lengths.sum())
        a, b, normal = EDGES[edge, 0], EDGES[edge, 1], EDGES[edge, 2]
        edge_contact = a + (b - a) * rng.random((n, 1))
        tilt = rng.uniform(-0.5, 0.5, size=n)
        c, s = np.cos(tilt), np.sin(tilt)
        edge_direction = np.stack([-normal[:, 0] * c + normal[:, 1] * s, -normal[:, 0] * s - normal[:, 1] * c], 1)

        outward = np.where(on_corner[:, None], corner_outward, normal)
        contact = np.where(on_corner[:, None], corner_contact, edge_contact)
        direction = np.where(on_corner[:, None], -corner_outward, edge_direction)
        length = np.exp(rng.uniform(math.log(MIN_PUSH), math.log(MAX_PUSH), size=n))
        return contact + outward * (AGENT_RADIUS + GAP), direction, length

    def _approach(self, plan: _Plan, agent: np.ndarray, velocity: np.ndarray, block: np.ndarray):
        """Run the agent's PD dynamics alone (as gym-pusht does) until the push begins.

        Returns (the plan as it stands then, agent position, agent velocity, steps taken), or None when the
        approach is too long or would touch the T.
        """
        kp, kv, dt = self._kp, self._kv, self._dt
        px, py = float(agent[0]), float(agent[1])
        vx, vy = float(velocity[0]), float(velocity[1])
        path: list[tuple[float, float]] = []
        steps = 0
        while True:
            tx, ty = (float(t) for t in plan.action(np.array([px, py])))
            if plan.pushing:
                plan.push_steps = 0  # the push's first step is taken by _push
                break
            if steps == MAX_APPROACH_STEPS:
                return None
            for _ in range(self._substeps):
                vx += (kp * (tx - px) - kv * vx) * dt
                vy += (kp * (ty - py) - kv * vy) * dt
                px += vx * dt
                py += vy * dt
                path.append((px, py))
            steps += 1
        # the first step may still graze the T the agent has just pushed; from then on it must keep clear
        trace = np.array(path[self._substeps :])
        if len(trace) and _inside((trace - block[:2]) @ _rotation(block[2]), _inflated(AGENT_RADIUS - 1.0)).any():
            return None
        return plan, np.array([px, py]), np.array([vx, vy]), steps

    def _push(self, u, plan: _Plan, agent: np.ndarray, velocity: np.ndarray, goal_corners: np.ndarray):
        """Simulate the push with pymunk in the private env from the live block state: (steps, error, success)."""
        sim, body = self._sim, self._sim.agent
        sim.block.angle = u.block.angle  # angle first: setting it turns the body about its centre of gravity
        sim.block.position = u.block.position
        sim.block.velocity = u.block.velocity
        sim.block.angular_velocity = u.block.angular_velocity
        body.position, body.velocity = tuple(agent), tuple(velocity)
        kp, kv, dt = self._kp, self._kv, self._dt
        tx, ty = (float(t) for t in plan.targets[-1])
        steps, position = 0, agent
        while True:
            plan.action(position)
            for _ in range(self._substeps):
                (px, py), (vx, vy) = body.position, body.velocity
                body.velocity = (vx + (kp * (tx - px) - kv * vx) * dt, vy + (kp * (ty - py) - kv * vy) * dt)
                sim.space.step(dt)
            steps += 1
            position = np.array(body.position)
            error = _error(np.array([*sim.block.position, sim.block.angle]), goal_corners)
            if error < COVERAGE_CHECK_ERROR and sim._get_coverage() > SUCCESS_COVERAGE:
                return steps, error, True
            if plan.finished(position):
                return steps, error, False
