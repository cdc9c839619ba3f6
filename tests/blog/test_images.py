"""Cover images are re-encoded before they are kept: no metadata, upright, a usable size, unreadable files refused."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from coaching.blog.images import MAX_SIDE, ImageRejected, cleaned_image, image_extension
from tests.factories import CAMERA_MAKE, IMAGE_FORMATS, XMP, noisy_png, opened, picture


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


# --- Colour profiles, comments and every other kind of metadata ---

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def red_blue_swapped_profile() -> bytes:
    """An RGB colour profile in which the first channel is blue and the third red: sRGB's, primaries swapped."""
    data = bytearray(SRGB_PROFILE)
    entries = {}
    for index in range(struct.unpack_from(">I", data, 128)[0]):
        at = 132 + 12 * index
        entries[bytes(data[at:at + 4])] = at
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    data[red + 4:red + 12], data[blue + 4:blue + 12] = data[blue + 4:blue + 12], data[red + 4:red + 12]
    data[84:100] = bytes(16)  # the profile's checksum, now wrong: all zeros means "not computed"
    return bytes(data)


def iptc_segment(text: bytes) -> bytes:
    """A JPEG APP13 segment (Photoshop IPTC, as newsroom and photo-library software write) naming a photographer."""
    dataset = b"\x1c\x02\x50" + struct.pack(">H", len(text)) + text  # IPTC 2:80, By-line
    payload = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(dataset)) + dataset
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def with_every_kind_of_metadata(extension: str, colour=(40, 120, 90), icc_profile: bytes = SRGB_PROFILE) -> bytes:
    """A 16 × 16 picture carrying a colour profile, EXIF, XMP, and each kind of text its format can hold."""
    exif = Image.Exif()
    exif[CAMERA_MAKE] = "PhoneCam"
    options: dict = {"icc_profile": icc_profile, "exif": exif}
    if extension == "jpg":
        options |= {"comment": b"Jane Client at home", "xmp": XMP, "extra": iptc_segment(b"Jane Client")}
    elif extension == "png":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", "Jane Client")  # tEXt
        text.add_text("Comment", "Jane Client at home", zip=True)  # zTXt
        text.add_itxt("Description", "Jane Client’s kitchen")  # iTXt
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options["pnginfo"] = text
    else:
        options |= {"xmp": XMP, "lossless": True}
    output = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(output, format=IMAGE_FORMATS[extension], **options)
    return output.getvalue()


def parts_of(data: bytes, extension: str) -> list[bytes]:
    """The segments of a JPEG (its markers, up to the picture data), or the chunk names of a PNG or WebP."""
    if extension == "png":
        parts, at = [], 8
        while at < len(data):
            length, kind = struct.unpack_from(">I4s", data, at)
            parts.append(kind)
            at += 12 + length
        return parts
    if extension == "webp":
        parts, at = [], 12
        while at < len(data):
            kind, length = struct.unpack_from("<4sI", data, at)
            parts.append(kind)
            at += 8 + length + length % 2
        return parts
    parts, at = [], 2
    while data[at + 1] != 0xDA:  # up to the start of the scan
        parts.append(data[at:at + 2])
        at += 2 + struct.unpack_from(">H", data, at + 2)[0]
    return parts


# What each format needs to show a picture; anything else in a kept file is metadata.
PICTURE_PARTS = {
    "jpg": {b"\xff\xe0", b"\xff\xdb", b"\xff\xc0", b"\xff\xc2", b"\xff\xc4", b"\xff\xdd"},  # JFIF, tables, frame
    "png": {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"},
    "webp": {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"},
}
METADATA_PARTS = {
    "jpg": {b"\xff\xfe", b"\xff\xe1", b"\xff\xe2", b"\xff\xed"},  # comment, EXIF/XMP, ICC, IPTC
    "png": {b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"eXIf"},
    "webp": {b"ICCP", b"EXIF", b"XMP "},
}


@pytest.mark.parametrize("extension", list(IMAGE_FORMATS))
def test_every_kind_of_metadata_is_removed(extension):
    """Does a picture with a colour profile, EXIF, XMP, a JPEG comment and IPTC, or PNG text come out with none?"""
    original = with_every_kind_of_metadata(extension)
    assert METADATA_PARTS[extension] & set(parts_of(original, extension))  # the test file really carries them
    cleaned, _ = cleaned_image(original)
    assert set(parts_of(cleaned, extension)) <= PICTURE_PARTS[extension]
    image = opened(cleaned)
    assert image.mode == "RGB" and image.size == (16, 16)
    for key in ("icc_profile", "comment", "exif", "xmp", "photoshop", "Author", "Comment", "Description"):
        assert key not in image.info, key
    for trace in (b"Jane Client", b"PhoneCam", b"Mill Lane", b"sRGB"):
        assert trace not in cleaned, trace


@pytest.mark.parametrize("extension", list(IMAGE_FORMATS))
def test_colours_are_turned_into_srgb_before_the_profile_is_dropped(extension):
    """Is red in a profile whose red is sRGB's blue kept as blue, so the picture looks the same without it?"""
    original = with_every_kind_of_metadata(extension, colour=(255, 0, 0), icc_profile=red_blue_swapped_profile())
    cleaned, _ = cleaned_image(original)
    red, green, blue = opened(cleaned).convert("RGB").getpixel((8, 8))
    assert red < 30 and green < 30 and blue > 225, (red, green, blue)
    assert "icc_profile" not in opened(cleaned).info


def test_a_picture_in_srgb_keeps_its_colours():
    """Does a picture already in sRGB keep its colours when its profile is dropped?"""
    cleaned, _ = cleaned_image(with_every_kind_of_metadata("png", colour=(40, 120, 90)))
    assert all(abs(a - b) <= 1 for a, b in zip(opened(cleaned).getpixel((0, 0)), (40, 120, 90), strict=True))


def test_transparency_survives_a_colour_profile():
    """Is a transparent PNG with a colour profile still transparent, its colours converted?"""
    output = io.BytesIO()
    Image.new("RGBA", (2, 2), (255, 0, 0, 0)).save(output, format="PNG", icc_profile=red_blue_swapped_profile())
    cleaned, _ = cleaned_image(output.getvalue())
    image = opened(cleaned)
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0 and "icc_profile" not in image.info


@pytest.mark.parametrize("profile", [b"not a colour profile", ImageCms.ImageCmsProfile(
    ImageCms.createProfile("LAB")).tobytes()], ids=["unreadable", "not RGB"])
def test_a_profile_that_cannot_be_used_is_dropped_and_the_picture_kept(profile):
    """Is a picture whose profile can't be read, or doesn't fit its pixels, kept as it is, without the profile?"""
    output = io.BytesIO()
    Image.new("RGB", (2, 2), (40, 120, 90)).save(output, format="PNG", icc_profile=profile)
    cleaned, _ = cleaned_image(output.getvalue())
    assert opened(cleaned).getpixel((0, 0)) == (40, 120, 90) and b"iCCP" not in cleaned
