"""Patient anatomy of the procedural radiographs as an attenuation map.

Each image is one synthetic patient in a PA view. The map is built in the
patient's own frame (``u`` toward the image's right = the patient's left, ``v``
downward, both in units of half the image side) and that frame is rotated and
shifted in the image, so posture varies without resampling.

Attenuation is a line integral in e-folds (transmission ``exp(-A)``): the body is
an elliptic cylinder of soft tissue; the lungs remove part of it (air); bones,
hila and vessel markings add to it; the trachea and the gastric bubble remove it.
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
        air_attenuation: (N, 2, H, W) float32 attenuation that each lung's air removes
            (index ``PATIENT_RIGHT_LUNG`` lies on the image's left); a fully
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

    # Body: elliptic cylinder of soft tissue, wider at the shoulders, narrower at the waist.
    half_width = thorax + _col(params["chest_wall"]) + 0.14 * ramp(v, -0.62, -0.98) - 0.07 * ramp(v, 0.4, 1.0)
    ratio = u / half_width
    body = np.sqrt(np.clip(1.0 - ratio * ratio, 0.0, 1.0))
    chord = _col(params["soft_tissue"]) * body  # attenuation through the full body
    attenuation = chord.copy()

    displaced = _heart_and_knob(u, v, params, thorax, left_dome, size)

    # Lungs, each on its own half of the image.
    air_attenuation = np.zeros((n, 2, size, size), dtype=np.float32)
    air_scale = _col(params["air_fraction"]) * chord
    half = size // 2
    margin = max(2, size // 16)
    for lung, sign, dome, columns in (
        (PATIENT_RIGHT_LUNG, -1.0, right_dome, slice(0, half + margin)),
        (PATIENT_LEFT_LUNG, 1.0, left_dome, slice(half - margin, size)),
    ):
        air = _lung_air(sign * u[:, :, columns], v[:, :, columns], thorax, dome, params, edge)
        air *= 1.0 - 0.85 * displaced[lung][:, :, columns]
        air_attenuation[:, lung, :, columns] = air
    fields = air_attenuation > FIELD_THRESHOLD
    air_attenuation *= air_scale[:, None]
    lungs = air_attenuation.sum(axis=1)
    attenuation -= lungs
    lung_share = np.clip(2.0 * lungs / np.maximum(air_scale, 1e-6), 0.0, 1.0)

    attenuation += _vessels(u, v, params, lung_share, size, rng)
    attenuation += _bones(u, v, params, thorax, edge, size) * ramp(body, 0.0, 0.2)
    attenuation -= _trachea_and_bubble(u, v, params, thorax, left_dome, edge, size)
    np.clip(attenuation, 0.0, None, out=attenuation)
    return Anatomy(attenuation=attenuation, air_attenuation=air_attenuation, fields=fields)


def _heart_and_knob(
    u: np.ndarray, v: np.ndarray, params: dict[str, np.ndarray], thorax: np.ndarray, left_dome: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the share of each lung's depth displaced by the heart and the aortic knob.

    The heart is a tilted ellipse, a third of it right of the midline, resting on the
    left dome; its displaced share is an ellipsoid's thickness, saturating inside,
    so the silhouette has a sharp border and a short gradient within it. The aortic
    knob bulges into the upper left lung only.

    Returns:
        ``(right, left)``: (N, H, W) float32 shares in [0, 1] for each lung.
    """
    heart_a = 1.15 * _col(params["ctr"]) * thorax
    heart_b = _col(params["heart_half_height"])
    heart_u = 0.28 * heart_a
    heart_v = left_dome - 0.40 * heart_b
    tilt = _col(params["heart_tilt"])
    reach = float(np.max(heart_a)) + float(np.max(heart_b))
    rows = _band(size, float(np.min(heart_v)) - reach, float(np.max(heart_v)) + reach)
    du, dv = u[:, rows] - heart_u, v[:, rows] - heart_v
    along = (np.cos(tilt) * du + np.sin(tilt) * dv) / heart_a
    across = (np.cos(tilt) * dv - np.sin(tilt) * du) / heart_b
    inside = np.clip(1.0 - along * along - across * across, 0.0, 1.0)
    heart = np.zeros(u.shape, dtype=np.float32)
    heart[:, rows] = np.minimum(1.8 * np.sqrt(inside), 1.0)

    knob_u = _col(params["mediastinum_half_width"]) + 0.03
    knob_v = _col(params["hilum_v"]) - 0.22
    rows = _band(size, float(np.min(knob_v)) - 0.08, float(np.max(knob_v)) + 0.08)
    distance2 = (u[:, rows] - knob_u) ** 2 + (v[:, rows] - knob_v) ** 2
    left = heart.copy()
    left[:, rows] = np.maximum(left[:, rows], ramp(distance2, 0.075**2, 0.06**2))
    return heart, left


