"""Fuzzy near-duplicate detection of question stems: MinHash signatures and LSH banding.

A stem is folded (NFKC, lower case, letters and digits only) and cut into
character bigrams; bigrams suit Chinese, which has no spaces between words.
Two stems are near-duplicates when the Jaccard similarity of their bigram
sets reaches a threshold. MinHash signatures of NUM_PERMUTATIONS values
estimate that similarity, and locality-sensitive hashing over BANDS bands of
ROWS_PER_BAND values proposes candidate pairs in time linear in the number of
stems. Candidates whose signatures agree too rarely are dropped, and the rest
are checked with the exact Jaccard similarity, so a reported pair always
reaches the threshold. A true pair is missed when no band agrees (about 5% of
pairs at similarity 0.7, under 0.5% at 0.8) or, rarely, when its estimate
falls far below its similarity.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

SHINGLE_SIZE = 2
BANDS = 16
ROWS_PER_BAND = 5
NUM_PERMUTATIONS = BANDS * ROWS_PER_BAND
# Stored signatures start with this byte. Change it whenever the folding, the
# shingles or the permutations change, so old signatures are recomputed.
SIGNATURE_VERSION = 1
_NEIGHBOURS_MAX = 16
# A candidate is checked exactly only if its estimated similarity is at least
# the threshold minus this margin. The margin is about three standard errors of
# an estimate from 80 values near similarity 0.7, so a true match is dropped
# about once in a thousand. Most unrelated pairs that LSH proposes stop here.
_ESTIMATE_MARGIN = 0.15
_SIGNATURE_CHUNK = 1000
_EXACT_CHUNK = 200_000

_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20261204)
_MULTIPLIERS = _rng.integers(1, _PRIME, size=NUM_PERMUTATIONS, dtype=np.uint64)
_OFFSETS = _rng.integers(0, _PRIME, size=NUM_PERMUTATIONS, dtype=np.uint64)
_NOT_WORD = re.compile(r"[\W_]+")


def fold_stem(stem: str) -> str:
    """Fold a stem to lower-case letters and digits, so spacing and punctuation do not count."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", stem).lower())


def shingles(stem: str) -> set[str]:
    """Return the character bigrams of the folded stem (the folded stem itself if shorter)."""
    folded = fold_stem(stem)
    if len(folded) <= SHINGLE_SIZE:
        return {folded}
    return {folded[i : i + SHINGLE_SIZE] for i in range(len(folded) - SHINGLE_SIZE + 1)}


def jaccard(first: set[str], second: set[str]) -> float:
    """Return |first ∩ second| / |first ∪ second|, 0.0 for two empty sets."""
    union = len(first | second)
    return len(first & second) / union if union else 0.0


def signatures(stems: Sequence[str]) -> np.ndarray:
    """Compute MinHash signatures, one row of NUM_PERMUTATIONS uint32 values per stem."""
    result = np.zeros((len(stems), NUM_PERMUTATIONS), dtype=np.uint32)
    # Chunks keep the (permutations x shingles) array near 30 MB.
    for start in range(0, len(stems), _SIGNATURE_CHUNK):
        chunk = stems[start : start + _SIGNATURE_CHUNK]
        result[start : start + len(chunk)] = _signature_chunk(chunk)
    return result


def _signature_chunk(stems: Sequence[str]) -> np.ndarray:
    hashes: list[int] = []
    starts: list[int] = []
    for stem in stems:
        starts.append(len(hashes))
        hashes.extend(zlib.crc32(shingle.encode("utf-8")) for shingle in shingles(stem))
    values = np.asarray(hashes, dtype=np.uint64)

    # (a * x + b) mod p stays below 2**63 because a, b < 2**31 and x < 2**32.
    permuted = (_MULTIPLIERS[:, None] * values[None, :] + _OFFSETS[:, None]) % _PRIME
    minima = np.minimum.reduceat(permuted, np.asarray(starts), axis=1)
    return minima.T.astype(np.uint32)


def signature_to_bytes(signature: np.ndarray) -> bytes:
    return bytes([SIGNATURE_VERSION]) + signature.astype("<u4").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray | None:
    """Decode a stored signature; None if it is missing or of another version."""
    if len(data) != 1 + 4 * NUM_PERMUTATIONS or data[0] != SIGNATURE_VERSION:
        return None
    return np.frombuffer(data, dtype="<u4", offset=1).astype(np.uint32)


