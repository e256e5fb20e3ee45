"""Reading of radiograph files (PNG, JPEG, DICOM) into one square uint8 image.

The reading chain for one file:

1. Detect the file type by content, never by extension. A file with ``DICM``
   at byte offset 128 is DICOM. Other files go to Pillow (PNG, JPEG, TIFF,
   BMP), and files that Pillow cannot identify are tried once more as DICOM
   without the preamble (``pydicom.dcmread(force=True)``).
2. Convert to one float64 channel in which dense structures are bright.
   8- and 16-bit grayscale keep their full value range. RGB and RGBA become
   ITU-R BT.601 luminance (0.299 R + 0.587 G + 0.114 B) and alpha is ignored.
   DICOM pixel data goes through the Modality LUT (RescaleSlope and
   RescaleIntercept), optionally the VOI LUT or window, and MONOCHROME1 is
   inverted.
3. Centre-crop or pad to a square (:func:`square_window`).
4. Resize to the output side: an area average (``PIL`` ``BOX`` filter on a
   float image) when shrinking, bilinear interpolation when enlarging.
5. Quantise per image: min-max over the resized image to 0..255. A 16-bit
   image is therefore rescaled from its own range, not truncated to 8 bit,
   and a constant image becomes all zeros.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

FIT_MODES = ("crop", "pad")
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

# pip package names for the decoder plugins that pydicom 3 lists as missing.
_PLUGIN_PACKAGES = {"gdcm": "python-gdcm", "pyjpegls": "pyjpegls"}


class ImageReadError(ValueError):
    """Raised when an image file cannot be read; the message names the file and the cause."""


@dataclasses.dataclass(frozen=True)
class SquareWindow:
    """Square region of a source image in source pixel coordinates.

    ``top`` and ``left`` are negative when the square is padded beyond the
    source edges.
    """

    top: int
    left: int
    side: int


@dataclasses.dataclass
class RadiographPixels:
    """One decoded radiograph before cropping and resizing.

    Attributes:
        pixels: (H, W) float64, dense structures bright.
        file_type: ``"dicom"`` or the Pillow format name in lower case (``"png"``, ``"jpeg"``, ...).
        patient_id: DICOM PatientID when present, else None.
        bit_depth: significant bits per sample of the stored data (BitsStored for DICOM).
        column_direction: first value of the DICOM PatientOrientation, the patient
            direction of increasing column: "L" in the usual display, "R" when mirrored.
    """

    pixels: np.ndarray
    file_type: str
    patient_id: str | None = None
    bit_depth: int = 8
    column_direction: str | None = None


@dataclasses.dataclass
class LoadedRadiograph:
    """A radiograph resized to the output grid, with the geometry needed to map boxes onto it.

    Attributes:
        image: (size, size) uint8, dense structures bright.
        source_shape: (H, W) of the decoded file in pixels.
        window: the square region of the source that fills the output.
        file_type: as in :class:`RadiographPixels`.
        patient_id: DICOM PatientID when present.
        column_direction: as in :class:`RadiographPixels`.
    """

    image: np.ndarray
    source_shape: tuple[int, int]
    window: SquareWindow
    file_type: str
    patient_id: str | None = None
    column_direction: str | None = None


# ---------------------------------------------------------------- detection
def is_dicom_file(path: str | Path) -> bool:
    """Check whether ``path`` starts with a DICOM preamble (``DICM`` at byte offset 128).

    Args:
        path: file to inspect.

    Returns:
        True when the magic bytes are present. Missing or short files give False.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(DICOM_MAGIC_OFFSET)
            return handle.read(len(DICOM_MAGIC)) == DICOM_MAGIC
    except OSError:
        return False


def has_dicom_header(path: str | Path) -> bool:
    """Check whether ``path`` is DICOM, with or without the 128-byte preamble.

    Files with the preamble are recognised from the magic bytes. Others are
    parsed with ``force=True`` up to the pixel data and count as DICOM when the
    header gives the image size (Rows and Columns), which text or other binary
    files do not.
    """
    if is_dicom_file(path):
        return True
    try:
        import pydicom

        header = pydicom.dcmread(path, force=True, stop_before_pixels=True)
        return "Rows" in header and "Columns" in header
    except Exception:  # noqa: BLE001 - any parse failure means "not DICOM"
        return False


