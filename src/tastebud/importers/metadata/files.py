"""The container layer: the texts a PNG, JPEG or WebP file carries, its size, whether it is whole.

A PNG's chunks are walked with seeks (text chunks may follow the image data, and Pillow would
decode the pixels to reach them); JPEG and WebP are opened lazily with Pillow for their EXIF
(UserComment in UTF-16 of either byte order or another charset, MakerNote, Software) or JPEG
comment. What comes out is texts by key, as a PNG's text chunks give them, for the readers to
recognise. The stealth text hidden in a PNG's pixels is read here too, but only when asked for.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

from tastebud.importers.metadata.stealth import read_stealth_text
from tastebud.importers.metadata.value import Unreadable

__all__ = ["Container", "read_container", "stealth_texts"]

_TRUNCATED = "truncated image file"


@dataclass(slots=True)
class Container:
    """What the file's container gives besides the metadata text."""

    texts: dict[str, str]
    width: int | None = None
    height: int | None = None
    may_hide_stealth: bool = False


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_WANTED = frozenset({b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"IEND"})
_MAX_CHUNK = 0x7FFFFFFF  # the PNG spec's limit on a chunk's length
# A ComfyUI workflow can run to a few megabytes; a text beyond this is an attack, not metadata.
_MAX_TEXT = 64 * 1024 * 1024
_MAX_STEALTH = 64_000_000  # pixels
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_MAKER_NOTE = 0x927C
_SOFTWARE = 0x0131


def read_container(file: IO[bytes]) -> Container:
    head = file.read(16)
    if not head:
        raise Unreadable("not an image (empty file)")
    if head.startswith(_PNG_SIGNATURE):
        return _read_png(file)
    return _read_with_pillow(file, head)


def _read_png(file: IO[bytes]) -> Container:
    """Walk the chunks to IEND: text chunks, the size, whether there is alpha, whether it is whole.

    The image data is skipped with a seek per chunk, which costs microseconds where reading the file
    or letting Pillow load it would cost milliseconds.
    """
    file.seek(len(_PNG_SIGNATURE))
    container = Container({})
    total_text = 0
    exif: bytes | None = None
    while True:
        header = file.read(8)
        if len(header) < 8:
            raise Unreadable(_TRUNCATED)
        length, kind = struct.unpack(">I4s", header)
        if length > _MAX_CHUNK:
            raise Unreadable("corrupt image file (impossible chunk length)")
        if kind not in _PNG_WANTED:
            file.seek(length + 4, os.SEEK_CUR)
            continue
        body = file.read(length + 4)
        if len(body) < length + 4:
            raise Unreadable(_TRUNCATED)
        data = body[:length]
        if zlib.crc32(kind + data) != int.from_bytes(body[length:], "big"):
            raise Unreadable(f"corrupt image file (bad checksum in the {kind.decode()} chunk)")
        if kind == b"IEND":
            break
        if kind == b"IHDR":
            if length < 13:
                raise Unreadable("corrupt image file (short IHDR chunk)")
            width, height, _depth, color_type = struct.unpack(">IIBB", data[:10])
            container.width, container.height = width, height
            # 4 is grey with alpha, 6 is RGB with alpha: where stealth text can hide. Beyond some
            # size, decoding the pixels to look is not worth it.
            container.may_hide_stealth = color_type in (4, 6) and width * height <= _MAX_STEALTH
        elif kind == b"eXIf":
            exif = data
        else:
            total_text += length
            if total_text > _MAX_TEXT:
                raise Unreadable("corrupt image file (too much text)")
            key, text = _png_text(kind, data)
            if key and text is not None:
                container.texts.setdefault(key, text)
    if container.width is None:
        raise Unreadable("corrupt image file (no IHDR chunk)")
    if exif is not None and not container.texts:
        exif_data = Image.Exif()
        try:
            exif_data.load(exif)
        except Exception:  # noqa: BLE001  Pillow's EXIF parser raises many types on bad data
            raise Unreadable("corrupt image file (unreadable eXIf chunk)") from None
        container.texts.update(_exif_texts(exif_data))
    return container


def _png_text(kind: bytes, data: bytes) -> tuple[str, str | None]:
    key_bytes, _, rest = data.partition(b"\0")
    key = key_bytes.decode("latin-1")
    if kind == b"tEXt":
        return key, _decode_text(rest)
    if kind == b"zTXt":
        return key, _decode_text(_inflate(rest[1:]))
    # iTXt: compression flag, method, language tag \0, translated keyword \0, UTF-8 text.
    if len(rest) < 2:
        return key, None
    compressed = rest[0] == 1
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return key, _decode_text(_inflate(text) if compressed else text)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, _MAX_TEXT)
    except zlib.error:
        raise Unreadable("corrupt image file (a compressed text chunk does not inflate)") from None
    return text


