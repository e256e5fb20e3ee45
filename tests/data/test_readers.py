"""Tests of pavae.data.readers: PNG bit depths, colour, DICOM photometry, compression and geometry."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PIL import Image, features
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from pavae.data.readers import (
    ImageReadError,
    SquareWindow,
    extract_square,
    is_dicom_file,
    load_mask,
    load_radiograph,
    quantize_uint8,
    read_pixels,
    resize_square,
    square_window,
)


def phantom(size: int = 32) -> np.ndarray:
    """Return a bright disc (dense structure, 3000) on a dark background (500), 12-bit values."""
    rows, cols = np.mgrid[:size, :size]
    disc = (rows - size / 2) ** 2 + (cols - size / 2) ** 2 < (size / 4) ** 2
    return np.where(disc, 3000, 500).astype(np.uint16), disc


def write_dicom(path, pixels: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int = 12, preamble: bool = True, **elements):
    """Write an uncompressed single-frame grayscale DICOM file (explicit VR little endian)."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "DX"
    dataset.PatientID = elements.pop("PatientID", "P0001")
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = photometric
    dataset.BitsAllocated = 16
    dataset.BitsStored = bits_stored
    dataset.HighBit = bits_stored - 1
    dataset.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    dataset.PixelData = np.ascontiguousarray(pixels).tobytes()
    dataset.save_as(path, enforce_file_format=preamble)
    return dataset


# ------------------------------------------------------------------ PNG / JPEG
def test_png16_keeps_full_range(tmp_path):
    ramp = np.tile(np.linspace(300, 60000, 64), (64, 1)).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)

    decoded = read_pixels(path)
    loaded = load_radiograph(path, size=64)

    assert decoded.bit_depth == 16
    assert decoded.pixels.max() == 60000
    assert loaded.image[:, 0].max() == 0
    assert loaded.image[:, -1].min() == 255
    assert np.all(np.diff(loaded.image[0].astype(int)) >= 0)
    assert len(np.unique(loaded.image)) > 60


def test_png16_low_values_not_truncated(tmp_path):
    """12-bit data in a 16-bit PNG (values up to 4095) must spread over 0..255, not clip at 255."""
    ramp = np.tile(np.arange(0, 4096, 64), (64, 1)).astype(np.uint16)
    path = tmp_path / "ramp12.png"
    Image.fromarray(ramp).save(path)

    image = load_radiograph(path, size=64).image

    assert image[0, 0] == 0
    assert image[0, -1] == 255
    assert image[0, 32] == pytest.approx(round(32 * 64 / 4032 * 255), abs=1)


def test_rgb_png_becomes_luminance(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (16, 16)).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(np.stack([gray] * 3, axis=-1)).save(tmp_path / "rgb.png")
    colour = np.zeros((4, 4, 3), dtype=np.uint8)
    colour[..., 1] = 200
    Image.fromarray(colour).save(tmp_path / "green.png")

    reference = read_pixels(tmp_path / "gray.png").pixels
    rgb = read_pixels(tmp_path / "rgb.png").pixels
    green = read_pixels(tmp_path / "green.png").pixels

    assert rgb.ndim == 2
    np.testing.assert_allclose(rgb, reference, atol=1e-9)
    np.testing.assert_allclose(green, 0.587 * 200)


def test_rgba_png_ignores_alpha(tmp_path):
    gray = np.random.default_rng(1).integers(0, 256, (16, 16)).astype(np.uint8)
    alpha = np.random.default_rng(2).integers(0, 256, (16, 16)).astype(np.uint8)
    Image.fromarray(np.dstack([gray, gray, gray, alpha])).save(tmp_path / "rgba.png")

    pixels = read_pixels(tmp_path / "rgba.png").pixels

    assert pixels.shape == (16, 16)
    np.testing.assert_allclose(pixels, gray.astype(float), atol=1e-9)