def _lung_air(
    lateral: np.ndarray, v: np.ndarray, thorax: np.ndarray, dome_v: np.ndarray, params: dict[str, np.ndarray], edge: float
) -> np.ndarray:
    """Return one lung's air map in [0, 1]: membership times relative air depth.

    The lung lies between the mediastinum and the inner chest wall, below a rounded
    apex and above the hemidiaphragm dome, whose lateral end forms the costophrenic
    angle. Air is deepest in the mid-lateral lung and thinner at the rims.

    Args:
        lateral: (N, H, W') distance from the midline toward this lung's side.
        v: (N, H, W') patient-frame height.
    """
    apex_v = _col(params["apex_v"])
    dome_depth = _col(params["dome_depth"])
    base_v = dome_v + dome_depth
    # Signed distances to each border, positive inside.
    below_base = (base_v - v) * (1.0 / 1.2)
    inside_lateral = thorax * (1.0 - 0.18 * below_base * below_base) - lateral
    from_apex_centre = (lateral - 0.42 * thorax) * (1.0 / 0.3)
    inside_apex = v - apex_v - 0.16 * from_apex_centre * from_apex_centre
    dome_centre = 0.45 * thorax
    lateral_rise = np.maximum(lateral - dome_centre, 0.0) / (thorax - dome_centre)
    medial_rise = np.maximum(dome_centre - lateral, 0.0) / dome_centre
    inside_dome = dome_v - v + dome_depth * (lateral_rise * lateral_rise + 0.35 * medial_rise * medial_rise)
    inside_medial = lateral - _col(params["mediastinum_half_width"])

    air = ramp(inside_lateral, -0.5 * edge, 0.5 * edge)
    air *= ramp(inside_apex, -0.5 * edge, 0.5 * edge)
    air *= ramp(inside_dome, -0.5 * edge, 0.5 * edge)
    air *= ramp(inside_medial, -0.5 * edge, 0.5 * edge)
    air *= 0.55 + 0.45 * ramp(inside_lateral, 0.0, 0.30)
    air *= 0.60 + 0.40 * ramp(inside_apex, 0.0, 0.35)
    air *= 0.75 + 0.25 * ramp(inside_dome, 0.0, 0.20)
    air *= 0.80 + 0.20 * ramp(inside_medial, 0.0, 0.20)
    return air