# ------------------------------------------------------------------ reading
def read_pixels(path: str | Path, voi_lut: bool = False) -> RadiographPixels:
    """Decode an image file into one float64 channel with dense structures bright.

    Args:
        path: PNG, JPEG, TIFF, BMP or DICOM file. The type is detected from
            the content, so DICOM files need no ``.dcm`` extension.
        voi_lut: for DICOM, apply the VOI LUT or window stored in the file
            after the Modality LUT. Ignored for other files.

    Returns:
        The decoded pixels and what was learnt from the file.

    Raises:
        ImageReadError: the file is missing, of an unknown type, truncated,
            or compressed with a transfer syntax that no installed decoder
            supports (the message names the packages to install).
    """
    source = Path(path)
    if not source.is_file():
        raise ImageReadError(f"{source}: file not found")
    if is_dicom_file(source):
        return _read_dicom(source, voi_lut=voi_lut, force=False)
    try:
        return _read_raster(source)
    except UnidentifiedImageError as raster_error:
        # A DICOM file written without the 128-byte preamble has no magic to detect.
        try:
            return _read_dicom(source, voi_lut=voi_lut, force=True)
        except ImageReadError as dicom_error:
            raise ImageReadError(
                f"{source}: not a PNG, JPEG, TIFF, BMP or DICOM file "
                f"(Pillow: {raster_error}; pydicom: {dicom_error.args[0].removeprefix(f'{source}: ')})"
            ) from raster_error


def _read_raster(source: Path) -> RadiographPixels:
    try:
        with Image.open(source) as opened:
            file_type = (opened.format or "unknown").lower()
            image = ImageOps.exif_transpose(opened)
            image.load()
    except UnidentifiedImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{source}: failed to decode the {source.suffix or 'image'} file ({error})") from error
    pixels, bit_depth = _raster_to_gray(image, source)
    return RadiographPixels(pixels=pixels, file_type=file_type, bit_depth=bit_depth)


def _raster_to_gray(image: Image.Image, source: Path) -> tuple[np.ndarray, int]:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        bit_depth = 16 if mode.startswith("I;16") else 32
        return np.asarray(image, dtype=np.float64), bit_depth
    if mode in ("L", "1"):
        return np.asarray(image.convert("L"), dtype=np.float64), 8
    if mode == "LA":
        return np.asarray(image, dtype=np.float64)[..., 0], 8
    if mode in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        # NOTE: Pillow 13 reads 16-bit RGB PNG as 8-bit RGB, so such files lose their low byte here.
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
        return rgb @ np.asarray(LUMA_WEIGHTS), 8
    raise ImageReadError(f"{source}: unsupported Pillow image mode {mode!r}; save the image as grayscale PNG")


def _read_dicom(source: Path, voi_lut: bool, force: bool) -> RadiographPixels:
    import pydicom
    from pydicom.errors import InvalidDicomError

    if int(pydicom.__version__.split(".")[0]) < 3:
        raise ImportError(f"reading DICOM needs pydicom 3.0 or later, found {pydicom.__version__}: pip install 'pydicom>=3'")

    try:
        dataset = pydicom.dcmread(source, force=force)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as error:
        raise ImageReadError(f"{source}: failed to parse the DICOM file ({error})") from error
    if "PixelData" not in dataset:
        raise ImageReadError(f"{source}: the DICOM file contains no PixelData element")
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise ImageReadError(f"{source}: the DICOM file has {frames} frames; a radiograph must have exactly one")
    bits_stored = int(dataset.get("BitsStored", 0) or 0)
    bits_allocated = int(dataset.get("BitsAllocated", 0) or 0)
    if bits_stored and bits_allocated and bits_stored > bits_allocated:
        raise ImageReadError(f"{source}: BitsStored {bits_stored} exceeds BitsAllocated {bits_allocated}")

    _check_decoder(dataset, source)
    try:
        # pydicom 3 masks the bits above BitsStored and sign-extends signed data.
        raw = dataset.pixel_array
    except (RuntimeError, ValueError, NotImplementedError, AttributeError, KeyError, TypeError) as error:
        syntax = _transfer_syntax(dataset)
        hint = ""
        if syntax is not None and syntax.is_compressed:
            hint = f" If the file is valid, install another decoder for {syntax.name}: {_install_hint(syntax)}."
        reason = " ".join(str(error).split())  # pydicom lists its plugins on several lines
        raise ImageReadError(f"{source}: failed to decode the DICOM pixel data ({reason}).{hint}") from error

    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    pixels = _dicom_to_gray(raw, dataset, photometric, voi_lut, source)
    patient_id = str(dataset.get("PatientID", "") or "").strip() or None
    orientation = dataset.get("PatientOrientation")
    column_direction = None
    if orientation:
        values = list(orientation) if not isinstance(orientation, str) else orientation.split("\\")
        column_direction = str(values[0]).strip().upper() or None
    return RadiographPixels(
        pixels=pixels,
        file_type="dicom",
        patient_id=patient_id,
        bit_depth=bits_stored or 8,
        column_direction=column_direction,
    )