def test_jpeg_reads_as_gray(tmp_path):
    image = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "ramp.jpg", quality=95)

    decoded = read_pixels(tmp_path / "ramp.jpg")

    assert decoded.file_type == "jpeg"
    assert decoded.pixels.shape == (32, 32)
    assert np.abs(decoded.pixels - image).max() < 12


def test_text_file_raises_read_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")

    with pytest.raises(ImageReadError, match="not a PNG, JPEG, TIFF, BMP or DICOM file"):
        read_pixels(path)


def test_truncated_png_raises_read_error(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(ImageReadError, match="cut.png"):
        read_pixels(path)


def test_missing_file_raises_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="file not found"):
        read_pixels(tmp_path / "absent.png")


# ---------------------------------------------------------------------- DICOM
def test_monochrome1_dense_is_bright(tmp_path):
    dense, disc = phantom()
    stored = (4095 - dense).astype(np.uint16)  # MONOCHROME1: dense tissue stored dark
    write_dicom(tmp_path / "mono1.dcm", stored, photometric="MONOCHROME1")

    image = load_radiograph(tmp_path / "mono1.dcm", size=32).image

    assert image[disc].min() == 255
    assert image[~disc].max() == 0


def test_monochrome1_without_inversion_would_fail(tmp_path):
    """The same pixels stored as MONOCHROME2 must come out dark where the disc is."""
    dense, disc = phantom()
    write_dicom(tmp_path / "mono2.dcm", (4095 - dense).astype(np.uint16), photometric="MONOCHROME2")

    image = load_radiograph(tmp_path / "mono2.dcm", size=32).image

    assert image[disc].max() == 0


def test_bits_above_bits_stored_are_ignored(tmp_path):
    dense, _ = phantom()
    write_dicom(tmp_path / "clean.dcm", dense)
    write_dicom(tmp_path / "noisy.dcm", dense | np.uint16(0xF000))

    clean = read_pixels(tmp_path / "clean.dcm")
    noisy = read_pixels(tmp_path / "noisy.dcm")

    assert noisy.bit_depth == 12
    np.testing.assert_array_equal(noisy.pixels, clean.pixels)


def test_rescale_slope_intercept_applied(tmp_path):
    raw = np.arange(64, dtype=np.uint16).reshape(8, 8) * 10
    write_dicom(tmp_path / "rescaled.dcm", raw, RescaleSlope="2", RescaleIntercept="-1024", RescaleType="US")

    pixels = read_pixels(tmp_path / "rescaled.dcm").pixels

    np.testing.assert_allclose(pixels, raw * 2.0 - 1024.0)


def test_signed_pixels_read_with_sign(tmp_path):
    raw = (np.arange(64, dtype=np.int16).reshape(8, 8) - 32) * 10
    write_dicom(tmp_path / "signed.dcm", raw)

    pixels = read_pixels(tmp_path / "signed.dcm").pixels

    np.testing.assert_array_equal(pixels, raw.astype(float))


def test_voi_lut_window_applied_only_on_request(tmp_path):
    ramp = np.tile(np.arange(0, 4096, 64), (64, 1)).astype(np.uint16)
    write_dicom(tmp_path / "window.dcm", ramp, WindowCenter="1000", WindowWidth="400")

    plain = read_pixels(tmp_path / "window.dcm").pixels
    windowed = read_pixels(tmp_path / "window.dcm", voi_lut=True).pixels

    assert len(np.unique(plain[0])) == 64
    # Columns below 800 and above 1200 saturate under the window.
    assert np.all(windowed[0, ramp[0] <= 790] == windowed.min())
    assert np.all(windowed[0, ramp[0] >= 1210] == windowed.max())


def test_dicom_without_suffix_found_by_content(tmp_path):
    dense, disc = phantom()
    path = tmp_path / "IM000001"
    write_dicom(path, dense)

    decoded = read_pixels(path)

    assert is_dicom_file(path)
    assert decoded.file_type == "dicom"
    assert decoded.patient_id == "P0001"
    assert decoded.pixels[disc].min() == 3000


