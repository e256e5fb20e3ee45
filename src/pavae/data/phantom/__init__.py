"""Procedural chest radiographs: the built-in data set of the study.

Each image is a synthetic PA chest radiograph of its own patient, 64 x 64 by
default, in the radiological convention: the patient's left is on the image's
right, and dense structures are bright. Class 0 is healthy. ``left_opacity``
places one to three opacities in the patient's left lung (image right half),
and ``right_opacity`` places them in the patient's right lung (image left half).
Each opacity comes with an exact lesion mask. See ``docs/procedural-data.md``.
"""

from pavae.data.phantom.config import (
    AFFECTED_LUNG,
    CLASS_NAMES,
    DEFAULT_DIFFICULTY,
    DIFFICULTY_RANGE,
    ORIENTATION,
    PATIENT_LEFT_LUNG,
    PATIENT_RIGHT_LUNG,
    PhantomConfig,
    opacity_ranges,
)
from pavae.data.phantom.generate import (
    TABLE1_COUNTS,
    generate_phantoms,
    make_procedural_dataset,
    table1_counts,
)

__all__ = [
    "AFFECTED_LUNG",
    "CLASS_NAMES",
    "DEFAULT_DIFFICULTY",
    "DIFFICULTY_RANGE",
    "ORIENTATION",
    "PATIENT_LEFT_LUNG",
    "PATIENT_RIGHT_LUNG",
    "PhantomConfig",
    "TABLE1_COUNTS",
    "generate_phantoms",
    "make_procedural_dataset",
    "opacity_ranges",
    "table1_counts",
]
