"""Generation metadata out of PNG, JPEG and WebP files, whatever tool wrote it, as one value.

Every tool hides the same few facts (prompt, checkpoint, LoRAs, seed...) in its own way:

* Automatic1111 / Forge / reForge: a ``parameters`` text, in a PNG text chunk or the EXIF
  UserComment of a JPEG or WebP (UTF-16), or "stealth" in the alpha channel's lowest bits;
  Civitai's on-site generator writes the same text with a ``Civitai resources`` list;
* ComfyUI: the ``prompt`` graph (node id -> class_type and inputs), walked from the sampler;
  Civitai's ComfyUI-based generator writes such a graph with ``urn:air:`` model ids;
* InvokeAI (``invokeai_metadata``, the older ``sd-metadata`` and ``Dream``), NovelAI
  (``Software``, ``Source``, ``Comment``), Fooocus, RuinedFooocus, SwarmUI
  (``sui_image_params``) and Tensor.Art (``generation_data``): JSON of their own.

The library sd-parsers reads InvokeAI's older formats, NovelAI and Fooocus well; what it returns is
normalised here. The rest is read by hand: sd-parsers leaves ``<lora:...>`` tags in A1111 prompts,
splits ``Lora hashes`` at the commas inside its quotes, returns A1111 values as strings, knows
neither SwarmUI, RuinedFooocus, Civitai nor Tensor.Art, and on a ComfyUI graph finds one model per
sampler, no LoRA, and crashes where the model comes through another node (a LoRA loader).

Speed: the files are read, never decoded. A PNG's chunks are walked with seeks (text chunks may
follow the image data, and Pillow would decode the pixels to reach them); JPEG and WebP are opened
lazily with Pillow for their EXIF. Only a PNG with an alpha channel and no generation metadata in
its text is decoded, to look for stealth metadata.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any, TypeVar

from PIL import Image, UnidentifiedImageError
from sd_parsers.data import PromptInfo
from sd_parsers.exceptions import ParserError
from sd_parsers.parsers import FooocusParser, InvokeAIParser, NovelAIParser, Parser

from tastebud.errors import InvalidInput, TastebudError
from tastebud.importers.stealth import read_stealth_text
from tastebud.names import model_key

__all__ = [
    "GENERATORS",
    "ImageMetadata",
    "LoraRef",
    "ModelRef",
    "UnreadableImage",
    "load_hash_map",
    "read_metadata",
]

_T = TypeVar("_T")

GENERATORS = (
    "A1111",
    "ComfyUI",
    "InvokeAI",
    "NovelAI",
    "Fooocus",
    "RuinedFooocus",
    "SwarmUI",
    "Civitai",
    "Tensor.Art",
)


# --- The value ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A checkpoint as the file names it.

    ``name`` is as written (``v1-5-pruned-emaonly.ckpt``, ``realistic_realisticVisionV20_v20``, a
    Civitai ``urn:air:...`` id); where a file gives only a hash that no hash map knows, the name is
    that hash. ``hash`` is the file's hash where given (A1111's short ``Model hash``, a SHA-256,
    a Civitai AIR id), hex in lower case.
    """

    name: str
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class LoraRef:
    """A LoRA (or LyCORIS) with its model strength, 1.0 where the file gives none."""

    name: str
    strength: float = 1.0
    hash: str | None = None