def _dicom_to_gray(raw: np.ndarray, dataset, photometric: str, voi_lut: bool, source: Path) -> np.ndarray:
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        if raw.ndim != 2:
            raise ImageReadError(f"{source}: expected one grayscale frame, got pixel data of shape {raw.shape}")
        values = np.asarray(apply_modality_lut(raw, dataset), dtype=np.float64)
        if voi_lut:
            if "VOILUTSequence" in dataset or "WindowCenter" in dataset:
                values = np.asarray(apply_voi_lut(values, dataset), dtype=np.float64)
            else:
                log.debug("%s: --voi-lut requested but the file has no VOI LUT or window", source)
        if photometric == "MONOCHROME1":
            # MONOCHROME1 stores dense tissue as low values; mirror within the image's own range.
            values = values.max() + values.min() - values
        return values
    if photometric == "PALETTE COLOR":
        rgb = np.asarray(apply_color_lut(raw, dataset), dtype=np.float64)
        return rgb @ np.asarray(LUMA_WEIGHTS)
    if photometric.startswith(("RGB", "YBR")) and raw.ndim == 3 and raw.shape[-1] == 3:
        # pydicom converts YBR pixel data to RGB by default, so both arrive as RGB here.
        return raw.astype(np.float64) @ np.asarray(LUMA_WEIGHTS)
    raise ImageReadError(
        f"{source}: unsupported PhotometricInterpretation {photometric!r} with pixel data of shape {raw.shape}"
    )


def _transfer_syntax(dataset):
    meta = getattr(dataset, "file_meta", None)
    uid = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    return uid


def _check_decoder(dataset, source: Path) -> None:
    syntax = _transfer_syntax(dataset)
    if syntax is None or not syntax.is_compressed:
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        raise ImageReadError(f"{source}: pydicom has no decoder for the transfer syntax {syntax} ({error})") from error
    if not decoder.is_available:
        raise ImageReadError(
            f"{source}: the pixel data is compressed with {syntax.name} and no installed decoder supports it; "
            f"install one: {_install_hint(syntax)}"
        )


def _install_hint(syntax) -> str:
    """Turn pydicom's list of missing decoder plugins into pip commands."""
    from pydicom.pixels import get_decoder

    try:
        missing = get_decoder(syntax).missing_dependencies
    except NotImplementedError:
        return "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg, or pip install python-gdcm"
    commands = []
    for entry in missing:
        plugin = entry.split(" - ", 1)[0].strip()
        requirements = re.findall(r"([A-Za-z][\w.\-]*)\s*>=", entry)
        packages = [_PLUGIN_PACKAGES.get(name, name) for name in requirements] or [_PLUGIN_PACKAGES.get(plugin, plugin)]
        commands.append("pip install " + " ".join(dict.fromkeys(packages)))
    return " | ".join(commands) if commands else "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg"