def _vessels(
    u: np.ndarray, v: np.ndarray, params: dict[str, np.ndarray], lung_share: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Return hila and vessel markings: bright near the hila, fading toward the periphery.

    The patient's left hilum (image right) sits higher than the right one.
    """
    hilum_v = _col(params["hilum_v"]) + np.where(u > 0, -0.03, 0.03).astype(np.float32)
    distance2 = (np.abs(u) - 0.2) ** 2 + (v - hilum_v) ** 2
    hila = 0.45 * np.exp(distance2 * (-0.5 / 0.08**2))
    texture = correlated_noise(rng, u.shape[0], size, sigma_px=1.0 * size / 64.0)
    markings = np.maximum(texture + 0.6, 0.0) * _col(params["marking_density"]) * np.exp(-np.sqrt(distance2) / 0.35)
    return (hila + markings) * lung_share


def _bones(
    u: np.ndarray, v: np.ndarray, params: dict[str, np.ndarray], thorax: np.ndarray, edge: float, size: int
) -> np.ndarray:
    """Return the attenuation of spine, posterior and anterior ribs, clavicles and humeral heads."""
    m = np.abs(u)  # distance from the midline, the same for both sides
    relative = m / thorax
    apex_v = _col(params["apex_v"])
    bones = np.zeros(u.shape, dtype=np.float32)

    # Spine: a midline column with darker disc spaces every vertebra.
    columns = _band(size, -0.07, 0.07)
    spine_width = _col(params["spine_half_width"])
    spine = ramp(m[:, :, columns], spine_width + 0.5 * edge, spine_width - 0.5 * edge)
    disc = 0.5 + 0.5 * np.cos(2.0 * np.pi * (v[:, :, columns] * (1.0 / 0.115) + _col(params["vertebra_phase"])))
    disc *= disc
    bones[:, :, columns] = 0.38 * spine * (1.0 - 0.35 * disc * disc * disc)

    # Posterior ribs: arcs that leave the spine almost level, rise slightly and bend down
    # toward the lateral chest wall; upper ribs bend more. One periodic profile of the
    # rib "phase" draws all ribs at once, and the spacing widens downward.
    rib_top = apex_v - 0.10
    span = _col(params["rib_span"])
    height = np.clip((v - rib_top) / span, 0.0, 1.0)
    bend = _col(params["rib_curve"]) * (1.8 - 0.8 * height)
    offset = relative - 0.3
    rib_v = np.maximum((v - rib_top - bend * (offset * offset - 0.09)) / span, 0.0)
    phase = 10.0 * rib_v * (1.15 - 0.15 * rib_v)  # concave: wider spacing further down
    band = 0.5 - 0.5 * np.cos(2.0 * np.pi * phase)
    band *= band
    band *= ramp(phase, 0.0, 0.3)
    band *= 1.0 - ramp(phase, 9.6, 10.6)
    band *= 0.5 + 0.5 * ramp(relative, 0.1, 0.35)
    band *= ramp(m, 0.06, 0.12)
    band *= 1.0 - ramp(relative, 1.02, 1.10)
    rib_density = _col(params["rib_density"])
    bones += rib_density * band

    # Anterior ribs: fainter bands running down toward the midline, lateral half only.
    anterior_phase = (v - (apex_v + 0.05) - 0.35 * (thorax - m)) * (6.0 / 0.9) / span
    anterior = 0.5 - 0.5 * np.cos(2.0 * np.pi * anterior_phase)
    anterior = anterior * anterior * anterior
    anterior *= ramp(anterior_phase, 0.0, 0.3)
    anterior *= 1.0 - ramp(anterior_phase, 5.7, 6.0)
    anterior *= ramp(relative, 0.30, 0.50)
    anterior *= 1.0 - ramp(relative, 0.95, 1.05)
    bones += 0.35 * rib_density * anterior

    # Clavicles: from the sternal end beside the spine up and out toward the shoulder.
    rows = _band(size, -1.0, float(np.max(params["clavicle_v"])) + 0.12)
    m_top, v_top = m[:, rows], v[:, rows]
    centre = _col(params["clavicle_v"]) - _col(params["clavicle_slope"]) * m_top + 0.10 * m_top * m_top
    width = 0.060 - 0.020 * ramp(m_top, 0.05, 0.25)
    distance = (v_top - centre) / width
    clavicle = np.exp(-distance * distance) * ramp(m_top, 0.04, 0.09) * (1.0 - ramp(relative[:, rows], 0.80, 0.95))
    bones[:, rows] += 0.65 * clavicle

    # Humeral heads in the upper corners.
    rows = _band(size, -1.0, float(np.max(params["apex_v"])))
    head = ((m[:, rows] - thorax - 0.17) ** 2 + (v[:, rows] - apex_v + 0.14) ** 2) * (1.0 / 0.14**2)
    bones[:, rows] += 0.75 * np.sqrt(np.clip(1.0 - head, 0.0, 1.0))
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
    the hila; the gastric bubble, present in most patients, lies below the left dome.
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
    bubble = ramp(du * du + dv * dv, 1.15, 0.85) * (dv > -1.0)
    removed[:, rows] += _col(params["gastric_bubble"]) * bubble
    return removed
