"""Class names, the difficulty knob and the generator settings of the procedural radiographs."""

from __future__ import annotations

import dataclasses
import math

from pavae.data.dataset import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE

CLASS_NAMES = ("healthy", "left_opacity", "right_opacity")

ORIENTATION = (
    "PA view, radiological convention: the patient's left is on the image's right; "
    "left_opacity = patient's left lung = image right half"
)

# Lung indices of the lung-field masks: the first lies on the image's left.
PATIENT_RIGHT_LUNG = 0  # image left half
PATIENT_LEFT_LUNG = 1  # image right half
AFFECTED_LUNG = {1: PATIENT_LEFT_LUNG, 2: PATIENT_RIGHT_LUNG}  # class index -> lung index

DIFFICULTY_RANGE = (0.0, 1.0)
# Calibrated so that the real-only strategy (800 labelled images, the downstream CNN and schedule of
# the quick profile, seed 0) scores a test AUC of 0.760 (pathology vs healthy). The sweep behind the
# value is in docs/procedural-data.md.
DEFAULT_DIFFICULTY = 0.22

# Opacity peak contrast at difficulty 0, as the fraction of the local lung air replaced by
# fluid-density tissue (1 = fully consolidated lung, as dense as the chest wall).
CONTRAST_RANGE_AT_ZERO = (0.45, 1.0)
CONTRAST_DECADES = 1.6  # contrast falls by 10**1.6 = 40x from difficulty 0 to 1
# Opacity size at difficulty 0: the envelope's scale along its major axis (the standard
# deviation where the envelope is Gaussian), in units of half the image side (0.1 is 3.2
# pixels at 64 x 64).
SIGMA_RANGE_AT_ZERO = (0.07, 0.18)
SIZE_SHRINK = 0.5  # sizes are scaled by 1 - SIZE_SHRINK * difficulty: half at difficulty 1


def opacity_ranges(difficulty: float) -> dict[str, tuple[float, float]]:
    """Return the opacity contrast and size ranges that ``difficulty`` draws from.

    Args:
        difficulty: the knob, in ``DIFFICULTY_RANGE``.

    Returns:
        ``{"contrast": (low, high), "sigma": (low, high)}``: peak contrast as the
        fraction of lung air replaced (dimensionless, drawn uniformly) and the
        envelope's major-axis scale in units of half the image side (drawn
        log-uniformly).
    """
    _check_difficulty(difficulty)
    contrast_scale = 10.0 ** (-CONTRAST_DECADES * difficulty)
    size_scale = 1.0 - SIZE_SHRINK * difficulty
    return {
        "contrast": (CONTRAST_RANGE_AT_ZERO[0] * contrast_scale, CONTRAST_RANGE_AT_ZERO[1] * contrast_scale),
        "sigma": (SIGMA_RANGE_AT_ZERO[0] * size_scale, SIGMA_RANGE_AT_ZERO[1] * size_scale),
    }


def _check_difficulty(difficulty: float) -> None:
    low, high = DIFFICULTY_RANGE
    if isinstance(difficulty, bool) or not (
        isinstance(difficulty, (int, float)) and math.isfinite(difficulty) and low <= difficulty <= high
    ):
        raise ValueError(f"difficulty must be a number in [{low}, {high}] (0 = obvious, 1 = nearly invisible), got {difficulty!r}")


@dataclasses.dataclass(frozen=True)
class PhantomConfig:
    """Settings of the procedural radiograph generator.

    Attributes:
        image_size: side of the square images in pixels (16 to 1024). Anatomy and
            opacities scale with the image; blur widths are given for 64 pixels and
            scale with the side.
        difficulty: opacity knob in [0, 1]. 0 draws large, obvious opacities; 1 draws
            opacities 40 times fainter and half the size, nearly invisible under the
            noise. See :func:`opacity_ranges`.
        drift: acquisition drift step (>= 0, usually 0, 1, 2, 3). Each step lowers the
            dose (more shot noise), widens the blur, strengthens the texture noise and
            the anode heel gradient, and shifts the exposure curve.
        mask_fraction: an opacity's mask covers the pixels where its envelope reaches
            at least this fraction of its peak, inside the affected lung field.
        max_opacities: maximum number of opacities per abnormal image (at least one is drawn).
        lower_zone_bias: preference of opacity centres for the lower lung zones. The
            sampling weight grows as ``exp(lower_zone_bias * v)`` with the height ``v``
            in units of half the image side, and 0 drops the preference.
    """

    image_size: int = 64
    difficulty: float = DEFAULT_DIFFICULTY
    drift: float = 0.0
    mask_fraction: float = 0.3
    max_opacities: int = 3
    lower_zone_bias: float = 1.5

    def __post_init__(self) -> None:
        if isinstance(self.image_size, bool) or not (
            isinstance(self.image_size, int) and MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE
        ):
            raise ValueError(
                f"image_size must be an integer in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}] pixels, got {self.image_size!r}"
            )
        _check_difficulty(self.difficulty)
        if isinstance(self.drift, bool) or not (
            isinstance(self.drift, (int, float)) and math.isfinite(self.drift) and self.drift >= 0
        ):
            raise ValueError(f"drift must be a finite number >= 0 (0 = no drift), got {self.drift!r}")
        if not (isinstance(self.mask_fraction, (int, float)) and 0.0 < self.mask_fraction < 1.0):
            raise ValueError(f"mask_fraction must lie in (0, 1), got {self.mask_fraction!r}")
        if isinstance(self.max_opacities, bool) or not (isinstance(self.max_opacities, int) and 1 <= self.max_opacities <= 8):
            raise ValueError(f"max_opacities must be an integer in [1, 8], got {self.max_opacities!r}")
        if not (isinstance(self.lower_zone_bias, (int, float)) and 0.0 <= self.lower_zone_bias <= 10.0):
            raise ValueError(f"lower_zone_bias must lie in [0, 10], got {self.lower_zone_bias!r}")
