"""Cover images: decoded and written afresh before they are kept, so nothing but the picture is published.

A phone photo carries EXIF (often the place it was taken, to the metre), XMP, a comment, IPTC, text
chunks and a colour profile. Re-encoding with Pillow drops all of it (the colours are first turned from
the profile into sRGB, which browsers assume without one), turns the picture the way EXIF says it was
held, scales it to a size a page can use, and means a file that only looks like an image is refused.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageCms, ImageOps

# Pillow's format names, and the file extension each is kept under.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 40_000_000  # refused before decoding: a few KB of PNG can claim to be 100,000 × 100,000
MAX_SIDE = 2400  # twice the widest a cover is shown at, for sharp screens
JPEG_QUALITY = 90
SRGB = ImageCms.createProfile("sRGB")
# The colour space (as an ICC profile names it) that fits the pixels of each mode a profile can convert.
PROFILE_SPACES = {"RGB": "RGB ", "RGBA": "RGB ", "L": "GRAY", "CMYK": "CMYK"}

NOT_A_PICTURE = "The image must be a JPEG, PNG or WebP picture. Choose a photo or image file"
TOO_MANY_PIXELS = "The image has more than 40 megapixels, more than this site can use. Choose a smaller one"
UNREADABLE = "The image could not be read: the file may be damaged or cut short. Save it again, or choose another"


class ImageRejected(ValueError):
    """The file is not a JPEG, PNG or WebP picture that can be read; the message says why, for the coach."""


def image_extension(data: bytes) -> str | None:
    """The file extension for JPEG, PNG or WebP bytes, judged by their first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def cleaned_image(data: bytes) -> tuple[bytes, str]:
    """The picture re-encoded in its own format without metadata, upright and at most MAX_SIDE px; and its extension."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it; refuse those as it refuses the rest.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise ImageRejected(TOO_MANY_PIXELS) from error
    except OSError as error:  # UnidentifiedImageError among them
        raise ImageRejected(UNREADABLE if image_extension(data) else NOT_A_PICTURE) from error
    with image:
        if image.format not in EXTENSIONS:
            raise ImageRejected(NOT_A_PICTURE)
        if image.width * image.height > MAX_PIXELS:
            raise ImageRejected(TOO_MANY_PIXELS)
        try:
            image.load()
            picture = ImageOps.exif_transpose(image)
            picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            picture = _in_srgb(picture, image.info.get("icc_profile"))
            return _encoded(picture, image), EXTENSIONS[image.format]
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageRejected(UNREADABLE) from error


def _in_srgb(picture: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The picture with its colours turned from its embedded profile into sRGB; as it is if it has no usable one."""
    if not icc_profile:
        return picture
    if picture.mode not in PROFILE_SPACES:  # a palette, or grey with transparency
        picture = picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if profile.profile.xcolor_space != PROFILE_SPACES[picture.mode]:
            return picture  # a profile for other pixels than these: ignored, as browsers ignore it
        return ImageCms.profileToProfile(picture, profile, SRGB, outputMode="RGBA" if picture.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return picture  # a profile that can't be read: the pixels taken as sRGB, as browsers take them


def _encoded(picture: Image.Image, original: Image.Image) -> bytes:
    """The picture saved in the original's format with nothing but its pixels (and which of them are clear)."""
    kind = original.format
    # Pillow writes some of what it read back out unless told otherwise (a JPEG's comment, a PNG's profile).
    picture.info = {key: value for key, value in picture.info.items() if key == "transparency"}
    options: dict = {}
    if kind == "JPEG":
        # A JPEG neither turned nor scaled keeps its own quantisation tables, so saving it again
        # (an export imported back, say) loses next to nothing.
        untouched = picture is original
        if picture.mode not in ("RGB", "L", "CMYK"):
            picture = picture.convert("RGB")
        options |= {"quality": "keep" if untouched else JPEG_QUALITY, "optimize": True}
    elif kind == "WEBP":
        if picture.mode not in ("RGB", "RGBA"):
            picture = picture.convert("RGBA" if picture.has_transparency_data else "RGB")
        options |= {"quality": JPEG_QUALITY}
    else:
        options |= {"optimize": True}
    output = io.BytesIO()
    picture.save(output, format=kind, **options)
    return output.getvalue()
