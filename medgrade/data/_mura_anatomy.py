"""The bones of MURA's seven body parts, as cartoons for :mod:`medgrade.data.mura`.

Each part's function takes the study's anatomy uniforms ``z`` (NZ, B, 1, 1) and the view's
projection ``p`` (B, 1, 1; 0 AP, 1 lateral) and returns its soft-tissue ellipses and its bones,
each ``(centre x, centre y, half-width, half-length, angle)`` in object coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medgrade.data._draw import F

__all__ = ["Bone", "ANATOMY", "TARGETS", "ASPECT"]

Bone = tuple[Any, Any, Any, Any, Any]  # centre x, centre y, half-width, half-length, angle


def _ray(x: Any, y: Any, angle: Any, d0: Any, d1: Any, rx: Any) -> Bone:
    """A bone from ``d0`` to ``d1`` along the ray from (x, y) pointing up at ``angle``."""
    mid = (d0 + d1) / 2
    return (x + mid * np.sin(angle), y - mid * np.cos(angle), rx, (d1 - d0) / 2, angle)


def _humerus(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    soft = [(0, 0, 0.5 + 0.1 * z[0], 1.5, 0)]
    return soft, [(0, 0.05, 0.1 + 0.03 * z[1], 0.85, 0.06 * (z[2] - 0.5)),
                  (0.08 - 0.12 * p, -0.93, 0.24 + 0.03 * z[3], 0.2, 0), (0, 0.95, 0.25 - 0.08 * p, 0.1, 0)]


def _forearm(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    sep = 0.15 * (1 - 0.75 * p)
    return [(0, 0, 0.42 + 0.08 * z[0], 1.5, 0)], [
        (-sep, 0.02, 0.075 + 0.015 * z[1], 0.95, 0.05), (sep, 0, 0.065 + 0.015 * z[2], 0.97, -0.04),
        (-sep - 0.02, 0.95, 0.13, 0.1, 0)]


def _elbow(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    flex = np.pi + 0.15 + 0.55 * p  # the forearm points down, bent forward in a lateral view
    soft = [(0, -0.5, 0.45 + 0.05 * z[0], 0.8, 0), (0.6 * np.sin(flex), -0.6 * np.cos(flex), 0.38, 0.75, flex)]
    return soft, [(0, -0.55, 0.11 + 0.02 * z[1], 0.55, 0), (0, -0.05, 0.26 - 0.06 * p, 0.11, 0),
                  _ray(-0.1 * (1 - 0.6 * p), 0.08, flex, 0, 1.0, 0.065 + 0.01 * z[2]),
                  _ray(0.08, 0.05, flex, 0, 1.04, 0.075), (0.12 + 0.05 * p, 0.02, 0.08, 0.1, 0)]


def _wrist(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    sep, narrow, k = 0.15 * (1 - 0.6 * p), 1 - 0.5 * p, 1 + 0.15 * (z[1] - 0.5)
    soft = [(0, 0.35, 0.45 + 0.06 * z[0], 1.0, 0), (0, -0.6, 0.5, 0.5, 0)]
    bones = [(-sep, 0.62, 0.12 + 0.02 * z[2], 0.42, 0.03), (sep + 0.03, 0.66, 0.075, 0.4, -0.03)]
    for x, y in ((-0.18, 0.08), (0.0, 0.08), (0.17, 0.08), (-0.17, -0.14), (-0.01, -0.14), (0.15, -0.14)):
        bones.append((x * narrow * k, y * k, 0.08 * k, 0.07 * k, 0.2 * x))
    bones += [_ray(x * narrow, -0.3, 0.4 * x, 0, 0.65, 0.045) for x in (-0.22, -0.07, 0.08, 0.22)]
    return soft, [*bones, _ray(-0.3, -0.1, -0.6 - 0.2 * z[3], 0, 0.45, 0.05)]


def _hand(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    spread, narrow, k = (0.1 + 0.06 * z[1]) * (1 - 0.7 * p), 1 - 0.5 * p, 1 + 0.1 * (z[2] - 0.5)
    soft = [(0, 0.4, 0.42 * narrow + 0.05, 0.5, 0), (0, -0.35, 0.38 * narrow + 0.04, 0.6, 0)]
    mc, prox, dist = [], [], []
    for i, f in enumerate((0.85, 1.0, 0.95, 0.8)):  # index, middle, ring and little finger
        x, a = (i - 1.5) * 0.13 * narrow, (i - 1.5) * spread
        mc.append(_ray(x, 0.75, a * 0.4, 0, 0.45 * k, 0.045))
        bx, by = x + 0.47 * k * np.sin(a * 0.4), 0.75 - 0.47 * k * np.cos(a * 0.4)
        prox.append(_ray(bx, by, a, 0.02, 0.3 * f * k, 0.038))
        dist.append(_ray(bx, by, a, 0.34 * f * k, 0.68 * f * k, 0.032))
    t = -0.7 - 0.2 * z[3]
    thumb = [_ray(-0.22, 0.75, t, 0, 0.3, 0.05), _ray(-0.22, 0.75, t, 0.34, 0.6, 0.04)]
    carpals = [(x, 0.88, 0.08, 0.06, 0) for x in (-0.15, 0.0, 0.15)]
    return soft, mc + prox + dist + thumb + carpals


def _finger(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    bend = (0.1 + 0.35 * p) * (z[1] - 0.3)
    prox = _ray(0, 0.8, 0, 0, 0.62, 0.13 + 0.02 * z[2])
    mx, my = 0, 0.8 - 0.66
    dx, dy = mx + 0.44 * np.sin(bend), my - 0.44 * np.cos(bend)
    return [(0, 0.05, 0.3 + 0.05 * z[0], 1.25, 0)], [
        (0, 1.0, 0.15, 0.2, 0), prox, _ray(mx, my, bend, 0, 0.4, 0.1), _ray(dx, dy, 2 * bend, 0, 0.28, 0.085)]


def _shoulder(z: F, p: F) -> tuple[list[Bone], list[Bone]]:
    head = 0.22 + 0.05 * z[1] - 0.2 * p  # the head overlaps the glenoid in a lateral (Y) view
    soft = [(0.2, 0.35, 1.0, 1.2, 0), (-0.75, 0.5, 0.35, 0.7, 0)]
    return soft, [(head, 0.05, 0.27, 0.27, 0), (head + 0.08, 0.75, 0.13, 0.55, 0.1),
                  (-0.3, 0.35, 0.22, 0.6, 0.35), (-0.05, 0.05, 0.07, 0.2, 0),
                  (-0.15, -0.6, 0.065 + 0.01 * z[2], 0.75, 1.45), (0.15, -0.32, 0.2, 0.06, -0.2)]


# per part: anatomy, bones a finding may sit on (whose finding site stays in view), width/height range
ANATOMY = (_elbow, _finger, _forearm, _hand, _humerus, _shoulder, _wrist)
TARGETS = ((0, 1, 2, 3), (1, 2, 3), (0, 1), (0, 1, 2, 3, 4, 5, 6, 7), (0,), (0, 1, 4), (0, 1, 2, 3, 4, 5, 6, 7))
ASPECT = ((0.65, 1.0), (0.6, 0.9), (0.55, 0.85), (0.65, 1.0), (0.55, 0.85), (0.9, 1.3), (0.65, 1.0))