_Ref = TypeVar("_Ref", ModelRef, LoraRef)


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """What one image file says of how it was made, the same whatever tool wrote it."""

    generator: str  # one of GENERATORS
    prompt: str  # positive prompt without <lora:...> / <lyco:...> tags, other syntax as written
    negative_prompt: str | None = None
    checkpoints: tuple[ModelRef, ...] = ()  # main first: base before refiner, first in a merge
    loras: tuple[LoraRef, ...] = ()
    embeddings: tuple[str, ...] = ()  # textual inversions named in the prompts, file stems
    seed: int | None = None
    sampler: str | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: checkpoints and LoRAs as lists of dicts, None fields kept."""
        return {
            "generator": self.generator,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "checkpoints": [{"name": c.name, "hash": c.hash} for c in self.checkpoints],
            "loras": [
                {"name": lora.name, "strength": lora.strength, "hash": lora.hash}
                for lora in self.loras
            ],
            "embeddings": list(self.embeddings),
            "seed": self.seed,
            "sampler": self.sampler,
            "steps": self.steps,
            "cfg_scale": self.cfg_scale,
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageMetadata:
        """The value ``to_dict`` gave; raises InvalidInput naming the first field that is wrong."""
        checkpoints = tuple(
            ModelRef(
                _field(item, "name", str, f"checkpoints[{i}]"),
                _optional(item, "hash", str, f"checkpoints[{i}]"),
            )
            for i, item in enumerate(_items(data, "checkpoints"))
        )
        loras = tuple(
            LoraRef(
                _field(item, "name", str, f"loras[{i}]"),
                _number(_optional(item, "strength", float, f"loras[{i}]"), 1.0),
                _optional(item, "hash", str, f"loras[{i}]"),
            )
            for i, item in enumerate(_items(data, "loras"))
        )
        embeddings = data.get("embeddings") or []
        if not isinstance(embeddings, list) or not all(isinstance(e, str) for e in embeddings):
            raise InvalidInput("embeddings", "must be a list of strings")
        cfg_scale = _optional(data, "cfg_scale", float, "")
        return cls(
            generator=_field(data, "generator", str, ""),
            prompt=_field(data, "prompt", str, ""),
            negative_prompt=_optional(data, "negative_prompt", str, ""),
            checkpoints=checkpoints,
            loras=loras,
            embeddings=tuple(embeddings),
            seed=_optional(data, "seed", int, ""),
            sampler=_optional(data, "sampler", str, ""),
            steps=_optional(data, "steps", int, ""),
            cfg_scale=None if cfg_scale is None else float(cfg_scale),
            width=_optional(data, "width", int, ""),
            height=_optional(data, "height", int, ""),
        )


def _number(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise InvalidInput(key, "must be a list of objects")
    return items


def _field(data: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T:
    value = _optional(data, key, kind, where)
    if value is None:
        raise InvalidInput(f"{where}.{key}" if where else key, "is required")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T | None:
    value = data.get(key)
    if value is None:
        return None
    # JSON has one number type: an integral float is fine where an int is asked, an int where a
    # float is; a bool is neither.
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # type: ignore[return-value]  # int is accepted where float is asked
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise InvalidInput(f"{where}.{key}" if where else key, f"must be {kind.__name__}")


class UnreadableImage(TastebudError):
    """A file that gives no generation metadata: not an image, cut short, corrupt, or silent.

    ``reason`` is a short sentence for the person importing ("truncated image file", "no
    generation metadata"); ``str(error)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# --- Reading a file -------------------------------------------------------------------------

_TRUNCATED = "truncated image file"
_NO_METADATA = "no generation metadata"


class _Unreadable(Exception):
    """Raised inside the module with the reason; read_metadata adds the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_metadata(
    path: str | os.PathLike[str], *, hashes: Mapping[str, str] | None = None
) -> ImageMetadata:
    """The generation metadata of the image file at ``path``.

    ``hashes`` maps an A1111 ``Model hash`` (8, 10 or 64 hex digits, lower case) to a model name,
    for checkpoints that a file gives by hash only.

    Raises UnreadableImage for a file that cannot be read, is not an image, is truncated or
    corrupt, or carries no generation metadata.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb", buffering=0) as file:
            image = _read_container(file)
            draft = _interpret(image.texts)
            if draft is None and image.may_hide_stealth:
                draft = _interpret(_stealth_texts(file))
    except _Unreadable as error:
        raise UnreadableImage(name, error.reason) from None
    except FileNotFoundError:
        raise UnreadableImage(name, "no such file") from None
    except IsADirectoryError:
        raise UnreadableImage(name, "a folder, not an image file") from None
    except OSError as error:
        raise UnreadableImage(name, f"cannot be read ({error.strerror or error})") from None
    if draft is None:
        raise UnreadableImage(name, _NO_METADATA)
    return _finish(draft, image, hashes)


def load_hash_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """Hash -> model name from a JSON file: ``{"hash_to_model": {...}}`` or a plain object.

    Keys come back lower-cased. Raises OSError for a file that cannot be read and InvalidInput for
    one that is not such a map.
    """
    with open(path, encoding="utf-8") as file:
        try:
            data = json.load(file)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidInput(os.fspath(path), f"not JSON ({error})") from None
    table = data.get("hash_to_model", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InvalidInput(os.fspath(path), 'expected {"hash_to_model": {hash: name}}')
    return {
        str(key).strip().lower(): value.strip()
        for key, value in table.items()
        if isinstance(value, str) and value.strip()
    }


@dataclass(slots=True)
class _Container:
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


def _read_container(file: IO[bytes]) -> _Container:
    head = file.read(16)
    if not head:
        raise _Unreadable("not an image (empty file)")
    if head.startswith(_PNG_SIGNATURE):
        return _read_png(file)
    return _read_with_pillow(file, head)


def _read_png(file: IO[bytes]) -> _Container:
    """Walk the chunks to IEND: text chunks, the size, whether there is alpha, whether it is whole.

    The image data is skipped with a seek per chunk, which costs microseconds where reading the file
    or letting Pillow load it would cost milliseconds.
    """
    file.seek(len(_PNG_SIGNATURE))
    container = _Container({})
    total_text = 0
    exif: bytes | None = None
    while True:
        header = file.read(8)
        if len(header) < 8:
            raise _Unreadable(_TRUNCATED)
        length, kind = struct.unpack(">I4s", header)
        if length > _MAX_CHUNK:
            raise _Unreadable("corrupt image file (impossible chunk length)")
        if kind not in _PNG_WANTED:
            file.seek(length + 4, os.SEEK_CUR)
            continue
        body = file.read(length + 4)
        if len(body) < length + 4:
            raise _Unreadable(_TRUNCATED)
        data = body[:length]
        if zlib.crc32(kind + data) != int.from_bytes(body[length:], "big"):
            raise _Unreadable(f"corrupt image file (bad checksum in the {kind.decode()} chunk)")
        if kind == b"IEND":
            break
        if kind == b"IHDR":
            if length < 13:
                raise _Unreadable("corrupt image file (short IHDR chunk)")
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
                raise _Unreadable("corrupt image file (too much text)")
            key, text = _png_text(kind, data)
            if key and text is not None:
                container.texts.setdefault(key, text)
    if container.width is None:
        raise _Unreadable("corrupt image file (no IHDR chunk)")
    if exif is not None and not container.texts:
        exif_data = Image.Exif()
        try:
            exif_data.load(exif)
        except Exception:  # noqa: BLE001  Pillow's EXIF parser raises many types on bad data
            raise _Unreadable("corrupt image file (unreadable eXIf chunk)") from None
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
        raise _Unreadable("corrupt image file (a compressed text chunk does not inflate)") from None
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


def _read_with_pillow(file: IO[bytes], head: bytes) -> _Container:
    file.seek(0)
    try:
        image = Image.open(file)
    except UnidentifiedImageError:
        raise _Unreadable("not an image (cannot identify image file)") from None
    except Image.DecompressionBombError:
        raise _Unreadable("image too large to open safely") from None
    except Exception as error:  # noqa: BLE001  Pillow's plugins raise many types on bad data
        raise _Unreadable(f"corrupt image file ({error})") from None
    with image:
        _check_whole(file, image, head)
        try:
            texts = _exif_texts(image.getexif())
        except Exception:  # noqa: BLE001  as above, for the EXIF parser
            raise _Unreadable("corrupt image file (unreadable EXIF)") from None
        comment = image.info.get("comment")
        if not texts and isinstance(comment, bytes | str):
            # A JPEG COM segment: some tools write the A1111 text there.
            text = _decode_text(comment) if isinstance(comment, bytes) else comment
            if text.strip():
                texts["parameters"] = text
        width, height = image.size
    return _Container(texts, width, height)


def _check_whole(file: IO[bytes], image: Image.Image, head: bytes) -> None:
    """Raise for a JPEG or WebP whose bytes stop before the format's end."""
    size = os.fstat(file.fileno()).st_size
    if image.format == "WEBP":
        if size < 8 + int.from_bytes(head[4:8], "little"):
            raise _Unreadable(_TRUNCATED)
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
        raise _Unreadable(_TRUNCATED) from None


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


def _stealth_texts(file: IO[bytes]) -> dict[str, str]:
    file.seek(0)
    try:
        with Image.open(file, formats=("PNG",)) as image:
            text = read_stealth_text(image)
    except Exception as error:  # noqa: BLE001  Pillow's decoders raise many types on bad data
        raise _Unreadable(f"corrupt image file ({error})") from None
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


# --- From texts to a draft ------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """What one reader found; ``_finish`` turns it into an ImageMetadata.

    A checkpoint known only by hash has the name "" here. ``lora_hashes`` maps a LoRA name to its
    hash for LoRAs named elsewhere (A1111's ``Lora hashes``).
    """

    generator: str
    prompt: str = ""
    negative: str = ""
    checkpoints: list[ModelRef] = field(default_factory=list)
    loras: list[LoraRef] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    lora_hashes: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    sampler: str | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None

    def fill_from(self, other: _Draft | None) -> _Draft:
        """Take from ``other`` what this draft lacks; its models only lend their hashes."""
        if other is None:
            return self
        self.prompt = self.prompt or other.prompt
        self.negative = self.negative or other.negative
        self.seed = _first_set(self.seed, other.seed)
        self.sampler = _first_set(self.sampler, other.sampler)
        self.steps = _first_set(self.steps, other.steps)
        self.cfg_scale = _first_set(self.cfg_scale, other.cfg_scale)
        self.width = _first_set(self.width, other.width)
        self.height = _first_set(self.height, other.height)
        self.checkpoints = _lend_hashes(self.checkpoints, other.checkpoints)
        self.loras = _lend_hashes(self.loras, other.loras)
        for name in other.embeddings:
            if name not in self.embeddings:
                self.embeddings.append(name)
        for name, value in other.lora_hashes.items():
            self.lora_hashes.setdefault(name, value)
        return self


def _first_set(value: _T | None, fallback: _T | None) -> _T | None:
    return fallback if value is None else value


def _lend_hashes(mine: list[_Ref], theirs: list[_Ref]) -> list[_Ref]:
    if not mine:
        return list(theirs)
    known = {model_key(ref.name): ref.hash for ref in theirs if ref.name and ref.hash}
    return [
        ref if ref.hash or model_key(ref.name) not in known else _with_hash(ref, known)
        for ref in mine
    ]


def _with_hash(ref: _Ref, known: Mapping[str, str | None]) -> _Ref:
    value = known[model_key(ref.name)]
    if isinstance(ref, ModelRef):
        return ModelRef(ref.name, value)
    return LoraRef(ref.name, ref.strength, value)


_Reader = Callable[[Mapping[str, str]], "_Draft | None"]
# What reading JSON of an unexpected shape raises, here or in sd-parsers.
_SHAPE_ERRORS = (
    ParserError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
)


def _interpret(texts: Mapping[str, str]) -> _Draft | None:
    """The first reader that recognises the texts; None when none does.

    Readers are tried from the most specific marker to the least: a SwarmUI or Tensor.Art file
    also carries a ComfyUI graph, and a ComfyUI file may carry an A1111 text beside its graph.
    """
    if not texts:
        return None
    failure: Exception | None = None
    for reader in _READERS:
        try:
            draft = reader(texts)
        except _SHAPE_ERRORS as error:
            failure = failure or error  # a shape we did not expect: another reader may know it
            continue
        if draft is not None:
            return draft
    if failure is not None:
        detail = f"{type(failure).__name__}: {failure}"
        raise _Unreadable(f"unreadable generation metadata ({detail[:120]})")
    return None


def _json_object(text: str | None) -> dict[str, Any] | None:
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@cache
def _sd_parsers() -> dict[str, Parser]:
    """sd-parsers' parsers for the formats it reads right, built on first use."""
    return {"InvokeAI": InvokeAIParser(), "NovelAI": NovelAIParser(), "Fooocus": FooocusParser()}


def _from_prompt_info(info: PromptInfo, generator: str) -> _Draft:
    """Normalise what sd-parsers returns: its values may be strings, its prompts lists."""
    draft = _Draft(generator)
    draft.prompt = ", ".join(p.value.strip() for p in info.prompts if p.value.strip())
    draft.negative = ", ".join(p.value.strip() for p in info.negative_prompts if p.value.strip())
    for sampler in info.samplers:
        draft.sampler = draft.sampler or _text(sampler.name)
        parameters = sampler.parameters
        draft.seed = _first_set(draft.seed, _int(parameters.get("seed")))
        draft.steps = _first_set(draft.steps, _int(parameters.get("steps")))
        draft.cfg_scale = _first_set(draft.cfg_scale, _float(parameters.get("cfg_scale")))
        model = sampler.model
        if model is not None and (model.name or model.hash):
            draft.checkpoints.append(ModelRef(model.name or "", _hash(model.hash)))
    metadata = info.metadata
    draft.steps = _first_set(draft.steps, _int(metadata.get("steps")))
    draft.width = _int(metadata.get("width"))
    draft.height = _int(metadata.get("height"))
    return draft


# Synonyms of the same fact across the JSON formats (Fooocus, RuinedFooocus, SwarmUI, InvokeAI,
# NovelAI's Comment, Tensor.Art, Civitai's extraMetadata).
_PROMPT_KEYS = ("prompt", "Prompt", "positive_prompt", "positivePrompt")
_NEGATIVE_KEYS = ("negative_prompt", "negativePrompt", "negativeprompt", "Negative", "uc")
_CFG_KEYS = ("cfg_scale", "cfgscale", "cfgScale", "cfg", "guidance_scale", "scale")
_SAMPLER_KEYS = ("sampler", "sampler_name", "samplerName", "ksamplerName", "scheduler")
_MODEL_KEYS = ("model", "base_model", "base_model_name", "baseModel", "Model")
_REFINER_KEYS = ("refiner_model", "refiner_model_name", "refinermodel", "refinerModel")
_MODEL_NAME_KEYS = ("model_name", "name", "modelFileName", "label", "model")
_LORA_NAME_KEYS = ("name", "model_name", "lora_name", "lora", "modelFileName", "label", "model")
_WEIGHT_KEYS = ("weight", "strength", "model_strength", "strength_model")


def _json_draft(data: Mapping[str, Any], generator: str) -> _Draft:
    """The facts of a flat JSON object, under whichever of the usual keys it uses."""
    draft = _Draft(generator)
    draft.prompt = _text(_first(data, _PROMPT_KEYS)) or ""
    draft.negative = _text(_first(data, _NEGATIVE_KEYS)) or ""
    seed = _int(data.get("seed"))
    draft.seed = seed if seed is not None and seed >= 0 else None  # -1 asks for a random one
    draft.steps = _int(data.get("steps"))
    draft.cfg_scale = _float(_first(data, _CFG_KEYS))
    draft.sampler = _text(_first(data, _SAMPLER_KEYS))
    draft.width = _int(data.get("width"))
    draft.height = _int(data.get("height"))
    if draft.width is None and draft.height is None:
        draft.width, draft.height = _size(_first(data, ("resolution", "size", "Size")))
    for keys in (_MODEL_KEYS, _REFINER_KEYS):
        value = _first(data, keys)
        model = _json_model(value, data)
        if model is not None:
            draft.checkpoints.append(model)
    weights = data.get("loraweights")
    loras = data.get("loras")
    if isinstance(loras, list):
        for index, item in enumerate(loras):
            weight = weights[index] if isinstance(weights, list) and index < len(weights) else None
            lora = _json_lora(item, weight)
            if lora is not None:
                draft.loras.append(lora)
    return draft


def _json_model(value: object, data: Mapping[str, Any]) -> ModelRef | None:
    if isinstance(value, dict):
        name = _text(_first(value, _MODEL_NAME_KEYS))
        return ModelRef(name, _hash(value.get("hash"))) if name else None
    name = _text(value)
    if not name or name.lower() == "none":
        return None
    return ModelRef(name, _hash(_first(data, ("base_model_hash", "model_hash", "Model hash"))))


def _json_lora(item: object, weight: object) -> LoraRef | None:
    name: str | None
    hash_value: object = None
    if isinstance(item, dict):
        nested = _first(item, ("model", "lora"))
        source = nested if isinstance(nested, dict) else item
        name = _text(_first(source, _LORA_NAME_KEYS))
        weight = _first(item, _WEIGHT_KEYS) if weight is None else weight
        hash_value = source.get("hash")
    elif isinstance(item, list | tuple) and item:
        # Fooocus: [name, weight] or [name, weight, hash].
        name = _text(item[0])
        weight = item[1] if len(item) > 1 else weight
        hash_value = item[2] if len(item) > 2 else None
    else:
        name = _text(item)
        if name and weight is None and " : " in name:  # Fooocus' "name : weight"
            name, _, weight = name.rpartition(" : ")
    if not name or name.strip().lower() == "none":
        return None
    strength = _float(weight)
    return LoraRef(name.strip(), 1.0 if strength is None else strength, _hash(hash_value))


# --- Readers, one per format family ---------------------------------------------------------


def _read_tensor_art(texts: Mapping[str, str]) -> _Draft | None:
    data = _json_object(texts.get("generation_data"))
    if data is None:
        return None
    draft = _json_draft(data, "Tensor.Art")
    for key in ("models", "loraModels", "loras"):
        extra = data.get(key)
        for item in extra if isinstance(extra, list) else ():
            kind = str(item.get("type", "lora")).lower() if isinstance(item, dict) else "lora"
            lora = _json_lora(item, None) if "lora" in kind or "lyco" in kind else None
            if lora is not None:
                draft.loras.append(lora)
    # Its own seed is "-1" (random); the ComfyUI graph beside it has the one used.
    return draft.fill_from(_comfy_from_text(texts.get("prompt"), "Tensor.Art"))


def _read_swarm_ui(texts: Mapping[str, str]) -> _Draft | None:
    data = _json_object(texts.get("parameters"))
    if data is None or not isinstance(params := data.get("sui_image_params"), dict):
        return None
    draft = _json_draft(params, "SwarmUI")
    models = data.get("sui_models")
    if isinstance(models, list):
        known = {
            model_key(str(m.get("name"))): _hash(m.get("hash"))
            for m in models
            if isinstance(m, dict) and m.get("name")
        }
        draft.checkpoints = [
            ref if ref.hash else ModelRef(ref.name, known.get(model_key(ref.name)))
            for ref in draft.checkpoints
        ]
    return draft.fill_from(_comfy_from_text(texts.get("prompt"), "SwarmUI"))


def _read_invoke_ai(texts: Mapping[str, str]) -> _Draft | None:
    data = _json_object(texts.get("invokeai_metadata"))
    if data is not None:
        return _json_draft(data, "InvokeAI")
    if "sd-metadata" not in texts and "Dream" not in texts:
        return None
    legacy = {key: texts[key] for key in ("sd-metadata", "Dream") if key in texts}
    return _from_prompt_info(_sd_parsers()["InvokeAI"].parse(legacy), "InvokeAI")


def _read_novel_ai(texts: Mapping[str, str]) -> _Draft | None:
    comment = _json_object(texts.get("Comment"))
    if comment is None or (texts.get("Software") != "NovelAI" and "uc" not in comment):
        return None
    own = _json_draft(comment, "NovelAI")
    own.prompt = texts.get("Description", "").strip() or own.prompt
    own.checkpoints = []
    try:
        draft = _from_prompt_info(_sd_parsers()["NovelAI"].parse(dict(texts)), "NovelAI")
    except Exception:  # noqa: BLE001  sd-parsers may raise anything; our own reading stands in
        draft = own
    else:
        draft.fill_from(own)
    source = texts.get("Source", "").strip()
    # The model is the whole Source ("NovelAI Diffusion V4.5 4BDE2A90"): NovelAI names no file.
    model_hash = source.rpartition(" ")[2] if re.search(r" [0-9A-F]{8}$", source) else None
    draft.checkpoints = [ModelRef(source, _hash(model_hash))] if source else []
    return draft


def _read_json_parameters(texts: Mapping[str, str]) -> _Draft | None:
    """A ``parameters`` text that is JSON: Fooocus, RuinedFooocus, or a ComfyUI graph (Civitai)."""
    data = _json_object(texts.get("parameters"))
    if data is None:
        return None
    if data.get("software") == "RuinedFooocus" or "base_model_name" in data:
        return _json_draft(data, "RuinedFooocus")
    if (
        "fooocus_scheme" in texts
        or str(data.get("version", "")).startswith("Fooocus")
        or data.get("metadata_scheme") == "fooocus"
    ):
        own = _json_draft(data, "Fooocus")
        try:
            info = _sd_parsers()["Fooocus"].parse({"parameters": texts["parameters"]})
        except Exception:  # noqa: BLE001  sd-parsers may raise anything; our own reading stands in
            return own
        return _from_prompt_info(info, "Fooocus").fill_from(own)
    return _comfy_draft(data, "ComfyUI")


def _read_comfy_graph(texts: Mapping[str, str]) -> _Draft | None:
    draft = _comfy_from_text(texts.get("prompt"), "ComfyUI")
    if draft is None:
        return None
    # A metadata-saving node may add an A1111 text beside the graph: it gives the hashes.
    parameters = texts.get("parameters")
    if parameters and not parameters.lstrip().startswith("{"):
        draft.fill_from(_a1111_draft(parameters, draft.generator))
    return draft


def _read_a1111(texts: Mapping[str, str]) -> _Draft | None:
    parameters = texts.get("parameters")
    if not parameters or parameters.lstrip().startswith("{"):
        return None
    scheme = texts.get("fooocus_scheme")
    return _a1111_draft(parameters, "Fooocus" if scheme else "A1111", require_settings=True)


_READERS: tuple[_Reader, ...] = (
    _read_tensor_art,
    _read_swarm_ui,
    _read_invoke_ai,
    _read_novel_ai,
    _read_json_parameters,
    _read_comfy_graph,
    _read_a1111,
)


# --- Automatic1111 text ---------------------------------------------------------------------

# A key of the settings line: words, spaces and a few signs, then a colon.
_SETTING_KEY = re.compile(r"\s*([A-Za-z][\w \-/().+]*?)\s*:\s*")
# Keys of which the settings line must have one, so that a prompt line is not taken for it.
_CORE_SETTINGS = frozenset({"steps", "sampler", "seed", "cfg scale", "size", "model"})
_NAME_AND_HASH = re.compile(r"^(.*?)\s*\[([0-9a-fA-F]{6,64})\]$")
_NEGATIVE_PREFIX = "Negative prompt:"


def _a1111_draft(text: str, generator: str, *, require_settings: bool = False) -> _Draft | None:
    """Read an A1111 infotext: prompt lines, "Negative prompt:" lines, one settings line."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    settings = _settings(lines[-1])
    if len(settings) >= 3 and _CORE_SETTINGS.intersection(settings):
        lines = lines[:-1]
    elif require_settings:
        return None
    else:
        settings = {}
    negative_at = next(
        (i for i, line in enumerate(lines) if line.startswith(_NEGATIVE_PREFIX)), len(lines)
    )
    negative_lines = lines[negative_at:]
    if negative_lines:
        negative_lines[0] = negative_lines[0][len(_NEGATIVE_PREFIX) :]
    if "civitai resources" in settings or "civitai metadata" in settings:
        generator = "Civitai"
    draft = _Draft(
        generator,
        prompt="\n".join(lines[:negative_at]).strip(),
        negative="\n".join(negative_lines).strip(),
        seed=_int(settings.get("seed")),
        sampler=_text(settings.get("sampler")),
        steps=_int(settings.get("steps")),
        cfg_scale=_float(settings.get("cfg scale")),
    )
    draft.width, draft.height = _size(settings.get("size"))
    hashes = settings.get("hashes")
    hashes = hashes if isinstance(hashes, dict) else {}
    model = _text(settings.get("model"))
    model_hash = _hash(settings.get("model hash") or hashes.get("model"))
    if model or model_hash:
        draft.checkpoints.append(ModelRef(model or "", model_hash))
    for key in ("refiner", "hires checkpoint"):
        extra = _text(settings.get(key))
        if extra:
            match = _NAME_AND_HASH.match(extra)
            draft.checkpoints.append(
                ModelRef(match[1], _hash(match[2])) if match else ModelRef(extra)
            )
    draft.lora_hashes.update(_name_hash_list(settings.get("lora hashes")))
    draft.embeddings.extend(_name_hash_list(settings.get("ti hashes")))
    for key, value in hashes.items():
        kind, _, name = str(key).partition(":")
        if kind == "lora" and name:
            draft.lora_hashes.setdefault(name, str(value))
        elif kind == "embed" and name and name not in draft.embeddings:
            draft.embeddings.append(name)
    resources = settings.get("civitai resources")
    if isinstance(resources, list):
        # Its LoRAs go by display name ("Detail Tweaker v1.0"): where the prompt's tags name the
        # files, the list would only repeat them under other names.
        _add_civitai_resources(draft, resources, with_loras=_LORA_TAG.search(text) is None)
    return draft


def _settings(line: str) -> dict[str, object]:
    """``Key: value, Key: "quoted, value", Key: {"json": 1}`` -> {lower-case key: value}.

    Quoted values are JSON strings (A1111 quotes with json.dumps), bracketed ones JSON lists or
    objects (Civitai resources, Hashes): both may hold commas, so they are decoded, not split.
    """
    found: dict[str, object] = {}
    decoder = json.JSONDecoder()
    position, end = 0, len(line)
    while position < end:
        match = _SETTING_KEY.match(line, position)
        if match is None:
            comma = line.find(",", position)
            if comma < 0:
                break
            position = comma + 1
            continue
        key, position = match[1].lower(), match.end()
        value: object = None
        if position < end and line[position] in '"[{':
            try:
                value, position = decoder.raw_decode(line, position)
            except ValueError:
                value = None
        comma = line.find(",", position)
        if value is None:
            value = line[position : end if comma < 0 else comma].strip()
        found.setdefault(key, value)
        position = end if comma < 0 else comma + 1
    return found


def _name_hash_list(value: object) -> dict[str, str]:
    """``"a: 1234, b: 5678"`` (A1111's Lora hashes and TI hashes) -> {"a": "1234", "b": "5678"}."""
    found: dict[str, str] = {}
    if not isinstance(value, str):
        return found
    for item in value.split(","):
        name, _, hash_value = item.rpartition(":")
        if name.strip():
            found[name.strip()] = hash_value.strip().lower()
    return found


def _add_civitai_resources(draft: _Draft, resources: Sequence[object], *, with_loras: bool) -> None:
    """Civitai's list of what a generation used; a file's own names, where it has them, win."""
    for item in resources:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type", "")).lower()
        name = " ".join(
            str(part).strip()
            for part in (item.get("modelName"), item.get("modelVersionName"))
            if part
        )
        name = name or _text(item.get("name")) or ""
        air = _text(item.get("air"))
        if not name and not air:
            continue
        if kind == "checkpoint" and not draft.checkpoints:
            draft.checkpoints.append(ModelRef(name or str(air), air))
        elif kind in ("lora", "locon", "lycoris", "dora") and with_loras:
            strength = _float(item.get("weight"))
            draft.loras.append(
                LoraRef(name or str(air), 1.0 if strength is None else strength, air)
            )
        elif kind in ("embed", "embedding", "textualinversion"):
            # A prompt names an embedding by its model name, without the version.
            embedding = _text(item.get("modelName")) or name
            if embedding:
                draft.embeddings.append(embedding)


# --- ComfyUI graph --------------------------------------------------------------------------

_Link = tuple[str, int]


class _Graph:
    """ComfyUI's API-format graph: node id -> {"class_type", "inputs"}; links are [id, slot]."""

    __slots__ = ("_inputs", "classes", "order", "titles")

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]]) -> None:
        self.order = list(nodes)
        self.classes = {key: str(node["class_type"]) for key, node in nodes.items()}
        self.titles = {
            key: str(meta.get("title", "")) if isinstance(meta := node.get("_meta"), dict) else ""
            for key, node in nodes.items()
        }
        self._inputs: dict[str, Mapping[str, Any]] = {}
        for key, node in nodes.items():
            inputs = node.get("inputs")
            self._inputs[key] = inputs if isinstance(inputs, dict) else {}

    def inputs(self, node: str) -> Mapping[str, Any]:
        return self._inputs.get(node, {})

    def link(self, value: object) -> _Link | None:
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[1], int)
            and str(value[0]) in self._inputs
        ):
            return str(value[0]), value[1]
        return None

    def links(self, node: str) -> Iterator[tuple[str, str, int]]:
        """(input name, source node, source slot) of each linked input, in input order."""
        for key, value in self.inputs(node).items():
            link = self.link(value)
            if link is not None:
                yield key, link[0], link[1]

    def upstream(self, start: str) -> set[str]:
        """Every node that feeds ``start``, through any input."""
        seen: set[str] = set()
        stack = [start]
        while stack:
            node = stack.pop()
            for _, source, _ in self.links(node):
                if source not in seen:
                    seen.add(source)
                    stack.append(source)
        return seen


