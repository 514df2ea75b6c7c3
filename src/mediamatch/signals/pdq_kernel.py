"""The numeric core of PDQ, compiled with numba.

Why compiled: PDQ's Jarosz filter is a running sum, a sequential dependency along each row.
NumPy can express it only through `add.accumulate`, which measured 7 ns per element (about
11 ms for a 500x375 luma plane, more than the JPEG decode it follows); these loops take 0.9 ms
for the same plane. Why these exact loops: the reference accumulates in float32 in this order
(add the entering pixel, then subtract the leaving one, divide by the live window size), and
keeping that order is what makes the hash equal to the reference bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

DCT_MATRIX = (
    np.float32(np.sqrt(2.0 / 64)) * np.cos((np.pi / 2.0 / 64) * np.arange(1, 17)[:, None] * (2 * np.arange(64)[None, :] + 1)).astype(np.float32)
).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _box_one_row(src: np.ndarray, dst: np.ndarray, window: int, keep: np.ndarray) -> None:
    # dst[k] receives the filtered value at column keep[k] (keep is non-decreasing): the running
    # sum still visits every column, so the kept values are exactly the full filter's.
    n = src.shape[0]
    half = (window + 2) // 2
    total = np.float32(0.0)
    count = 0
    right = 0
    left = 0
    k = 0
    for _ in range(half - 1):
        total += src[right]
        count += 1
        right += 1
    for out in range(n):
        if right < n:
            total += src[right]
            count += 1
            right += 1
        if out >= window - half + 1:
            total -= src[left]
            count -= 1
            left += 1
        while k < keep.shape[0] and out == keep[k]:  # images under 64 px sample a column twice
            dst[k] = total / np.float32(count)
            k += 1


@numba.njit(cache=True, nogil=True)
def _box_four_rows(s0, s1, s2, s3, o0, o1, o2, o3, window: int, keep: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    # Four independent running sums advance together: a single sum is a chain of dependent
    # float additions (latency-bound); four chains overlap in the CPU (measured 1.8x faster).
    n = s0.shape[0]
    half = (window + 2) // 2
    a = b = c = d = np.float32(0.0)
    count = 0
    right = 0
    left = 0
    k = 0
    kept = keep.shape[0]
    for _ in range(half - 1):
        a += s0[right]
        b += s1[right]
        c += s2[right]
        d += s3[right]
        count += 1
        right += 1
    for out in range(n):
        if right < n:
            a += s0[right]
            b += s1[right]
            c += s2[right]
            d += s3[right]
            count += 1
            right += 1
        if out >= window - half + 1:
            a -= s0[left]
            b -= s1[left]
            c -= s2[left]
            d -= s3[left]
            count -= 1
            left += 1
        while k < kept and out == keep[k]:
            size = np.float32(count)
            o0[k], o1[k], o2[k], o3[k] = a / size, b / size, c / size, d / size
            k += 1


@numba.njit(cache=True, nogil=True)
def _box_along_rows(src: np.ndarray, dst: np.ndarray, window: int, keep: np.ndarray) -> None:
    rows = src.shape[0]
    grouped = rows - rows % 4
    for r in range(0, grouped, 4):
        _box_four_rows(src[r], src[r + 1], src[r + 2], src[r + 3], dst[r], dst[r + 1], dst[r + 2], dst[r + 3], window, keep)
    for r in range(grouped, rows):
        _box_one_row(src[r], dst[r], window, keep)


@numba.njit(cache=True, nogil=True)
def _box_along_cols(src: np.ndarray, dst: np.ndarray, window: int) -> None:
    # The same filter down each column, swept row by row so memory is read in order.
    n, cols = src.shape
    half = (window + 2) // 2
    total = np.zeros(cols, np.float32)
    count = 0
    right = 0
    left = 0
    out = 0
    for _ in range(half - 1):
        for c in range(cols):
            total[c] += src[right, c]
        count += 1
        right += 1
    for _ in range(window - half + 1):
        count += 1
        size = np.float32(count)
        for c in range(cols):
            total[c] += src[right, c]
            dst[out, c] = total[c] / size
        right += 1
        out += 1
    size = np.float32(count)
    for _ in range(n - window):
        for c in range(cols):
            total[c] += src[right, c]
            total[c] -= src[left, c]
            dst[out, c] = total[c] / size
        left += 1
        right += 1
        out += 1
    for _ in range(half - 1):
        count -= 1
        size = np.float32(count)
        for c in range(cols):
            total[c] -= src[left, c]
            dst[out, c] = total[c] / size
        left += 1
        out += 1


def jarosz_window(old_dim: int, new_dim: int = 64) -> int:
    """Box width that makes two box passes approximate a tent filter for this downscale."""
    return (old_dim + 2 * new_dim - 1) // (2 * new_dim)


@numba.njit(cache=True, nogil=True)
def _quality(block: np.ndarray) -> int:
    gradient_sum = 0
    for i in range(63):
        for j in range(64):
            gradient_sum += abs(int((block[i, j] - block[i + 1, j]) * np.float32(100.0) / np.float32(255.0)))
    for i in range(64):
        for j in range(63):
            gradient_sum += abs(int((block[i, j] - block[i, j + 1]) * np.float32(100.0) / np.float32(255.0)))
    return min(gradient_sum // 90, 100)


@numba.njit(cache=True, nogil=True)
def _dct_16x16(block: np.ndarray, dct: np.ndarray) -> np.ndarray:
    # B = D A D^T, summed in float32 in index order like the reference.
    partial = np.empty((16, 64), np.float32)
    for i in range(16):
        for j in range(64):
            acc = np.float32(0.0)
            for k in range(64):
                acc += dct[i, k] * block[k, j]
            partial[i, j] = acc
    out = np.empty((16, 16), np.float32)
    for i in range(16):
        for j in range(16):
            acc = np.float32(0.0)
            for k in range(64):
                acc += partial[i, k] * dct[j, k]
            out[i, j] = acc
    return out


def downsample_64(luma: np.ndarray) -> np.ndarray:
    """Blur (2 Jarosz passes each way) and decimate a float32 luma plane to 64x64.

    Only 64 columns and 64 rows of the last two passes are ever sampled, so the second pass
    along rows keeps just the 64 sampled columns and the last pass down columns runs on that
    narrow strip: the same sums in the same order, about a third less work."""
    rows, cols = luma.shape
    if rows == 64 and cols == 64:
        return np.array(luma, dtype=np.float32)
    work = np.array(luma, dtype=np.float32, order="C")  # a copy: the filter runs in place
    scratch = np.empty_like(work)
    along_rows, along_cols = jarosz_window(cols), jarosz_window(rows)
    row_idx = ((np.arange(64) + 0.5) * rows / 64).astype(np.intp)
    col_idx = ((np.arange(64) + 0.5) * cols / 64).astype(np.intp)
    _box_along_rows(work, scratch, along_rows, np.arange(cols))
    _box_along_cols(scratch, work, along_cols)
    strip = np.empty((rows, 64), np.float32)
    _box_along_rows(work, strip, along_rows, col_idx)
    narrow = np.empty_like(strip)
    _box_along_cols(strip, narrow, along_cols)
    return narrow[row_idx]


def dct_and_quality(luma: np.ndarray) -> tuple[np.ndarray, int]:
    """The 16x16 low-frequency DCT block PDQ thresholds, and the image-domain quality 0-100."""
    block = np.ascontiguousarray(downsample_64(luma))
    return _dct_16x16(block, DCT_MATRIX), int(_quality(block))
