"""Cover images are re-encoded before they are kept: no metadata, upright, a usable size, unreadable files refused."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from coaching.images import MAX_SIDE, ImageRejected, cleaned_image, image_extension
from tests.factories import IMAGE_FORMATS, noisy_png, opened, picture


def png_with_text_chunk() -> bytes:
    """A 1×1 PNG carrying an author's name in a tEXt chunk, built chunk by chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"Author\x00Jane Client")
            + chunk(b"IDAT", zlib.compress(b"\x00\x1f\x5c\x4a")) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("data", "extension"), [
    (picture("jpg"), "jpg"), (picture("png"), "png"), (picture("webp"), "webp"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", None), (b"GIF89a\x01\x00", None), (b"<svg xmlns='x'/>", None),
    (b"\x89PNG", None), (b"", None), (b"just text named photo.jpg", None),
])
def test_images_are_recognised_by_their_first_bytes(data, extension):
    """Are JPEG, PNG and WebP known by their signatures, and anything else (WAV, GIF, SVG, text) refused?"""
    assert image_extension(data) == extension


@pytest.mark.parametrize("extension", list(IMAGE_FORMATS))
def test_location_camera_and_xmp_are_removed(extension):
    """Does a photo with GPS, a camera make and XMP come out in its own format with none of them?"""
    original = picture(extension, located=True)
    assert opened(original).getexif()  # the test photo really carries EXIF
    cleaned, kept_as = cleaned_image(original)
    image = opened(cleaned)
    assert kept_as == extension and image.format == IMAGE_FORMATS[extension] and image.size == (4, 3)
    assert not image.getexif() and "exif" not in image.info and "xmp" not in image.info
    assert b"Mill Lane" not in cleaned and b"PhoneCam" not in cleaned


def test_png_text_chunks_are_removed():
    """Is a name written into a PNG's text chunk gone from the kept file?"""
    original = png_with_text_chunk()
    assert opened(original).info["Author"] == "Jane Client"
    cleaned, _ = cleaned_image(original)
    assert b"Jane Client" not in cleaned and "Author" not in opened(cleaned).info


def test_a_photo_held_sideways_is_turned_upright():
    """Is a photo whose EXIF says "rotated 90°" kept already turned, since the EXIF that said so is gone?"""
    cleaned, _ = cleaned_image(picture("jpg", (40, 30), turned=True))
    assert opened(cleaned).size == (30, 40)


def test_a_large_photo_is_scaled_to_a_usable_size():
    """Is a 4800 × 3000 photo kept at most MAX_SIDE wide, its shape unchanged?"""
    cleaned, _ = cleaned_image(picture("jpg", (4800, 3000)))
    assert opened(cleaned).size == (MAX_SIDE, 1500)


def test_transparency_survives_in_png_and_webp():
    """Does a transparent PNG or WebP stay transparent?"""
    for extension in ("png", "webp"):
        output = io.BytesIO()
        Image.new("RGBA", (2, 2), (0, 0, 0, 0)).save(output, format=IMAGE_FORMATS[extension], lossless=True)
        cleaned, _ = cleaned_image(output.getvalue())
        assert opened(cleaned).convert("RGBA").getpixel((0, 0))[3] == 0, extension


def test_saving_a_clean_jpeg_again_changes_nothing():
    """Is a JPEG the site already cleaned kept byte for byte when it comes back (an export imported again)?"""
    once, _ = cleaned_image(picture("jpg", (64, 48)))
    assert cleaned_image(once)[0] == once


@pytest.mark.parametrize(("data", "message"), [
    (b"just some text\n", "must be a JPEG, PNG or WebP picture"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "must be a JPEG, PNG or WebP picture"),
    (picture("jpg", (64, 64))[:200], "could not be read"),
    (noisy_png()[:2000], "could not be read"),
])
def test_files_that_are_not_readable_pictures_are_refused_with_a_reason(data, message):
    """Are text, a GIF and cut-short files refused with a message that says what is wrong?"""
    with pytest.raises(ImageRejected, match=message):
        cleaned_image(data)


@pytest.mark.parametrize("side", [7000, 10_000, 20_000])
def test_a_picture_claiming_too_many_pixels_is_refused_before_decoding(side):
    """Is a small file that claims 49, 100 or 400 megapixels refused (no decompression bomb, no warning)?"""
    output = io.BytesIO()
    Image.new("1", (side, side)).save(output, format="PNG")
    assert len(output.getvalue()) < 5 * 1024 * 1024
    with pytest.raises(ImageRejected, match="more than 40 megapixels"):
        cleaned_image(output.getvalue())