def _comfy_from_text(text: str | None, generator: str) -> _Draft | None:
    data = _json_object(text)
    return _comfy_draft(data, generator) if data is not None else None


def _comfy_draft(data: Mapping[str, Any], generator: str) -> _Draft | None:
    nodes = {
        str(key): node
        for key, node in data.items()
        if isinstance(node, dict) and isinstance(node.get("class_type"), str)
    }
    if not nodes:
        return None
    graph = _Graph(nodes)
    samplers = _samplers(graph)
    draft = _Draft(generator)
    _comfy_models(graph, samplers, draft)
    _comfy_prompts(graph, samplers, draft)
    _comfy_settings(graph, samplers, draft)
    names = [ref.name for ref in draft.checkpoints] + [ref.name for ref in draft.loras]
    if "extraMetadata" in data or any(name.startswith("urn:air:") for name in names):
        draft.generator = "Civitai"
        extra = data.get("extraMetadata")
        extra = _json_object(extra) if isinstance(extra, str) else extra
        if isinstance(extra, dict):
            civitai = _json_draft(extra, "Civitai")
            civitai.checkpoints, civitai.loras = [], []
            draft.fill_from(civitai)
    return draft


def _samplers(graph: _Graph) -> list[str]:
    """Sampling nodes, first stage first: base before refiner, first pass before hires fix.

    A node samples when it takes a model and a positive conditioning (KSampler, SamplerCustom,
    detailers, tiled upscalers...) or a guider (SamplerCustomAdvanced). Its stage is how many other
    samplers feed it.
    """
    found: list[str] = []
    for node in graph.order:
        if "guider" in graph.classes[node].lower():
            continue
        inputs = graph.inputs(node)
        if graph.link(inputs.get("guider")) or (
            graph.link(inputs.get("model")) and graph.link(inputs.get("positive"))
        ):
            found.append(node)
    if len(found) < 2:
        return found
    members = set(found)
    stage = {node: len(graph.upstream(node) & members) for node in found}
    return sorted(found, key=lambda node: stage[node])  # stable: graph order within a stage