def test_dicom_with_png_suffix_found_by_content(tmp_path):
    dense, _ = phantom()
    path = tmp_path / "mislabelled.png"
    write_dicom(path, dense)

    assert read_pixels(path).file_type == "dicom"


def test_dicom_without_preamble_read(tmp_path):
    dense, _ = phantom()
    path = tmp_path / "raw_dataset"
    write_dicom(path, dense, preamble=False)

    decoded = read_pixels(path)

    assert not is_dicom_file(path)
    assert decoded.file_type == "dicom"
    assert decoded.pixels.max() == 3000


def _with_transfer_syntax(source, target, syntax, fragment: bytes):
    from pydicom.encaps import encapsulate

    dataset = pydicom.dcmread(source)
    dataset.file_meta.TransferSyntaxUID = syntax
    dataset.PixelData = encapsulate([fragment])
    dataset["PixelData"].VR = "OB"
    dataset.save_as(target)


def test_jpeg_ls_without_decoder_names_package(tmp_path):
    from pydicom.pixels import get_decoder

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed, so the missing-decoder message cannot be produced")
    dense, _ = phantom()
    write_dicom(tmp_path / "plain.dcm", dense)
    _with_transfer_syntax(tmp_path / "plain.dcm", tmp_path / "jpegls.dcm", JPEGLSLossless, b"\xff\xd8" + b"\x00" * 62)

    with pytest.raises(ImageReadError, match=r"JPEG-LS.*no installed decoder.*pip install (python-gdcm|pylibjpeg)"):
        read_pixels(tmp_path / "jpegls.dcm")