# ----------------------------------------------------------------- geometry
def square_window(height: int, width: int, fit: str = "crop") -> SquareWindow:
    """Compute the centred square that a crop or a pad of an H x W image keeps.

    Args:
        height: source height in pixels.
        width: source width in pixels.
        fit: ``"crop"`` keeps the central square of side min(H, W);
            ``"pad"`` extends the short side to max(H, W).

    Returns:
        The square in source pixel coordinates. An odd difference puts the
        extra pixel at the bottom or right.

    Raises:
        ValueError: ``fit`` is not one of ``FIT_MODES`` or a side is not positive.
    """
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")
    if height <= 0 or width <= 0:
        raise ValueError(f"image sides must be positive, got {height} x {width}")
    side = min(height, width) if fit == "crop" else max(height, width)
    return SquareWindow(top=(height - side) // 2, left=(width - side) // 2, side=side)


def extract_square(image: np.ndarray, window: SquareWindow, fill: float) -> np.ndarray:
    """Cut ``window`` out of ``image``, filling the parts outside the image with ``fill``.

    Args:
        image: (H, W) array.
        window: square from :func:`square_window`.
        fill: value of padded pixels.

    Returns:
        (side, side) float64 array.
    """
    height, width = image.shape
    square = np.full((window.side, window.side), fill, dtype=np.float64)
    row0, col0 = max(window.top, 0), max(window.left, 0)
    row1, col1 = min(window.top + window.side, height), min(window.left + window.side, width)
    square[row0 - window.top : row1 - window.top, col0 - window.left : col1 - window.left] = image[row0:row1, col0:col1]
    return square


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square float image to ``size`` x ``size``.

    Shrinking uses Pillow's ``BOX`` filter on a float32 image, which is the
    exact area average and so anti-aliased. Enlarging uses bilinear
    interpolation, which does not overshoot the input range.

    Args:
        image: (S, S) array.
        size: output side in pixels.

    Returns:
        (size, size) float64 array.
    """
    if image.shape[0] == size:
        return np.asarray(image, dtype=np.float64)
    resample = Image.Resampling.BOX if image.shape[0] > size else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize((size, size), resample)
    return np.asarray(resized, dtype=np.float64)


def quantize_uint8(image: np.ndarray) -> np.ndarray:
    """Map an image's own min-max range to 0..255 with rounding.

    Args:
        image: array of any real dtype.

    Returns:
        uint8 array of the same shape; all zeros where the image is constant.
    """
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if not np.isfinite(low) or not np.isfinite(high):
        raise ValueError("image contains NaN or infinite values")
    if high - low <= 0:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.rint((values - low) / (high - low) * 255.0), 0, 255).astype(np.uint8)


def load_radiograph(path: str | Path, size: int = 64, fit: str = "crop", voi_lut: bool = False) -> LoadedRadiograph:
    """Read an image file and return it as a square uint8 image of side ``size``.

    Padded pixels take the image's minimum, which is air after the inversion
    of MONOCHROME1, so padding looks like background.

    Args:
        path: image file (see :func:`read_pixels`).
        size: output side in pixels.
        fit: ``"crop"`` (centre crop) or ``"pad"`` for non-square images.
        voi_lut: apply the DICOM VOI LUT or window.

    Returns:
        The image and its geometry.

    Raises:
        ImageReadError: the file cannot be read (see :func:`read_pixels`).
    """
    decoded = read_pixels(path, voi_lut=voi_lut)
    pixels = decoded.pixels
    if pixels.ndim != 2 or min(pixels.shape) == 0:
        raise ImageReadError(f"{path}: expected a two-dimensional image, got shape {pixels.shape}")
    if not np.all(np.isfinite(pixels)):
        raise ImageReadError(f"{path}: the image contains NaN or infinite values")
    window = square_window(pixels.shape[0], pixels.shape[1], fit)
    square = extract_square(pixels, window, fill=float(pixels.min()))
    image = quantize_uint8(resize_square(square, size))
    return LoadedRadiograph(
        image=image,
        source_shape=(int(pixels.shape[0]), int(pixels.shape[1])),
        window=window,
        file_type=decoded.file_type,
        patient_id=decoded.patient_id,
        column_direction=decoded.column_direction,
    )


def load_mask(path: str | Path, shape: tuple[int, int], size: int, fit: str = "crop") -> np.ndarray:
    """Read a lesion mask and map it onto the output grid of an image of ``shape``.

    The mask must cover the same field of view as its image. A mask with
    another pixel size is stretched to the image's size first. Any non-zero
    pixel counts as lesion. After the area-average resize, output pixels at
    least half covered by lesion are set. A lesion smaller than that keeps
    every output pixel it touches, so small lesions do not vanish.

    Args:
        path: mask image (PNG or any format :func:`read_pixels` reads).
        shape: (H, W) of the decoded image the mask belongs to.
        size: output side in pixels.
        fit: the crop or pad applied to the image.

    Returns:
        (size, size) uint8 array of 0 and 1.

    Raises:
        ImageReadError: the mask cannot be read.
    """
    decoded = read_pixels(path)
    lesion = (decoded.pixels > 0).astype(np.float64)
    if lesion.shape != tuple(shape):
        stretched = Image.fromarray(lesion.astype(np.float32)).resize((shape[1], shape[0]), Image.Resampling.BOX)
        lesion = (np.asarray(stretched) > 0).astype(np.float64)
    window = square_window(shape[0], shape[1], fit)
    coverage = resize_square(extract_square(lesion, window, fill=0.0), size)
    mask = coverage >= 0.5
    if not mask.any():
        mask = coverage > 1e-6
    return mask.astype(np.uint8)
