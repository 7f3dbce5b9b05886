"""A1111 "stealth" metadata: generation text hidden in the lowest bit of each pixel.

The stealth_pnginfo extension (and NovelAI) write the bits column by column (x outer, y inner),
into the alpha channel or spread over red, green and blue: a 15-byte signature that says where
and whether the text is gzipped (``stealth_pnginfo``, ``stealth_pngcomp``, ``stealth_rgbinfo``,
``stealth_rgbcomp``), a 32-bit big-endian length in bits, then the text in UTF-8.

Reading it needs the pixels, which is dear: the caller asks only for a PNG with an alpha channel
whose text chunks say nothing of how it was made.
"""

from __future__ import annotations

import zlib

from PIL import Image

__all__ = ["read_stealth_text"]

_SIGNATURE_BITS = 15 * 8
_LENGTH_BITS = 32
# Where the text sits and whether it is gzipped, by signature.
_ALPHA_SIGNATURES = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
_RGB_SIGNATURES = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
# Each byte to the ASCII digit of its lowest bit, so that int(..., 2) does the packing in C.
_LSB_DIGIT = bytes(0x30 | (value & 1) for value in range(256))
# A payload is at most a few kilobytes of text; a larger one is not what we are looking for.
_MAX_TEXT_BYTES = 16 * 1024 * 1024


def _bits(stream: bytes, start: int, count: int) -> bytes:
    """``count`` bits (a multiple of 8) of the LSB stream from ``start``, packed into bytes."""
    digits = stream[start : start + count].translate(_LSB_DIGIT)
    return int(digits, 2).to_bytes(count // 8, "big")


def _payload(stream: bytes, compressed: bool) -> str | None:
    header = _SIGNATURE_BITS + _LENGTH_BITS
    length = int.from_bytes(_bits(stream, _SIGNATURE_BITS, _LENGTH_BITS), "big")
    if length == 0 or length % 8 or header + length > len(stream):
        return None
    data = _bits(stream, header, length)
    if compressed:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        try:
            data = inflater.decompress(data, _MAX_TEXT_BYTES)
        except zlib.error:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_stealth_text(image: Image.Image) -> str | None:
    """The text hidden in the image's pixel LSBs, or None when there is none.

    Raises what Pillow raises for pixels it cannot decode (``OSError``, ``SyntaxError``...).
    """
    width, height = image.size
    header = _SIGNATURE_BITS + _LENGTH_BITS
    # Transposing puts the pixels in column-major order, the order the bits were written in.
    if "A" in image.getbands() and width * height >= header:
        alpha = image.getchannel("A").transpose(Image.Transpose.TRANSPOSE).tobytes()
        compressed = _ALPHA_SIGNATURES.get(_bits(alpha, 0, _SIGNATURE_BITS))
        if compressed is not None:
            return _payload(alpha, compressed)
    if image.mode not in ("RGB", "RGBA") or width * height * 3 < header:
        return None
    rgb = image.convert("RGB").transpose(Image.Transpose.TRANSPOSE).tobytes()
    compressed = _RGB_SIGNATURES.get(_bits(rgb, 0, _SIGNATURE_BITS))
    if compressed is None:
        return None
    return _payload(rgb, compressed)
