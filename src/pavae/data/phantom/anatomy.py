"""Patient anatomy of the procedural radiographs as an attenuation map.

Each image is one synthetic patient in a PA view. The map is built in the
patient's own frame (``u`` toward the image's right = the patient's left, ``v``
downward, both in units of half the image side) and that frame is rotated and
shifted in the image, so posture varies without resampling.

Attenuation is a line integral in e-folds (transmission ``exp(-A)``). The body is
an elliptic cylinder of soft tissue, and the lungs' air removes part of it. Bones,
hila and vessel markings add to it, and the trachea and gastric bubble remove it.
Structures confined to a band of rows or columns are computed on that band only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pavae.data.phantom.config import PATIENT_LEFT_LUNG, PATIENT_RIGHT_LUNG
from pavae.data.phantom.fields import correlated_noise, ramp

# Share of a lung's full air depth above which a pixel belongs to the lung field
# (the region where opacities may lie). It excludes the thin lung behind the heart
# and the aortic knob, and the lung's outermost rim.
FIELD_THRESHOLD = 0.2

# Largest distance between a point's patient-frame and image coordinates: shift
# (0.05) plus rotation (0.06 rad times a lever arm of up to 1), with a rounding margin.
_POSTURE_MARGIN = 0.13


@dataclass
class Anatomy:
    """Rendered anatomy of a batch of N patients on an H x W grid.

    Attributes:
        attenuation: (N, H, W) float32 line integral in e-folds, lungs included.
        air_attenuation: (N, 2, H, W) float32 attenuation that each lung's air removes,
            index ``PATIENT_RIGHT_LUNG`` (on the image's left) first. A fully
            consolidated lung adds it back.
        fields: (N, 2, H, W) bool lung-field masks, same lung order.
    """

    attenuation: np.ndarray
    air_attenuation: np.ndarray
    fields: np.ndarray


def _uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return rng.uniform(low, high, n).astype(np.float32)


def draw_anatomy(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw the per-patient anatomy parameters.

    Lengths are in units of half the image side, angles in radians and densities in
    e-folds of attenuation. The draw order and shapes depend only on ``n``.

    Returns:
        name -> (n,) float32 array.
    """
    p: dict[str, np.ndarray] = {}
    # Posture: small rotation about the image centre and a shift of the patient.
    p["rotation"] = _uniform(rng, -0.06, 0.06, n)
    p["shift_u"] = _uniform(rng, -0.05, 0.05, n)
    p["shift_v"] = _uniform(rng, -0.04, 0.05, n)
    # Body habitus.
    p["thorax_half_width"] = _uniform(rng, 0.74, 0.86, n)
    p["chest_wall"] = _uniform(rng, 0.07, 0.13, n)
    p["soft_tissue"] = _uniform(rng, 2.4, 3.0, n)
    p["air_fraction"] = _uniform(rng, 0.62, 0.74, n)
    # Lungs: apex height, inspiration depth (level of the patient's right dome), the
    # left dome's drop below the right one (usually lower), dome curvature.
    p["apex_v"] = _uniform(rng, -0.80, -0.68, n)
    p["right_dome_v"] = _uniform(rng, 0.16, 0.42, n)
    p["left_dome_drop"] = np.clip(rng.normal(0.07, 0.035, n), -0.02, 0.16).astype(np.float32)
    p["dome_depth"] = _uniform(rng, 0.14, 0.24, n)
    p["mediastinum_half_width"] = _uniform(rng, 0.11, 0.15, n)
    # Heart: cardiothoracic ratio, half-height, tilt of the long axis toward the apex.
    p["ctr"] = _uniform(rng, 0.40, 0.52, n)
    p["heart_half_height"] = _uniform(rng, 0.30, 0.38, n)
    p["heart_tilt"] = _uniform(rng, 0.30, 0.60, n)
    p["hilum_v"] = _uniform(rng, -0.22, -0.08, n)
    # Bones.
    p["rib_density"] = _uniform(rng, 0.14, 0.24, n)
    p["rib_span"] = _uniform(rng, 1.05, 1.22, n)
    p["rib_curve"] = _uniform(rng, 0.40, 0.60, n)
    p["clavicle_v"] = _uniform(rng, -0.66, -0.54, n)
    p["clavicle_slope"] = _uniform(rng, 0.22, 0.36, n)
    p["spine_half_width"] = _uniform(rng, 0.045, 0.06, n)
    p["vertebra_phase"] = _uniform(rng, 0.0, 1.0, n)
    # Soft-tissue extras.
    p["marking_density"] = _uniform(rng, 0.10, 0.18, n)
    p["gastric_bubble"] = (rng.uniform(0.0, 1.0, n) < 0.7).astype(np.float32) * _uniform(rng, 0.4, 0.9, n)
    return p


def _col(values: np.ndarray) -> np.ndarray:
    return values[:, None, None]


def _band(size: int, low: float, high: float) -> slice:
    """Return the image rows (or columns) that can hold patient coordinates in [low, high]."""
    start = math.floor((low - _POSTURE_MARGIN + 1.0) / 2.0 * size)
    stop = math.ceil((high + _POSTURE_MARGIN + 1.0) / 2.0 * size)
    return slice(max(0, start), min(size, stop))


def patient_coordinates(params: dict[str, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each pixel's position in its patient's frame.

    Returns:
        ``(u, v)``, each (N, size, size) float32 in units of half the image side;
        ``u`` grows toward the image's right (the patient's left), ``v`` downward.
    """
    centres = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
    du = centres[None, None, :] - _col(params["shift_u"])
    dv = centres[None, :, None] - _col(params["shift_v"])
    cos, sin = _col(np.cos(params["rotation"])), _col(np.sin(params["rotation"]))
    return cos * du + sin * dv, cos * dv - sin * du


def render_anatomy(params: dict[str, np.ndarray], size: int, rng: np.random.Generator) -> Anatomy:
    """Render the attenuation map and lung fields of a batch of patients.

    Args:
        params: output of :func:`draw_anatomy` for N patients.
        size: image side in pixels.
        rng: source of the vessel-marking texture (one correlated-noise draw).

    Returns:
        The batch's :class:`Anatomy`.
    """
    u, v = patient_coordinates(params, size)
    n = u.shape[0]
    edge = 1.5 * 2.0 / size  # width of anti-aliased edges: 1.5 pixels
    thorax = _col(params["thorax_half_width"])
    right_dome = _col(params["right_dome_v"])
    left_dome = right_dome + _col(params["left_dome_drop"])
    m = np.abs(u)  # distance from the midline, the same for both sides

    # Body: elliptic cylinder of soft tissue, wider at the shoulders, narrower at the waist.
    half_width = thorax + _col(params["chest_wall"]) + 0.14 * ramp(v, -0.62, -0.98) - 0.07 * ramp(v, 0.4, 1.0)
    ratio = u / half_width
    body = np.sqrt(np.clip(1.0 - ratio * ratio, 0.0, 1.0))
    chord = _col(params["soft_tissue"]) * body  # attenuation through the full body

    # Lungs, each on its own half of the image, minus what the heart and the aortic knob displace.
    air = np.zeros((n, 2, size, size), dtype=np.float32)
    half = size // 2
    margin = max(2, size // 16)
    for lung, sign, dome, columns in (
        (PATIENT_RIGHT_LUNG, -1.0, right_dome, slice(0, half + margin)),
        (PATIENT_LEFT_LUNG, 1.0, left_dome, slice(half - margin, size)),
    ):
        air[:, lung, :, columns] = _lung_air(sign * u[:, :, columns], v[:, :, columns], thorax, dome, params, edge)
    _displace_by_heart_and_knob(air, u, v, params, thorax, left_dome, size)
    fields = air > FIELD_THRESHOLD
    air_scale = _col(params["air_fraction"]) * chord
    air *= air_scale[:, None]
    lungs = air[:, 0] + air[:, 1]
    lung_share = np.clip(lungs / np.maximum(air_scale, 1e-6) * 2.0, 0.0, 1.0, dtype=np.float32)

    attenuation = chord - lungs
    attenuation += _vessels(u, v, m, params, lung_share, size, rng)
    attenuation += _bones(u, v, m, params, thorax, body, edge, size)
    attenuation -= _trachea_and_bubble(u, v, params, thorax, left_dome, edge, size)
    np.clip(attenuation, 0.0, None, out=attenuation)
    return Anatomy(attenuation=attenuation, air_attenuation=air, fields=fields)


def _displace_by_heart_and_knob(
    air: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    params: dict[str, np.ndarray],
    thorax: np.ndarray,
    left_dome: np.ndarray,
    size: int,
) -> None:
    """Scale the lungs' air (in place) by the share that the heart and aortic knob leave.

    The heart is a tilted ellipse resting on the left dome, a third of it right of the
    midline. The share it displaces is an ellipsoid's thickness, saturating inside, so
    the silhouette has a sharp border and a short gradient within it. The aortic
    knob bulges into the upper left lung only. Each displaces up to 85% of the air,
    leaving a thin lung behind them.
    """
    heart_a = 1.15 * _col(params["ctr"]) * thorax
    heart_b = _col(params["heart_half_height"])
    heart_u = 0.28 * heart_a
    heart_v = left_dome - 0.40 * heart_b
    tilt = _col(params["heart_tilt"])
    reach = float(np.max(heart_a)) + float(np.max(heart_b))
    rows = _band(size, float(np.min(heart_v)) - reach, float(np.max(heart_v)) + reach)
    du, dv = u[:, rows] - heart_u, v[:, rows] - heart_v
    along = np.cos(tilt) / heart_a * du + np.sin(tilt) / heart_a * dv
    across = np.cos(tilt) / heart_b * dv - np.sin(tilt) / heart_b * du
    inside = 1.0 - along * along - across * across
    heart = np.minimum(np.sqrt(np.clip(inside, 0.0, 1.0)) * 1.8, 1.0)
    air[:, :, rows] *= (1.0 - 0.85 * heart)[:, None]

    knob_u = _col(params["mediastinum_half_width"])
    knob_v = _col(params["hilum_v"]) - 0.24
    rows = _band(size, float(np.min(knob_v)) - 0.11, float(np.max(knob_v)) + 0.11)
    distance2 = (u[:, rows] - knob_u) ** 2 + (v[:, rows] - knob_v) ** 2
    knob = np.minimum(np.sqrt(np.clip(1.0 - distance2 * (1.0 / 0.10**2), 0.0, 1.0)) * 2.0, 1.0)
    air[:, PATIENT_LEFT_LUNG, rows] *= 1.0 - 0.85 * knob


def _depth_ramp(inside: np.ndarray, rim: float, depth: float) -> np.ndarray:
    """Return ``rim`` at a border rising linearly to 1 at ``depth`` inside it (``inside`` >= 0)."""
    return np.minimum(inside * ((1.0 - rim) / depth) + rim, 1.0)


def _lung_air(
    lateral: np.ndarray, v: np.ndarray, thorax: np.ndarray, dome_v: np.ndarray, params: dict[str, np.ndarray], edge: float
) -> np.ndarray:
    """Return one lung's air map in [0, 1]: share of the full air depth at each pixel.

    The lung lies between the mediastinum and the inner chest wall, below a rounded
    apex and above the hemidiaphragm dome, whose lateral end forms the costophrenic
    angle. Air is deepest in the mid-lateral lung and thinner at the rims.

    Args:
        lateral: (N, H, W') distance from the midline toward this lung's side.
        v: (N, H, W') patient-frame height.
    """
    apex_v = _col(params["apex_v"])
    dome_depth = _col(params["dome_depth"])
    # Signed distances to each border, positive inside.
    below_base = (dome_v + dome_depth - v) * (1.0 / 1.2)
    inside_lateral = thorax * (1.0 - 0.18 * below_base * below_base) - lateral
    from_apex_centre = (lateral - 0.42 * thorax) * (1.0 / 0.3)
    inside_apex = v - apex_v - 0.16 * from_apex_centre * from_apex_centre
    dome_centre = 0.45 * thorax
    from_dome_centre = (lateral - dome_centre) / (thorax - dome_centre)
    inside_dome = dome_v - v + dome_depth * from_dome_centre * from_dome_centre
    inside_medial = lateral - _col(params["mediastinum_half_width"])

    # Anti-aliased membership from the nearest border, times a depth profile per border.
    nearest = np.minimum(np.minimum(inside_lateral, inside_apex), np.minimum(inside_dome, inside_medial))
    air = np.clip(nearest * (1.0 / edge) + 0.5, 0.0, 1.0)
    air *= _depth_ramp(inside_lateral, 0.55, 0.30)
    air *= _depth_ramp(inside_apex, 0.60, 0.35)
    air *= _depth_ramp(inside_dome, 0.75, 0.20)
    air *= _depth_ramp(inside_medial, 0.80, 0.20)
    return air


def _vessels(
    u: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    params: dict[str, np.ndarray],
    lung_share: np.ndarray,
    size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return hila and vessel markings: bright near the hila, fading toward the periphery.

    The patient's left hilum (image right) sits higher than the right one.
    """
    hilum_v = _col(params["hilum_v"]) + np.where(u > 0, np.float32(-0.03), np.float32(0.03))
    distance2 = (m - 0.2) ** 2 + (v - hilum_v) ** 2
    texture = correlated_noise(rng, u.shape[0], size, sigma_px=1.0 * size / 64.0)
    markings = np.maximum(texture + 0.6, 0.0)
    markings *= _col(params["marking_density"])
    markings *= np.exp(distance2 * (-0.5 / 0.3**2))
    markings += 0.45 * np.exp(distance2 * (-0.5 / 0.08**2))  # hila
    markings *= lung_share
    return markings


def _bones(
    u: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    params: dict[str, np.ndarray],
    thorax: np.ndarray,
    body: np.ndarray,
    edge: float,
    size: int,
) -> np.ndarray:
    """Return the attenuation of spine, posterior and anterior ribs, clavicles and humeral heads."""
    relative = m * (1.0 / thorax)
    apex_v = _col(params["apex_v"])
    rib_density = _col(params["rib_density"])
    span = _col(params["rib_span"])

    # Posterior ribs: arcs that leave the spine almost level, rise slightly and bend down
    # toward the lateral chest wall; upper ribs bend more. One periodic profile of the
    # rib "phase" draws all ten ribs at once (the profile is 0 at whole phases, so the
    # cut at 0 and 10 leaves no step), and the spacing widens downward.
    rib_top = apex_v - 0.10
    height = np.clip((v - rib_top) * (1.0 / span), 0.0, 1.0)
    offset = relative - 0.3
    arc = (offset * offset - 0.09) * (1.8 - 0.8 * height)
    arc *= _col(params["rib_curve"])
    rib_v = (v - rib_top - arc) * (1.0 / span)
    phase = rib_v * (11.5 - 1.5 * rib_v)  # 10 ribs over rib_v in [0, 1], wider spacing further down
    bones = 0.5 - 0.5 * np.cos(2.0 * np.pi * phase)
    bones *= bones
    bones *= (phase > 0.0) & (phase < 10.0)
    lateral_extent = ramp(m, 0.06, 0.12)
    lateral_extent *= 0.5 + 0.5 * ramp(relative, 0.1, 0.35)
    lateral_extent *= ramp(relative, 1.10, 1.02)
    bones *= lateral_extent
    bones *= rib_density

    # Anterior ribs: fainter bands running down toward the midline, lateral half only.
    anterior_phase = (v - (apex_v + 0.05) - 0.35 * (thorax - m)) * (6.0 / 0.9) / span
    anterior = 0.5 - 0.5 * np.cos(2.0 * np.pi * anterior_phase)
    anterior = anterior * anterior * anterior
    anterior *= (anterior_phase > 0.0) & (anterior_phase < 6.0)
    anterior *= ramp(relative, 0.30, 0.50)
    anterior *= ramp(relative, 1.05, 0.95)
    anterior *= 0.35 * rib_density
    bones += anterior

    # Spine: a midline column with darker disc spaces every vertebra.
    columns = _band(size, -0.07, 0.07)
    spine_width = _col(params["spine_half_width"])
    spine = ramp(m[:, :, columns], spine_width + 0.5 * edge, spine_width - 0.5 * edge)
    disc = 0.5 + 0.5 * np.cos(2.0 * np.pi * (v[:, :, columns] * (1.0 / 0.115) + _col(params["vertebra_phase"])))
    disc *= disc
    bones[:, :, columns] += 0.38 * spine * (1.0 - 0.35 * disc * disc * disc)

    # Clavicles: from the sternal end beside the spine up and out toward the shoulder.
    rows = _band(size, -1.0, float(np.max(params["clavicle_v"])) + 0.12)
    m_top, v_top = m[:, rows], v[:, rows]
    centre = _col(params["clavicle_v"]) - _col(params["clavicle_slope"]) * m_top + 0.10 * m_top * m_top
    width = 0.060 - 0.020 * ramp(m_top, 0.05, 0.25)
    distance = (v_top - centre) / width
    clavicle = np.exp(-distance * distance) * ramp(m_top, 0.04, 0.09) * ramp(relative[:, rows], 0.95, 0.80)
    bones[:, rows] += 0.65 * clavicle

    # Humeral heads in the upper corners, inside the shoulders' soft tissue.
    rows = _band(size, -1.0, float(np.max(params["apex_v"])))
    head = ((m[:, rows] - thorax - 0.17) ** 2 + (v[:, rows] - apex_v + 0.14) ** 2) * (1.0 / 0.14**2)
    bones[:, rows] += 0.75 * np.sqrt(np.clip(1.0 - head, 0.0, 1.0)) * ramp(body[:, rows], 0.0, 0.2)
    return bones


def _trachea_and_bubble(
    u: np.ndarray,
    v: np.ndarray,
    params: dict[str, np.ndarray],
    thorax: np.ndarray,
    left_dome: np.ndarray,
    edge: float,
    size: int,
) -> np.ndarray:
    """Return the attenuation removed by the trachea and the gastric bubble.

    The trachea is an air column in the upper midline that ends at the carina above
    the hila. The gastric bubble, present in most patients, lies below the left dome
    with a flat lower border.
    """
    removed = np.zeros(u.shape, dtype=np.float32)
    carina_v = _col(params["hilum_v"]) - 0.12
    rows = _band(size, -1.0, float(np.max(carina_v)) + 0.05)
    columns = _band(size, -0.06, 0.06)
    u_mid, v_mid = u[:, rows, columns], v[:, rows, columns]
    trachea = ramp(np.abs(u_mid - 0.01), 0.035 + 0.5 * edge, 0.035 - 0.5 * edge) * ramp(v_mid, carina_v + 0.04, carina_v - 0.04)
    removed[:, rows, columns] = 0.45 * trachea

    bubble_u, bubble_v = 0.45 * thorax, left_dome + 0.10
    rows = _band(size, float(np.min(bubble_v)) - 0.07, float(np.max(bubble_v)) + 0.07)
    du = (u[:, rows] - bubble_u) * (1.0 / 0.11)
    dv = (v[:, rows] - bubble_v) * (1.0 / 0.06)
    bubble = ramp(du * du + dv * dv, 1.15, 0.85) * ramp(dv, 0.45, 0.15)  # flat air-fluid level below
    removed[:, rows] += _col(params["gastric_bubble"]) * bubble
    return removed