def _guided(graph: _Graph, sampler: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The sampler's inputs, and its guider's inputs (SamplerCustomAdvanced) or {}."""
    inputs = graph.inputs(sampler)
    guider = graph.link(inputs.get("guider"))
    return inputs, graph.inputs(guider[0]) if guider else {}


def _comfy_models(graph: _Graph, samplers: Sequence[str], draft: _Draft) -> None:
    """Checkpoints and LoRAs: along each sampler's model input first, then any others that run."""
    seen: set[str] = set()

    def take(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for name in _checkpoint_names(graph, node):
            draft.checkpoints.append(ModelRef(name, name if name.startswith("urn:air:") else None))
        draft.loras.extend(_lora_refs(graph, node))

    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        start = graph.link(inputs.get("model")) or graph.link(guider.get("model"))
        if start is not None:
            for node in _model_chain(graph, start[0]):
                take(node)
    # Loaders off the model path (a LoRA feeding CLIP only, a loader of a custom sampler) still
    # ran; those that feed nothing did not.
    running: set[str] = set()
    for sampler in samplers:
        running |= graph.upstream(sampler)
    for node in graph.order:
        if not samplers or node in running:
            take(node)


def _model_chain(graph: _Graph, start: str) -> Iterator[str]:
    """Nodes along MODEL links from ``start`` upstream, depth first in input order.

    In a merge, ``model1`` comes before ``model2``; a loader ends its branch.
    """
    seen: set[str] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        if _checkpoint_names(graph, node):
            continue
        sources = [
            source
            for key, source, _ in graph.links(node)
            if any(part in key.lower() for part in ("model", "unet", "lora"))
        ]
        stack.extend(reversed(sources))


_CHECKPOINT_INPUTS = ("ckpt_name", "base_ckpt_name", "refiner_ckpt_name", "unet_name")


def _checkpoint_names(graph: _Graph, node: str) -> list[str]:
    """The checkpoint files a loader node loads; upscaler and other model files are not."""
    kind = graph.classes[node].lower()
    if "upscale" in kind:
        return []
    inputs = graph.inputs(node)
    names = []
    for key in _CHECKPOINT_INPUTS:
        value = inputs.get(key)
        if isinstance(value, str) and value.strip() and value.strip().lower() != "none":
            names.append(value.strip())
    if "checkpoint" not in kind:
        # Frame interpolators and other tools name their own .pth weights ``ckpt_name`` too.
        names = [name for name in names if not name.lower().endswith(".pth")]
    return names


_LORA_NUMBERED = re.compile(r"lora_(?:name_)?(\d+)")
_LORA_WEIGHTS = (
    "strength_model",
    "lora_model_strength",
    "lora_strength",
    "strength",
    "model_weight",
    "lora_wt",
    "weight",
)


def _lora_refs(graph: _Graph, node: str) -> list[LoraRef]:
    """LoRAs a loader node applies, with their model strength.

    LoraLoader and LoraLoaderModelOnly take ``lora_name`` + ``strength_model``; stacks number
    their entries (``lora_name_1`` + ``model_weight_1``, ``lora_01`` + ``strength_01``); rgthree's
    Power Lora Loader takes objects ``{"on", "lora", "strength"}``.
    """
    inputs = graph.inputs(node)
    # An Efficient Loader takes a lora_name beside its checkpoint.
    if "lora" not in graph.classes[node].lower() and "lora_name" not in inputs:
        return []
    found: list[LoraRef] = []

    def add(name: object, weights: Sequence[object], enabled: object = True) -> None:
        text = _text(name)
        if not text or text.lower() == "none" or enabled in (False, "Off", "off"):
            return
        strength = next((s for s in map(_float, weights) if s is not None), 1.0)
        found.append(LoraRef(text, strength))

    if "lora_name" in inputs:
        add(inputs["lora_name"], [inputs.get(key) for key in _LORA_WEIGHTS])
    for key, value in inputs.items():
        numbered = _LORA_NUMBERED.fullmatch(key)
        if isinstance(value, dict) and "lora" in value:
            add(value.get("lora"), [value.get("strength")], value.get("on", True))
        elif numbered:
            n = numbered[1]
            weights = [inputs.get(f"{prefix}_{n}") for prefix in (*_LORA_WEIGHTS, "model_str")]
            add(value, weights, inputs.get(f"switch_{n}", True))
    return found


_TEXT_INPUTS = ("text", "text_g", "text_l", "t5xxl", "clip_l", "prompt", "string", "value")
# Loaders that encode too (Efficiency Nodes' Efficient Loader) take the two texts as strings.
_SIDE_TEXT_INPUTS = {
    "positive": ("text_positive", "positive"),
    "negative": ("text_negative", "negative"),
}


def _comfy_prompts(graph: _Graph, samplers: Sequence[str], draft: _Draft) -> None:
    """The texts that reach the samplers' positive and negative inputs, main sampler's first."""
    positive: list[str] = []
    negative: list[str] = []
    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        for side, texts, keys in (
            ("positive", positive, ("positive", "conditioning", "cond1")),
            ("negative", negative, ("negative",)),
        ):
            start = next(
                (link for key in keys if (link := graph.link(inputs.get(key) or guider.get(key)))),
                None,
            )
            if start is not None:
                for text in _conditioning_texts(graph, start, side):
                    if text not in texts:
                        texts.append(text)
    if not positive and not negative:
        positive, negative = _loose_texts(graph)
    draft.prompt = "\n".join(positive)
    draft.negative = "\n".join(negative)


def _conditioning_texts(graph: _Graph, start: _Link, side: str) -> list[str]:
    """Prompt texts upstream of a conditioning link, those for the whole image first.

    Area, mask and region nodes make their texts regional: they follow the global ones. A node
    with both a positive and a negative input (ControlNet apply, InstructPix2Pix) passes on the one
    of the slot it is read from; ConditioningZeroOut passes on nothing.
    """
    whole: list[str] = []
    regional: list[str] = []
    seen: set[_Link] = set()
    stack: list[tuple[str, int, bool]] = [(start[0], start[1], False)]
    while stack:
        node, slot, in_region = stack.pop()
        if (node, slot) in seen:
            continue
        seen.add((node, slot))
        kind = graph.classes[node].lower()
        if "zeroout" in kind:
            continue
        in_region = in_region or any(word in kind for word in ("area", "mask", "region"))
        own = _own_texts(graph.inputs(node), side)
        if own:
            found = regional if in_region else whole
            found.extend(text for text in own if text not in found)
            continue
        links = list(graph.links(node))
        keys = {key for key, _, _ in links}
        if {"positive", "negative"} <= keys:
            wanted = {"positive" if slot == 0 else "negative"}
        else:
            wanted = {
                key
                for key in keys
                if "cond" in key
                or key in ("positive", "negative")
                or key.startswith(("text", "string", "prompt"))
            }
        stack.extend(
            (source, source_slot, in_region)
            for key, source, source_slot in reversed(links)
            if key in wanted
        )
    return whole + [text for text in regional if text not in whole]


def _own_texts(inputs: Mapping[str, Any], side: str) -> list[str]:
    populated = inputs.get("populated_text")  # a wildcard node's text after expansion
    if isinstance(populated, str) and populated.strip():
        return [populated.strip()]
    texts: list[str] = []
    for key in (*_TEXT_INPUTS, *_SIDE_TEXT_INPUTS[side]):
        value = inputs.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in texts:
            texts.append(value.strip())
    return texts


def _loose_texts(graph: _Graph) -> tuple[list[str], list[str]]:
    """Without a sampler to follow: every text encoder's text, by its title or id's side."""
    positive: list[str] = []
    negative: list[str] = []
    for node in graph.order:
        if "encode" not in graph.classes[node].lower():
            continue
        texts = _own_texts(graph.inputs(node), "positive")
        side = negative if "neg" in f"{node} {graph.titles[node]}".lower() else positive
        side.extend(text for text in texts if text not in side)
    return positive, negative


def _comfy_settings(graph: _Graph, samplers: Sequence[str], draft: _Draft) -> None:
    """Seed, steps, CFG and sampler of the main sampler, the next ones filling gaps; the size."""
    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        draft.seed = _first_set(
            draft.seed, _int(_setting(graph, inputs, ("seed", "noise_seed"), ("noise",)))
        )
        draft.steps = _first_set(
            draft.steps, _int(_setting(graph, inputs, ("steps",), ("sigmas",)))
        )
        draft.cfg_scale = _first_set(
            draft.cfg_scale, _float(_setting(graph, {**guider, **inputs}, ("cfg", "cfg_scale")))
        )
        draft.sampler = _first_set(
            draft.sampler, _text(_setting(graph, inputs, ("sampler_name",), ("sampler",)))
        )
    draft.width, draft.height = _latent_size(graph, samplers[0] if samplers else None)


def _setting(
    graph: _Graph, inputs: Mapping[str, Any], keys: Sequence[str], via: Sequence[str] = ()
) -> object:
    """A plain value under one of ``keys``, or one link away (a primitive node, or the node
    under a ``via`` input: the noise, sigmas, sampler of SamplerCustomAdvanced)."""
    for key in keys:
        if key not in inputs:
            continue
        link = graph.link(inputs[key])
        if link is None:
            return inputs[key]
        source = graph.inputs(link[0])
        for name in (*keys, "value", "seed", "int", "float"):
            if name in source and graph.link(source[name]) is None:
                return source[name]
    for key in via:
        link = graph.link(inputs.get(key))
        if link is not None:
            source = graph.inputs(link[0])
            for name in keys:
                if name in source and graph.link(source[name]) is None:
                    return source[name]
    return None


def _latent_size(graph: _Graph, sampler: str | None) -> tuple[int | None, int | None]:
    """The size of the empty latent the main sampler starts from, else of any in the graph."""
    candidates: list[str] = []
    if sampler is not None:
        stack = [sampler]
        seen: set[str] = set()
        while stack:
            node = stack.pop()
            for key, source, _ in graph.links(node):
                if source not in seen and ("latent" in key or key.startswith("samples")):
                    seen.add(source)
                    candidates.append(source)
                    stack.append(source)
    candidates.extend(graph.order)
    for node in candidates:
        kind = graph.classes[node].lower()
        if "empty" in kind and "latent" in kind:
            inputs = graph.inputs(node)
            width, height = _int(inputs.get("width")), _int(inputs.get("height"))
            if width and height:
                return width, height
    return None, None


# --- Finishing ------------------------------------------------------------------------------

# A1111 reads extra networks off the prompt before anything else: the tag is whatever is
# between "<lora:" and ">" (name, then colon-separated multipliers). The horizontal space after a
# tag goes with it, so that "a <lora:x:1> b" becomes "a b".
_LORA_TAG = re.compile(r"<\s*(?:lora|lyco)\s*:([^<>]*)>[ \t]*", re.IGNORECASE)
# ComfyUI's "embedding:name" (the name stops where prompt syntax starts) and SwarmUI's
# "<embed:name>".
_EMBEDDING = re.compile(
    r"(?<![\w])embedding:([^\s,:()\[\]{}|<>]+)|<\s*embed(?:ding)?\s*:\s*([^<>:]+?)\s*(?::[^<>]*)?>",
    re.IGNORECASE,
)
_EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def _take_lora_tags(text: str, found: list[LoraRef]) -> str:
    if "<" not in text:
        return text

    def take(match: re.Match[str]) -> str:
        name, _, arguments = match[1].partition(":")
        if name.strip():
            # "<lora:name:0.8:0.6>" is text encoder then UNet; the first is the one people set,
            # as tastebud.prompt reads it.
            first = arguments.split(":", 1)[0].rpartition("=")[2]
            strength = _float(first)
            found.append(LoraRef(name.strip(), 1.0 if strength is None else strength))
        return ""

    return _LORA_TAG.sub(take, text).strip()


def _embeddings(text: str) -> Iterator[str]:
    if "embed" not in text.lower():
        return
    for match in _EMBEDDING.finditer(text):
        name = (match[1] or match[2]).replace("\\", "/").rsplit("/", 1)[-1]
        lowered = name.lower()
        for suffix in _EMBEDDING_SUFFIXES:
            if lowered.endswith(suffix):
                name = name[: -len(suffix)]
                break
        if name:
            yield name


def _finish(
    draft: _Draft, container: _Container, hashes: Mapping[str, str] | None
) -> ImageMetadata:
    tagged: list[LoraRef] = []
    prompt = _take_lora_tags(draft.prompt, tagged).strip()
    negative = _take_lora_tags(draft.negative, tagged).strip()
    loras: dict[str, LoraRef] = {}
    for lora in (*draft.loras, *tagged):
        loras.setdefault(model_key(lora.name), lora)
    lora_hashes = {model_key(name): value for name, value in draft.lora_hashes.items()}
    for key, lora in loras.items():
        if lora.hash is None and lora_hashes.get(key):
            loras[key] = LoraRef(lora.name, lora.strength, lora_hashes[key])
    for name, value in draft.lora_hashes.items():
        # A LoRA that A1111 hashed but whose tag is gone (an extension took it) was still used.
        loras.setdefault(model_key(name), LoraRef(name, 1.0, value or None))
    embeddings = dict.fromkeys(
        name for name in (*draft.embeddings, *_embeddings(prompt), *_embeddings(negative)) if name
    )
    checkpoints: dict[str, ModelRef] = {}
    for ref in draft.checkpoints:
        ref = _named(ref, hashes)
        if ref.name:
            known = checkpoints.setdefault(model_key(ref.name), ref)
            if known.hash is None and ref.hash:
                checkpoints[model_key(ref.name)] = ModelRef(known.name, ref.hash)
    width, height = draft.width, draft.height
    if not (width and height):
        width, height = container.width, container.height
    return ImageMetadata(
        generator=draft.generator,
        prompt=prompt,
        negative_prompt=negative or None,
        checkpoints=tuple(checkpoints.values()),
        loras=tuple(loras.values()),
        embeddings=tuple(embeddings),
        seed=draft.seed if draft.seed is not None and draft.seed >= 0 else None,  # -1: random
        sampler=draft.sampler,
        steps=draft.steps,
        cfg_scale=draft.cfg_scale,
        width=width,
        height=height,
    )


def _named(ref: ModelRef, hashes: Mapping[str, str] | None) -> ModelRef:
    """A checkpoint given by hash only, named from the hash map, or by its hash."""
    if ref.name or not ref.hash:
        return ref
    value = ref.hash.lower()
    if hashes:
        # A1111's short hash is the SHA-256's first ten digits: a full hash finds a short key.
        for candidate in (value, value[:10] if len(value) == 64 else None):
            if candidate and hashes.get(candidate):
                return ModelRef(hashes[candidate], ref.hash)
    return ModelRef(ref.hash, ref.hash)


# --- Plain values ---------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_SIZE = re.compile(r"\(?\s*(\d+)\s*[x×,*]\s*(\d+)\s*\)?")


def _first(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = _float(text)
            return int(number) if number is not None and number.is_integer() else None
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _size(value: object) -> tuple[int | None, int | None]:
    """``"512x768"``, Fooocus' ``"(768, 1280)"`` -> (512, 768)."""
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(match[1]), int(match[2])
    return None, None


def _hash(value: object) -> str | None:
    """A hash as given, hex in lower case without a ``0x``; None for none."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[:2].lower() == "0x" and _HEX.fullmatch(text[2:]):
        text = text[2:]
    return text.lower() if _HEX.fullmatch(text) else text