def candidate_pairs(matrix: np.ndarray) -> np.ndarray:
    """Return index pairs (i < j), one per row, of signatures that agree on a whole band.

    Rows are sorted by band value, and each row is paired with the next
    _NEIGHBOURS_MAX rows of equal value, so a bucket of that size or less yields
    all its pairs. Larger buckets come from template-generated stems. Linking
    each of their rows to its neighbours keeps the work linear and still joins
    the bucket into one group.
    """
    found: list[np.ndarray] = []
    for band in range(BANDS):
        columns = matrix[:, band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND].astype(np.uint64)
        # A 64-bit key per band; a collision only adds a candidate that the exact check drops.
        keys = columns[:, 0].copy()
        for column in range(1, ROWS_PER_BAND):
            keys = keys * np.uint64(0x100000001B3) ^ columns[:, column]
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        for distance in range(1, _NEIGHBOURS_MAX + 1):
            same = ordered[distance:] == ordered[:-distance]
            if not same.any():
                break
            first, second = order[:-distance][same], order[distance:][same]
            found.append(np.stack([np.minimum(first, second), np.maximum(first, second)], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    # One int64 per pair makes deduplication a sort of one array instead of rows.
    size = np.int64(len(matrix))
    unique = _sorted_unique(pairs[:, 0] * size + pairs[:, 1])
    return np.stack([unique // size, unique % size], axis=1)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    # np.unique in NumPy 2.4 hashes integers, which took several times as long as a
    # sort on 8 million candidate pairs of the import bench.
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def estimated_similarity(matrix: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Estimate each pair's Jaccard similarity as the share of equal signature values."""
    result = np.zeros(len(pairs))
    # Chunks bound the two gathered signature arrays to about 160 MB.
    for start in range(0, len(pairs), _EXACT_CHUNK):
        chunk = pairs[start : start + _EXACT_CHUNK]
        result[start : start + len(chunk)] = (matrix[chunk[:, 0]] == matrix[chunk[:, 1]]).mean(
            axis=1
        )
    return result


@dataclass
class NearDuplicateGroup:
    """Row indices whose stems are linked by pairs at or above the threshold, and the best score."""

    indices: list[int]
    similarity: float


def exact_similarities(pairs: np.ndarray, stem_by_index: Mapping[int, str]) -> np.ndarray:
    """Return the exact bigram Jaccard similarity of each pair of row indices.

    The bigram sets become rows of a sparse 0/1 matrix, so the intersections of
    a chunk of pairs are one sparse product instead of a Python loop per pair.
    """
    if not len(pairs):
        return np.zeros(0)
    involved = _sorted_unique(pairs.ravel())
    position = {int(index): row for row, index in enumerate(involved)}
    vocabulary: dict[str, int] = {}
    columns: list[int] = []
    row_starts = [0]
    for index in involved.tolist():
        for shingle in shingles(stem_by_index[index]):
            columns.append(vocabulary.setdefault(shingle, len(vocabulary)))
        row_starts.append(len(columns))
    sets = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.int32), columns, row_starts),
        shape=(len(involved), max(len(vocabulary), 1)),
    )
    sizes = np.diff(sets.indptr)
    first = np.fromiter((position[int(i)] for i in pairs[:, 0]), dtype=np.int64, count=len(pairs))
    second = np.fromiter((position[int(i)] for i in pairs[:, 1]), dtype=np.int64, count=len(pairs))

    result = np.empty(len(pairs))
    for start in range(0, len(pairs), _EXACT_CHUNK):
        chunk = slice(start, start + _EXACT_CHUNK)
        shared = np.asarray(sets[first[chunk]].multiply(sets[second[chunk]]).sum(axis=1))
        shared = shared.ravel()
        result[chunk] = shared / (sizes[first[chunk]] + sizes[second[chunk]] - shared)
    return result


def find_groups(
    matrix: np.ndarray,
    load_stems: Callable[[Collection[int]], Mapping[int, str]],
    *,
    threshold: float,
) -> list[NearDuplicateGroup]:
    """Group the stems whose exact bigram Jaccard similarity reaches threshold.

    Each row of matrix is one stem's signature. load_stems receives the row
    indices that appear in candidate pairs and returns {row index: stem} for
    them, so stems are read only where they are needed. Groups and the indices
    inside each group are in ascending order.
    """
    pairs = candidate_pairs(matrix)
    likely = pairs[estimated_similarity(matrix, pairs) >= threshold - _ESTIMATE_MARGIN]
    stem_by_index = load_stems({int(index) for index in likely.ravel()})
    similarity = exact_similarities(likely, stem_by_index)
    accepted = similarity >= threshold
    linked, scores = likely[accepted], similarity[accepted]
    if not len(linked):
        return []

    # Connected components of the accepted pairs are the groups.
    size = len(matrix)
    graph = sparse.coo_matrix(
        (np.ones(len(linked)), (linked[:, 0], linked[:, 1])), shape=(size, size)
    )
    _count, labels = csgraph.connected_components(graph, directed=False)
    best = np.zeros(size)
    np.maximum.at(best, linked[:, 0], scores)
    np.maximum.at(best, linked[:, 1], scores)

    members: dict[int, list[int]] = {}
    for index in np.flatnonzero(best).tolist():
        members.setdefault(int(labels[index]), []).append(index)
    groups = [
        NearDuplicateGroup(indices=indices, similarity=round(float(best[indices].max()), 3))
        for indices in members.values()
    ]
    return sorted(groups, key=lambda group: group.indices[0])
