"""Linear-prediction kernels: windowed autocorrelation, Levinson-Durbin, closed-loop coding.

Closed loop: every prediction is made from the *reconstructed* past (what the decoder will
have), so the decoder reproduces the encoder's reconstruction exactly. Coefficients are
integers ``c[j]`` with a right shift ``shift``; on integer data the prediction is
``(sum c[j] * y[i-1-j]) >> shift`` in int64 (bit exact everywhere), on float data
``sum (c[j] * 2**-shift) * y[i-1-j]`` in float64, evaluated in the same order by the encoder
and the decoder (one shared inline function). Samples before the start of the array count as 0.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

__all__ = [
    "autocorr",
    "levinson",
    "quantize_coefs",
    "residual_cost",
    "closed_loop_cost",
    "closed_loop_costs",
    "best_predictor",
    "residual_int",
    "encode_int",
    "encode_float",
    "decode_float",
    "decode_int_frame",
    "n_flags",
    "parse_plan",
    "interp_order",
    "interp_encode",
    "interp_decode",
]


@jit
def autocorr(x, window, max_lag, out):
    """``out[k] = sum_i w[i]x[i] * w[i+k]x[i+k]`` for ``k <= max_lag`` (``x``, ``window`` float64;
    ``x`` finite).

    Only the window's support (first to last nonzero weight) is summed: outside it every term
    is a zero, which leaves a sum unchanged. All lags are accumulated at once, sample by sample:
    each lag's sum still adds its terms in order of ``i`` (so the result is, bit for bit, that
    of one lag at a time), but the lags are independent accumulators, so the inner loop runs in
    SIMD lanes instead of as one long chain of dependent additions.
    """
    n = x.size
    lo = 0
    while lo < n and window[lo] == 0.0:
        lo += 1
    hi = n
    while hi > lo and window[hi - 1] == 0.0:
        hi -= 1
    m = max_lag + 1
    acc = np.zeros(m)
    n_s = hi - lo
    y = np.empty(n_s)
    for i in range(n_s):
        y[i] = x[lo + i] * window[lo + i]
    yr = y[::-1].copy()  # yr[n_s - 1 - i + k] == y[i - k]: the factors of consecutive lags are consecutive
    head = m if m < n_s else n_s
    for i in range(head):  # lag k starts at sample k
        yi = y[i]
        for k in range(i + 1):
            acc[k] += yi * y[i - k]
    for i in range(head, n_s):
        yi = y[i]
        c = n_s - 1 - i
        for k in range(m):
            acc[k] += yi * yr[c + k]
    for k in range(m):
        out[k] = acc[k]


@jit
def levinson(r, max_order, coefs, err):
    """Levinson-Durbin: ``coefs[p-1, :p]`` predicts ``x[i]`` as ``sum_j coefs[p-1, j] x[i-1-j]``;
    ``err[p]`` is the prediction error energy of order ``p``. Returns the highest usable order."""
    a = np.zeros(max_order + 1)
    tmp = np.zeros(max_order + 1)
    e = r[0]
    err[0] = e
    if e <= 0.0:
        return 0
    for p in range(1, max_order + 1):
        acc = r[p]
        for j in range(1, p):
            acc -= a[j] * r[p - j]
        k = acc / e
        if not (abs(k) < 1.0):
            return p - 1
        for j in range(1, p):
            tmp[j] = a[j] - k * a[p - j]
        for j in range(1, p):
            a[j] = tmp[j]
        a[p] = k
        e *= 1.0 - k * k
        err[p] = e
        for j in range(p):
            coefs[p - 1, j] = a[j + 1]
        if e <= 0.0:
            return p
    return max_order


# The prediction sum is written out in each kernel rather than called from a helper: Numba
# compiles the loop 3-5x slower when it sits in an inlined function (measured, see
# docs/benchmarks.md). Oldest sample first, so that only the last multiply-add waits for
# y[i-1] (the decoder's critical path). crev = c[::-1].


@jit
def residual_int(x, start, end, crev, order, shift, q):
    """Open-loop residual ``q[i] = x[i] - ((sum c[j] x[i-1-j]) >> shift)`` (lossless coding:
    the reconstruction is the input); ``x``, ``crev`` and ``q`` int64."""
    for i in range(start, end):
        acc = np.int64(0)
        if i >= order:
            base = i - order
            for j in range(order):
                acc += crev[j] * x[base + j]
        else:
            for j in range(order - i, order):
                acc += crev[j] * x[i - order + j]
        q[i] = x[i] - (acc >> shift)


@jit
def encode_int(x, start, end, crev, order, shift, step, lo, hi, y, q):
    """Closed-loop coding of integer samples ``x[start:end]`` (int64) with an integer ``step``.

    ``y`` (int64) is the reconstruction, also the predictor's history.
    ``q[i] = round((x[i] - pred) / step)``, ``y[i] = clip(pred + step*q[i], lo, hi)``: so
    ``|y - x| <= step // 2``.
    """
    half = step // 2
    for i in range(start, end):
        acc = np.int64(0)
        if i >= order:
            base = i - order
            for j in range(order):
                acc += crev[j] * y[base + j]
        else:
            for j in range(order - i, order):
                acc += crev[j] * y[i - order + j]
        pred = acc >> shift
        qi = (x[i] - pred + half) // step
        r = pred + qi * step
        if r < lo:
            r = lo
        elif r > hi:
            r = hi
        q[i] = qi
        y[i] = r


_QMAX = float(1 << 52)


@jit(inline="always")
def _quantize_sample(xi, pred, step, bound, f32):
    """``(code, reconstruction, 0)`` for one sample, the reconstruction rounded to float32 when
    ``f32`` and within ``bound`` of ``xi`` (the rounded code, or its neighbours when rounding
    pushed it over); ``(0, xi, 1)`` when no code keeps the bound (an exception: stored as is)."""
    t = (xi - pred) / step
    if abs(t) < _QMAX:
        qf = math.floor(t + 0.5)
        for delta in (0.0, -1.0, 1.0):
            cand = qf + delta
            r = pred + cand * step
            if f32:
                r = np.float64(np.float32(r))
            if abs(r - xi) <= bound and abs(r) < np.inf:
                return np.int64(cand), r, np.uint8(0)
    return np.int64(0), xi, np.uint8(1)


@jit
def encode_float(x, start, end, crev, order, step, bound, f32, y, q, exc):
    """Closed-loop coding of float samples with a uniform residual step.

    The reconstruction is rounded to the output dtype (float32 when ``f32``) before it is
    checked: a sample whose rounded reconstruction would miss ``|y - x| <= bound`` (or whose
    code would exceed 2**52) is an *exception*: ``exc[i] = 1``, ``q[i] = 0`` and ``y[i] = x[i]``
    (the caller stores ``x[i]`` verbatim). Returns the number of exceptions.
    """
    n_exc = 0
    for i in range(start, end):
        pred = 0.0
        if i >= order:
            base = i - order
            for j in range(order):
                pred += crev[j] * y[base + j]
        else:
            for j in range(order - i, order):
                pred += crev[j] * y[i - order + j]
        q[i], y[i], exc[i] = _quantize_sample(x[i], pred, step, bound, f32)
        n_exc += exc[i]
    return n_exc


@jit
def decode_float(q, start, end, crev, order, step, f32, exc_pos, exc_val, y):
    """Inverse of ``encode_float``; ``exc_pos`` (ascending, within ``[start, end)``) and
    ``exc_val`` give the verbatim samples. Returns -1 if the exceptions are inconsistent."""
    e = 0
    ne = exc_pos.size
    for i in range(start, end):
        if e < ne and exc_pos[e] == i:
            y[i] = exc_val[e]
            e += 1
            continue
        pred = 0.0  # the same sum, in the same order, as encode_float
        if i >= order:
            base = i - order
            for j in range(order):
                pred += crev[j] * y[base + j]
        else:
            for j in range(order - i, order):
                pred += crev[j] * y[i - order + j]
        r = pred + np.float64(q[i]) * step
        y[i] = np.float64(np.float32(r)) if f32 else r
    if e != ne:
        return -1
    return 0


_TWO_E = 2.0 * math.e


@jit(fastmath=True)
def residual_cost(x, start, end, crev, order, inv_step, part):
    """Estimated bits to code the open-loop residual of ``x[start:end]`` (float64) quantized
    with step ``1 / inv_step``: per partition of ``part`` samples, ``n * log2(1 + 2e * mean|r|)``
    (a Laplacian's entropy, floored at 0 for coarse steps); scale changes along the block are
    priced as an adaptive coder sees them."""
    total = 0.0
    acc = 0.0
    cnt = 0
    for i in range(start, end):
        pred = 0.0
        if i >= order:
            base = i - order
            for j in range(order):
                pred += crev[j] * x[base + j]
        else:
            for j in range(order - i, order):
                pred += crev[j] * x[i - order + j]
        acc += abs(x[i] - pred)
        cnt += 1
        if cnt == part or i == end - 1:
            total += cnt * math.log2(1.0 + _TWO_E * acc * inv_step / cnt)
            acc = 0.0
            cnt = 0
    return total


@jit
def quantize_coefs(a, precision, max_shift, out):
    """Round ``a`` to ``precision``-bit integers ``out`` with error feedback; returns the shift
    (``a ~= out * 2**-shift``), or -1 when ``a`` is all zero or not finite."""
    cmax = 0.0
    for j in range(a.size):
        v = abs(a[j])
        if not v < np.inf:
            return -1
        if v > cmax:
            cmax = v
    if cmax == 0.0:
        return -1
    _, exp = math.frexp(cmax)  # cmax = m * 2**exp, 0.5 <= m < 1
    shift = precision - 1 - exp
    if shift < 0:
        shift = 0
    if shift > max_shift:
        shift = max_shift
    qmax = (1 << (precision - 1)) - 1
    scale = 2.0**shift
    err = 0.0
    for j in range(a.size):
        err += a[j] * scale
        q = np.int64(np.floor(err + 0.5))
        if q > qmax:
            q = qmax
        elif q < -qmax - 1:
            q = -qmax - 1
        out[j] = q
        err -= q
    return shift


@jit(fastmath=True)
def closed_loop_cost(x, start, end, crev, order, step, part, y):
    """``residual_cost`` for coarse steps, where the closed loop matters: the predictor runs
    on a simulated reconstruction ``y`` (float64 scratch as long as ``x``; samples before
    ``start`` taken from ``x``), whose noise a high-order predictor can amplify."""
    lo = start - order
    if lo < 0:
        lo = 0
    for i in range(lo, start):
        y[i] = x[i]
    total = 0.0
    acc = 0.0
    cnt = 0
    for i in range(start, end):
        pred = 0.0
        if i >= order:
            base = i - order
            for j in range(order):
                pred += crev[j] * y[base + j]
        else:
            for j in range(order - i, order):
                pred += crev[j] * y[i - order + j]
        q = math.floor((x[i] - pred) / step + 0.5)
        y[i] = pred + q * step
        acc += abs(q)
        cnt += 1
        if cnt == part or i == end - 1:
            total += cnt * math.log2(1.0 + _TWO_E * acc / cnt)
            acc = 0.0
            cnt = 0
    return total


@jit(fastmath=True)
def closed_loop_costs(x, start, end, crevs, orders, n_pred, step, part, ys, costs):
    """``closed_loop_cost`` of ``n_pred`` predictors in one pass over ``x[start:end]``.

    Predictor ``k`` has order ``orders[k]`` and reversed coefficients ``crevs[k, :orders[k]]``;
    its cost goes to ``costs[k]``, equal to what ``closed_loop_cost`` returns for it (the same
    operations in the same order). A closed loop is one long chain of dependent operations (each
    prediction needs the reconstruction just made); running the predictors side by side lets
    the CPU overlap their chains. ``ys`` is float64 scratch of at least
    ``n_pred * (end - start + max(orders))`` values.
    """
    max_p = 0
    for k in range(n_pred):
        if orders[k] > max_p:
            max_p = orders[k]
    base0 = start - max_p
    if base0 < 0:
        base0 = 0
    width = end - base0
    acc = np.zeros(n_pred)
    for k in range(n_pred):
        lo = start - orders[k]
        if lo < 0:
            lo = 0
        off = k * width - base0
        for i in range(lo, start):
            ys[off + i] = x[i]
        costs[k] = 0.0
    cnt = 0
    for i in range(start, end):
        xi = x[i]
        for k in range(n_pred):
            order = orders[k]
            off = k * width - base0
            pred = 0.0
            if i >= order:
                base = off + i - order
                for j in range(order):
                    pred += crevs[k, j] * ys[base + j]
            else:
                for j in range(order - i, order):
                    pred += crevs[k, j] * ys[off + i - order + j]
            q = math.floor((xi - pred) / step + 0.5)
            ys[off + i] = pred + q * step
            acc[k] += abs(q)
        cnt += 1
        if cnt == part or i == end - 1:
            for k in range(n_pred):
                costs[k] += cnt * math.log2(1.0 + _TWO_E * acc[k] / cnt)
                acc[k] = 0.0
            cnt = 0


@jit
def best_predictor(x, start, end, windows, max_order, precision, max_shift, step, candidates, scratch, out):
    """The whole predictor search of ``quantsig.predictors.lpc.analyze`` in one call.

    For each row of ``windows``: windowed autocorrelation (plus the quantization noise
    ``step**2/12`` on the zero lag when ``step > 0``), Levinson-Durbin, the ``candidates``
    orders of lowest Gaussian estimate (and orders 1, 2, 4, 8 when ``step > 0``), each
    quantized and priced on the residual (``residual_cost``, or ``closed_loop_cost``
    when ``step > 0``) plus ``precision + 2`` bits per coefficient. Order 0 competes too.
    Writes the winner's integer coefficients to ``out`` and returns ``(cost, order, shift)``.

    The candidates of every window are gathered first and the closed-loop ones priced together
    (``closed_loop_costs``); the winner is then chosen in the order above, first lowest cost,
    exactly as pricing them one by one would choose.
    """
    n = end - start
    top_order = max_order if max_order < n - 1 else n - 1
    closed = step > 0.0
    empty = np.zeros(0)
    if top_order < 1:
        if closed:
            return closed_loop_cost(x, start, end, empty, 0, step, 64, scratch), 0, 0
        return residual_cost(x, start, end, empty, 0, 1.0, 64), 0, 0
    seg = x[start:end].copy()
    r = np.empty(top_order + 1)
    coefs = np.zeros((top_order, top_order))
    err = np.zeros(top_order + 1)
    qc = np.empty(top_order, np.int64)
    crev = np.empty(top_order)
    est = np.empty(top_order)
    coef_bits = precision + 2
    extra = (1, 2, 4, 8)
    # the candidates in pricing order; candidate 0 is order 0
    n_max = 1 + windows.shape[0] * (candidates + 4)
    c_order = np.zeros(n_max, np.int64)
    c_shift = np.zeros(n_max, np.int64)
    c_int = np.zeros((n_max, top_order), np.int64)
    c_rev = np.zeros((n_max, top_order))
    n_c = 1
    for wi in range(windows.shape[0]):
        w = windows[wi]
        autocorr(seg, w, top_order, r)
        if not r[0] > 0.0:
            continue
        norm = 0.0
        for i in range(n):
            norm += w[i] * w[i]
        r[0] = r[0] * (1.0 + 1e-9)
        if closed:
            r[0] += norm * step * step / 12.0
        top = levinson(r, top_order, coefs, err)
        if top < 1:
            continue
        for p in range(1, top + 1):
            e = err[p] / norm
            if e < 1e-30:
                e = 1e-30
            est[p - 1] = 0.5 * n * math.log2(e) + p * coef_bits
        order_by = np.argsort(est[:top])
        n_try = candidates if candidates < top else top
        tried = np.zeros(top + 1, np.bool_)
        total = n_try + (4 if closed else 0)
        for t in range(total):
            if t < n_try:
                p = order_by[t] + 1
            else:
                p = extra[t - n_try]
                if p > top:
                    continue
            if tried[p]:
                continue
            tried[p] = True
            shift = quantize_coefs(coefs[p - 1, :p], precision, max_shift, qc[:p])
            if shift < 0:
                continue
            scale = 2.0 ** (-shift)
            c_order[n_c] = p
            c_shift[n_c] = shift
            for j in range(p):
                c_int[n_c, j] = qc[j]
                c_rev[n_c, j] = qc[p - 1 - j] * scale
            n_c += 1
    costs = np.empty(n_c)
    if closed:
        ys = np.empty(n_c * (n + top_order))
        closed_loop_costs(x, start, end, c_rev, c_order, n_c, step, 64, ys, costs)
    else:
        costs[0] = residual_cost(x, start, end, empty, 0, 1.0, 64)
        for c in range(1, n_c):
            p = c_order[c]
            for j in range(p):
                crev[j] = c_rev[c, j]
            costs[c] = residual_cost(x, start, end, crev[:p], p, 1.0, 64)
    best = 0
    best_cost = costs[0]
    for c in range(1, n_c):
        cost = costs[c] + c_order[c] * coef_bits
        if cost < best_cost:
            best_cost = cost
            best = c
    for j in range(c_order[best]):
        out[j] = c_int[best, j]
    return best_cost, c_order[best], c_shift[best]


@jit
def decode_int_frame(q, leaves, coefs, step, lo, hi, lossless, reps):
    """Decode a whole integer frame in one call: per leaf the inverse of
    ``residual_int`` (lossless) or ``encode_int``, without a Python call per block.

    ``leaves`` (int64, one row per predictor, in stream order): ``slot, rep, start, end,
    order, shift, coef_offset, stereo``: the residual row ``q[slot]``, the representation row
    ``reps[rep]`` it reconstructs, the span, the predictor (``coefs[coef_offset:][:order]``,
    reversed: oldest sample first) and, on the last leaf of a stereo block, the block's
    stereo mode (0 L/R, 1 L/S, 2 R/S, 3 M/S) with its start in ``stereo >> 2``... encoded as
    ``stereo = 4 * block_start + mode + 1`` (0: nothing to do). After such a leaf the block's
    L and R are rebuilt from the two coded rows and all four rows (L, R, M, S) filled.
    """
    for k in range(leaves.shape[0]):
        slot = leaves[k, 0]
        rep = leaves[k, 1]
        start = leaves[k, 2]
        end = leaves[k, 3]
        order = leaves[k, 4]
        shift = leaves[k, 5]
        off = leaves[k, 6]
        y = reps[rep]
        qq = q[slot]
        c = coefs[off : off + order]
        for i in range(start, end):
            acc = np.int64(0)
            if i >= order:
                base = i - order
                for j in range(order):
                    acc += c[j] * y[base + j]
            else:
                for j in range(order - i, order):
                    acc += c[j] * y[i - order + j]
            if lossless:
                y[i] = (acc >> shift) + qq[i]
            else:
                r = (acc >> shift) + qq[i] * step
                if r < lo:
                    r = lo
                elif r > hi:
                    r = hi
                y[i] = r
        st = leaves[k, 7]
        if st > 0:
            mode = (st - 1) & 3
            b0 = (st - 1) >> 2
            for i in range(b0, end):
                if mode == 0:
                    left = reps[0, i]
                    right = reps[1, i]
                elif mode == 1:
                    left = reps[0, i]
                    right = left - reps[3, i]
                elif mode == 2:
                    right = reps[1, i]
                    left = right + reps[3, i]
                else:
                    side = reps[3, i]
                    total = (reps[2, i] << 1) | (side & 1)
                    left = (total + side) >> 1
                    right = (total - side) >> 1
                reps[0, i] = left
                reps[1, i] = right
                reps[2, i] = (left + right) >> 1
                reps[3, i] = left - right


# ---------------------------------------------------------------------- interpolation
# SZ3's idea in one dimension: code sample 0, then the samples at odd multiples of the
# largest power of two below n, then of its half, and so on down to the odd samples; each is
# predicted from already reconstructed samples on *both* sides (cubic where four neighbours
# exist, linear with two, the left one at the end). Not causal, but every neighbour used is
# coded before (it sits at an even multiple of the stride). On smooth data at loose bounds
# this beats any causal predictor, whose quantization noise it would feed back.


@jit
def interp_order(n, out):
    """Fill ``out`` (int64, n) with the coding order of the samples ``0..n-1``."""
    if n == 0:
        return
    out[0] = 0
    k = 1
    s = 1
    while s * 2 < n:
        s *= 2
    while s >= 1:
        for i in range(s, n, 2 * s):
            out[k] = i
            k += 1
        s //= 2


@jit(inline="always")
def _interp_pred(y, i, s, n):
    if i == 0:
        return 0.0
    if i + s < n:
        if i - 3 * s >= 0 and i + 3 * s < n:
            return (-y[i - 3 * s] + 9.0 * y[i - s] + 9.0 * y[i + s] - y[i + 3 * s]) / 16.0
        return 0.5 * (y[i - s] + y[i + s])
    return y[i - s]


@jit(inline="always")
def _stride(i):
    """The largest power of two dividing ``i`` (the level at which ``i`` is coded)."""
    return i & -i


@jit
def interp_encode(x, order, step, bound, f32, y, q, exc):
    """Closed-loop interpolation coding of ``x`` (float64, n) in ``order``: ``q[k]`` is the
    code of sample ``order[k]``; ``y`` the reconstruction (rounded to float32 when ``f32``);
    a sample whose bound cannot be kept is an exception (``exc[i] = 1``, ``y[i] = x[i]``).
    Returns the number of exceptions."""
    n = x.size
    n_exc = 0
    for k in range(n):
        i = order[k]
        pred = _interp_pred(y, i, _stride(i), n)
        q[k], y[i], exc[i] = _quantize_sample(x[i], pred, step, bound, f32)
        n_exc += exc[i]
    return n_exc


@jit
def interp_decode(q, order, step, f32, exc, exc_val, y):
    """Inverse of ``interp_encode``; ``exc`` (uint8, n) flags the verbatim samples, whose
    values ``exc_val`` holds at the same index."""
    n = y.size
    for k in range(n):
        i = order[k]
        if exc[i]:
            y[i] = exc_val[i]
            continue
        pred = _interp_pred(y, i, _stride(i), n)
        r = pred + np.float64(q[k]) * step
        y[i] = np.float64(np.float32(r)) if f32 else r


# ---------------------------------------------------------------------- frame plans
PLAN_OK = 0
PLAN_TRUNCATED = 1
PLAN_STEREO = 2
PLAN_ORDER = 3
PLAN_SHIFT = 4
PLAN_PADDING = 5
PLAN_FLAGS = 6

_STEREO_A = np.array([0, 0, 1, 2], np.int64)
_STEREO_B = np.array([1, 3, 3, 3], np.int64)


@jit
def n_flags(n, depth, min_split):
    """Split flags a node of ``n`` rows reserves: its splittable descendants and itself."""
    total = 0
    sizes = np.empty(64, np.int64)
    depths = np.empty(64, np.int64)
    sizes[0] = n
    depths[0] = depth
    top = 1
    while top > 0:
        top -= 1
        m = sizes[top]
        d = depths[top]
        if d > 0 and m >= 2 * min_split:
            total += 1
            sizes[top] = m // 2
            depths[top] = d - 1
            sizes[top + 1] = m - m // 2
            depths[top + 1] = d - 1
            top += 2
    return total


@jit
def parse_plan(
    buf, pos, block_starts, block_ends, stereo, n_slots, max_order, max_shift, depth, min_split, prec, leaves, coefs
):
    """Parse the per-block part of a stream frame (untrusted) into the ``leaves`` and ``coefs``
    arrays ``decode_int_frame`` takes (float frames use the same plan), without a Python
    call per predictor.

    Per block: the stereo mode byte (when ``stereo``), then per slot a split-flags byte (the
    preorder rule of ``stream._plan_block``; flags beyond the node count, or under an unsplit
    node, are errors) and each leaf's predictor: order, shift, ``order`` x ``prec``-bit two's
    complement coefficients LSB first with zero padding. Returns ``(status, pos, n_leaves,
    n_coefs)``; ``leaves`` must hold ``n_blocks * n_slots * 2**depth`` rows and ``coefs``
    32 times that."""
    end = buf.size
    nl = 0
    nc = 0
    mask = (np.int64(1) << prec) - 1
    half = np.int64(1) << (prec - 1)
    st_a = np.empty(64, np.int64)
    st_b = np.empty(64, np.int64)
    st_d = np.empty(64, np.int64)
    for blk in range(block_starts.size):
        start = block_starts[blk]
        stop = block_ends[blk]
        mode = -1
        if stereo:
            if pos >= end:
                return PLAN_TRUNCATED, pos, nl, nc
            mode = np.int64(buf[pos])
            pos += 1
            if mode > 3:
                return PLAN_STEREO, pos, nl, nc
        for s in range(n_slots):
            rep = s
            if stereo:
                rep = _STEREO_A[mode] if s == 0 else _STEREO_B[mode]
            if pos >= end:
                return PLAN_TRUNCATED, pos, nl, nc
            flags = np.int64(buf[pos])
            pos += 1
            if flags >> n_flags(stop - start, depth, min_split):
                return PLAN_FLAGS, pos, nl, nc
            fpos = 0
            st_a[0] = start
            st_b[0] = stop
            st_d[0] = depth
            top = 1
            while top > 0:
                top -= 1
                a = st_a[top]
                b = st_b[top]
                d = st_d[top]
                split = False
                if d > 0 and b - a >= 2 * min_split:
                    m = (a + b) // 2
                    if (flags >> fpos) & 1:
                        split = True
                        fpos += 1
                        st_a[top] = m
                        st_b[top] = b
                        st_d[top] = d - 1
                        st_a[top + 1] = a
                        st_b[top + 1] = m
                        st_d[top + 1] = d - 1
                        top += 2
                    else:
                        reserved = n_flags(m - a, d - 1, min_split) + n_flags(b - m, d - 1, min_split)
                        if (flags >> (fpos + 1)) & ((np.int64(1) << reserved) - 1):
                            return PLAN_FLAGS, pos, nl, nc
                        fpos += 1 + reserved
                if split:
                    continue
                # a leaf: its predictor
                if pos >= end:
                    return PLAN_TRUNCATED, pos, nl, nc
                order = np.int64(buf[pos])
                pos += 1
                if order > max_order:
                    return PLAN_ORDER, pos, nl, nc
                shift = np.int64(0)
                if order > 0:
                    if pos >= end:
                        return PLAN_TRUNCATED, pos, nl, nc
                    shift = np.int64(buf[pos])
                    pos += 1
                    if shift > max_shift:
                        return PLAN_SHIFT, pos, nl, nc
                    nbits = order * prec
                    nbytes = (nbits + 7) // 8
                    if pos + nbytes > end:
                        return PLAN_TRUNCATED, pos, nl, nc
                    acc = np.int64(0)
                    have = 0
                    q = 0
                    for byte_i in range(nbytes):
                        acc |= np.int64(buf[pos + byte_i]) << have
                        have += 8
                        while have >= prec and q < order:
                            c = acc & mask
                            if c >= half:
                                c -= np.int64(1) << prec
                            coefs[nc + order - 1 - q] = c  # reversed: oldest sample first
                            q += 1
                            acc >>= prec
                            have -= prec
                    if acc != 0:
                        return PLAN_PADDING, pos, nl, nc
                    pos += nbytes
                leaves[nl, 0] = s
                leaves[nl, 1] = rep
                leaves[nl, 2] = a
                leaves[nl, 3] = b
                leaves[nl, 4] = order
                leaves[nl, 5] = shift
                leaves[nl, 6] = nc
                leaves[nl, 7] = 0
                nl += 1
                nc += order
        if stereo:
            leaves[nl - 1, 7] = 4 * start + mode + 1
    return PLAN_OK, pos, nl, nc