def _decode_text(raw: bytes) -> str:
    """A text chunk's bytes as text: UTF-8 where they are, else Latin-1 as the PNG spec says.

    Many tools write UTF-8 into tEXt, which Pillow would read as Latin-1 ("テスト" as "ãã¹ã");
    Latin-1 text with accents is almost never valid UTF-8, so trying UTF-8 first is safe.
    """
    raw = raw.rstrip(b"\0")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_with_pillow(file: IO[bytes], head: bytes) -> Container:
    file.seek(0)
    try:
        image = Image.open(file)
    except UnidentifiedImageError:
        raise Unreadable("not an image (cannot identify image file)") from None
    except Image.DecompressionBombError:
        raise Unreadable("image too large to open safely") from None
    except Exception as error:  # noqa: BLE001  Pillow's plugins raise many types on bad data
        raise Unreadable(f"corrupt image file ({error})") from None
    with image:
        _check_whole(file, image, head)
        try:
            texts = _exif_texts(image.getexif())
        except Exception:  # noqa: BLE001  as above, for the EXIF parser
            raise Unreadable("corrupt image file (unreadable EXIF)") from None
        comment = image.info.get("comment")
        if not texts and isinstance(comment, bytes | str):
            # A JPEG COM segment: some tools write the A1111 text there.
            text = _decode_text(comment) if isinstance(comment, bytes) else comment
            if text.strip():
                texts["parameters"] = text
        width, height = image.size
    return Container(texts, width, height)


def _check_whole(file: IO[bytes], image: Image.Image, head: bytes) -> None:
    """Raise for a JPEG or WebP whose bytes stop before the format's end."""
    size = os.fstat(file.fileno()).st_size
    if image.format == "WEBP":
        if size < 8 + int.from_bytes(head[4:8], "little"):
            raise Unreadable(_TRUNCATED)
        return
    if image.format not in ("JPEG", "MPO"):
        return
    file.seek(max(0, size - 64))
    # 0xFF 0xD9 (end of image) cannot occur inside entropy-coded data, so a whole JPEG has it
    # near its end. Without it, decoding decides: some writers pad or append after it.
    if b"\xff\xd9" in file.read(64):
        return
    try:
        image.load()
    except Exception:  # noqa: BLE001  a truncated or corrupt scan raises OSError or worse
        raise Unreadable(_TRUNCATED) from None


def _exif_texts(exif: Image.Exif) -> dict[str, str]:
    """The EXIF fields generators write to: UserComment as ``parameters``, Fooocus' scheme."""
    texts: dict[str, str] = {}
    sub = exif.get_ifd(_EXIF_IFD)
    # A1111 and most tools write UserComment into the Exif sub-IFD; Fooocus into IFD0.
    comment = sub.get(_USER_COMMENT, exif.get(_USER_COMMENT))
    if isinstance(comment, bytes | str):
        text = _decode_user_comment(comment)
        if text.strip():
            texts["parameters"] = text
    scheme = sub.get(_MAKER_NOTE, exif.get(_MAKER_NOTE))
    if isinstance(scheme, bytes):
        scheme = _decode_text(scheme)
    if isinstance(scheme, str) and scheme.strip().lower() in ("fooocus", "a1111"):
        texts["fooocus_scheme"] = scheme.strip().lower()
    software = exif.get(_SOFTWARE)
    if isinstance(software, str) and software.strip("\0 "):
        texts["Software"] = software.strip("\0 ")
    return texts


def _decode_user_comment(value: bytes | str) -> str:
    """An EXIF UserComment as text: an 8-byte charset prefix, then the bytes in that charset."""
    if isinstance(value, str):
        return value.strip("\0")
    prefix, body = value[:8], value[8:]
    if prefix == b"UNICODE\0":
        return _decode_utf16(body).strip("\0")
    if prefix in (b"ASCII\0\0\0", b"\0" * 8):
        return _decode_text(body)
    if prefix == b"JIS\0\0\0\0\0":
        return body.decode("cp932", errors="replace").strip("\0")
    if value[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _decode_utf16(value).strip("\0")
    return _decode_text(value)


def _decode_utf16(body: bytes) -> str:
    """UTF-16 of either byte order: A1111 writes big-endian, other tools little-endian."""
    if body[:2] == b"\xfe\xff":
        return body[2:].decode("utf-16-be", errors="replace")
    if body[:2] == b"\xff\xfe":
        return body[2:].decode("utf-16-le", errors="replace")
    if len(body) % 2:
        body = body[:-1]
    # Metadata is mostly ASCII, whose high byte is zero: the zeros' side gives the byte order.
    sample = body[:4096]
    big_endian = sample[0::2].count(0) > sample[1::2].count(0)
    return body.decode("utf-16-be" if big_endian else "utf-16-le", errors="replace")


def stealth_texts(file: IO[bytes]) -> dict[str, str]:
    file.seek(0)
    try:
        with Image.open(file, formats=("PNG",)) as image:
            text = read_stealth_text(image)
    except Exception as error:  # noqa: BLE001  Pillow's decoders raise many types on bad data
        raise Unreadable(f"corrupt image file ({error})") from None
    if text is None:
        return {}
    # NovelAI hides its PNG text chunks as one JSON object; A1111 hides its parameters text.
    if text.startswith("{"):
        try:
            chunks = json.loads(text)
        except ValueError:
            chunks = None
        if isinstance(chunks, dict) and ("Comment" in chunks or "Software" in chunks):
            return {
                str(key): value if isinstance(value, str) else json.dumps(value)
                for key, value in chunks.items()
            }
    return {"parameters": text}