def test_jpeg2000_error_names_package(tmp_path):
    """A JPEG 2000 file that no installed decoder can decode names the packages to install."""
    dense, _ = phantom()
    write_dicom(tmp_path / "plain.dcm", dense)
    _with_transfer_syntax(tmp_path / "plain.dcm", tmp_path / "j2k.dcm", JPEG2000Lossless, b"\xff\x4f\xff\x51" + b"\x00" * 60)

    with pytest.raises(ImageReadError, match=r"j2k\.dcm.*JPEG 2000.*pip install .*(pylibjpeg-openjpeg|python-gdcm)"):
        read_pixels(tmp_path / "j2k.dcm")


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow was built without OpenJPEG")
def test_jpeg2000_decoded_with_pillow(tmp_path):
    import io

    dense, disc = phantom()
    image8 = (dense // 16).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image8).save(buffer, format="JPEG2000", irreversible=False, no_jp2=True)
    write_dicom(tmp_path / "plain.dcm", image8.astype(np.uint16), bits_stored=8)
    dataset = pydicom.dcmread(tmp_path / "plain.dcm")
    dataset.BitsAllocated = 8
    dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelData = image8.tobytes()
    dataset.save_as(tmp_path / "plain8.dcm")
    _with_transfer_syntax(tmp_path / "plain8.dcm", tmp_path / "j2k.dcm", JPEG2000Lossless, buffer.getvalue())

    pixels = read_pixels(tmp_path / "j2k.dcm").pixels

    np.testing.assert_array_equal(pixels, image8.astype(float))


def test_rle_compressed_matches_uncompressed(tmp_path):
    dense, _ = phantom()
    write_dicom(tmp_path / "plain.dcm", (4095 - dense).astype(np.uint16), photometric="MONOCHROME1")
    dataset = pydicom.dcmread(tmp_path / "plain.dcm")
    dataset.compress(RLELossless)
    dataset.save_as(tmp_path / "rle.dcm")

    plain = read_pixels(tmp_path / "plain.dcm").pixels
    compressed = read_pixels(tmp_path / "rle.dcm").pixels

    assert pydicom.dcmread(tmp_path / "rle.dcm").file_meta.TransferSyntaxUID == RLELossless
    np.testing.assert_array_equal(compressed, plain)


def test_multiframe_dicom_rejected(tmp_path):
    frames = np.zeros((2, 8, 8), dtype=np.uint16)
    dataset = write_dicom(tmp_path / "one.dcm", frames[0])
    dataset.NumberOfFrames = 2
    dataset.PixelData = frames.tobytes()
    dataset.save_as(tmp_path / "two.dcm")

    with pytest.raises(ImageReadError, match="2 frames"):
        read_pixels(tmp_path / "two.dcm")


def test_dicom_without_pixel_data_rejected(tmp_path):
    dense, _ = phantom()
    dataset = write_dicom(tmp_path / "full.dcm", dense)
    del dataset.PixelData
    dataset.save_as(tmp_path / "empty.dcm")

    with pytest.raises(ImageReadError, match="no PixelData"):
        read_pixels(tmp_path / "empty.dcm")


# ------------------------------------------------------------------- geometry
def test_square_window_crop_and_pad():
    assert square_window(100, 60, "crop") == SquareWindow(top=20, left=0, side=60)
    assert square_window(60, 100, "crop") == SquareWindow(top=0, left=20, side=60)
    assert square_window(60, 100, "pad") == SquareWindow(top=-20, left=0, side=100)
    with pytest.raises(ValueError, match="fit must be one of"):
        square_window(10, 10, "stretch")


def test_extract_square_pads_with_fill():
    image = np.ones((2, 4))

    square = extract_square(image, square_window(2, 4, "pad"), fill=-5.0)

    np.testing.assert_array_equal(square[0], [-5.0] * 4)
    np.testing.assert_array_equal(square[1:3], np.ones((2, 4)))
    np.testing.assert_array_equal(square[3], [-5.0] * 4)


def test_resize_is_area_average():
    checkerboard = (np.indices((64, 64)).sum(axis=0) % 2).astype(float)

    resized = resize_square(checkerboard, 16)

    np.testing.assert_allclose(resized, 0.5, atol=1e-6)


def test_load_crops_non_square_centre(tmp_path):
    image = np.zeros((40, 80), dtype=np.uint8)
    image[:, 20:60] = 200
    image[:, 39] = 100
    Image.fromarray(image).save(tmp_path / "wide.png")

    cropped = load_radiograph(tmp_path / "wide.png", size=40, fit="crop")
    padded = load_radiograph(tmp_path / "wide.png", size=80, fit="pad")

    assert cropped.window == SquareWindow(top=0, left=20, side=40)
    assert cropped.image[:, 19].max() == 0
    assert cropped.image[:, 0].min() == 255
    assert padded.image.shape == (80, 80)
    assert padded.image[:20].max() == 0
    assert padded.image[60:].max() == 0


def test_quantize_constant_gives_zeros():
    assert quantize_uint8(np.full((4, 4), 7.0)).max() == 0
    np.testing.assert_array_equal(quantize_uint8(np.array([[2.0, 4.0]])), [[0, 255]])


def test_mask_resized_with_image(tmp_path):
    mask = np.zeros((128, 128), dtype=np.uint8)
    mask[64:96, 96:128] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")

    small = load_mask(tmp_path / "mask.png", (128, 128), size=32)

    assert small.dtype == np.uint8
    assert small.sum() == 8 * 8
    assert small[16:24, 24:32].all()


def test_patient_orientation_column_direction(tmp_path):
    dense, _ = phantom()
    write_dicom(tmp_path / "usual.dcm", dense, PatientOrientation=["L", "F"])
    write_dicom(tmp_path / "mirrored.dcm", dense, PatientOrientation=["R", "F"])
    write_dicom(tmp_path / "unknown.dcm", dense)

    assert read_pixels(tmp_path / "usual.dcm").column_direction == "L"
    assert read_pixels(tmp_path / "mirrored.dcm").column_direction == "R"
    assert read_pixels(tmp_path / "unknown.dcm").column_direction is None
