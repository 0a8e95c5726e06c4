"""Compressed PT-502 sentences: expand each into the full sentence it stands for.

Some PT502/PT600X firmwares send, instead of a sentence, what changed since the previous
full sentence of the same connection (layout read from real captures)::

    @ <check> ( <field> <kept> <length> <length new bytes> )...

``check`` is the XOR of every byte of the previous full sentence, line end included. The
reference is cut into fields on both ``,`` and ``/`` (field 0 is the type: ``$POS`` may
become ``$CPA``; the line end belongs to the last field); each group keeps the first
``kept`` bytes of its field and appends the new bytes. Field numbers rise from group to
group and are below 32, which is how the framer finds the end (there is no terminator).
The expanded sentence is decoded as any sentence, and is the reference of the next one.

A connection's reference is its last ``$`` sentence (photo chunks aside), plain or
expanded; without one (a capture that starts mid-connection) a compressed frame is a
``no_reference`` reject, and with a check byte that disagrees a ``bad_checksum`` one.
"""

import numpy as np

from .._numba import helper, jit
from ._codes import R_BAD_CHECKSUM, R_BAD_FIELD, R_NO_REFERENCE
from ._text_kernels import ZERO, byte_at, grow_i64

__all__ = [
    "expand_compressed",
    "last_references",
    "REF_NONE",
    "REF_BUF",
    "REF_INIT",
    "REF_AUX",
]

#: where a reference's bytes are: nowhere, the chunk, the carried-over state, the expansions
REF_NONE, REF_BUF, REF_INIT, REF_AUX = 0, 1, 2, 3
_MAX_FIELDS = 64


@helper
def _copy_ref(where, buf, init, aux, rs, re_, scratch):
    """The reference's bytes into ``scratch`` (the three sources differ in type: the chunk
    is read-only)."""
    n = re_ - rs
    for i in range(n):
        if where == REF_BUF:
            scratch[i] = byte_at(buf, rs + i)
        elif where == REF_INIT:
            scratch[i] = init[rs + i]
        else:
            scratch[i] = aux[rs + i]
    return n


@helper
def _is_sentence(buf, s, e):
    """A ``$`` sentence that is not a ``$PHD`` photo chunk."""
    if e - s < 1 or byte_at(buf, s) != 36:
        return False
    return not (e - s >= 4 and byte_at(buf, s + 1) == 80 and byte_at(buf, s + 2) == 72
                and byte_at(buf, s + 3) == 68)


@helper
def _is_compressed(buf, s, e):
    return e - s >= 3 and byte_at(buf, s) == 64 and byte_at(buf, s + 2) < 32


@helper
def _expand(buf, s, e, ref, rs, re_, le, nle, aux, pos, cut):
    """Write the sentence that ``buf[s:e]`` stands for into ``aux[pos:]``; returns
    ``(new pos, reason)``. The reference is ``ref[rs:re_]`` followed by ``le[:nle]``;
    ``cut`` is room for :data:`_MAX_FIELDS` + 1 field starts."""
    # field k of the reference is ref[cut[k] : cut[k + 1] - 1] (the separator after it
    # is at cut[k + 1] - 1); the last one runs to the end, line end included
    nf = 0
    cut[0] = rs
    for i in range(rs, re_):
        if ref[i] == 44 or ref[i] == 47:
            nf += 1
            if nf >= _MAX_FIELDS:
                return pos, R_BAD_FIELD
            cut[nf] = i + 1
    nf += 1
    check = 0
    for i in range(rs, re_):
        check ^= ref[i]
    for i in range(nle):
        check ^= le[i]
    if check != byte_at(buf, s + 1):
        return pos, R_BAD_CHECKSUM
    g = s + 2
    for k in range(nf):
        last = k == nf - 1
        fs = cut[k]
        fe = re_ if last else cut[k + 1] - 1
        if g < e and byte_at(buf, g) == k:
            kept = byte_at(buf, g + 1) + ZERO
            length = byte_at(buf, g + 2) + ZERO
            flen = fe - fs + (nle if last else 0)
            if kept > flen:
                return pos, R_BAD_FIELD
            for i in range(kept):
                aux[pos] = ref[fs + i] if fs + i < fe else le[fs + i - fe]
                pos += 1
            for i in range(length):
                aux[pos] = byte_at(buf, g + 3 + i)
                pos += 1
            g += 3 + length
        else:
            for i in range(fs, fe):
                aux[pos] = ref[i]
                pos += 1
            if last:
                for i in range(nle):
                    aux[pos] = le[i]
                    pos += 1
        if not last:
            aux[pos] = ref[fe]
            pos += 1
    if g < e:  # a group for a field the reference does not have
        return pos, R_BAD_FIELD
    return pos, 0


@helper(inline=True)
def _given_reference(init_s, init_e, init_le, init_nle, init_open, k, le):
    """The reference segment ``k`` is given to start from (see :func:`expand_compressed`):
    ``(where, start, end, line end's length, open)``, the line end's bytes into ``le``."""
    le[0] = init_le[k, 0]
    le[1] = init_le[k, 1]
    return ((REF_NONE if init_s[k] < 0 else REF_INIT), init_s[k], init_e[k], init_nle[k],
            init_open[k] != 0)


@helper(inline=True)
def _put(out, i, where, rs, re_, le, nle, is_open):
    """Row ``i`` of a reference table (see :func:`expand_compressed`'s ``out``)."""
    out[i, 0] = where
    out[i, 1] = rs
    out[i, 2] = re_
    out[i, 3] = le[0]
    out[i, 4] = le[1]
    out[i, 5] = nle
    out[i, 6] = 1 if is_open else 0


@helper
def _line_end(buf, j, e, le, nle):
    """Append the CR/LF bytes at ``buf[j:e]`` to ``le`` (a line end has at most two);
    returns ``(nle, j)``."""
    while j < e and nle < 2 and (byte_at(buf, j) == 13 or byte_at(buf, j) == 10):
        le[nle] = byte_at(buf, j)
        nle += 1
        j += 1
    return nle, j


#: the state :func:`_reference_walk` stops and goes on in: where it is (segment, its frame,
#: whether the segment was started), the reference (where, start, end, line end's length,
#: whether the line end may go on), the expansions' length, and the room it stopped for
(_K, _J, _STARTED, _WHERE, _RS, _RE, _NLE, _OPEN, _POS, _NEED_AUX, _NEED_REF) = range(11)


@jit
def expand_compressed(buf, seg_s, seg_e, seg_final, seg_prev, f_s, f_e, f_seg,
                      init, init_s, init_e, init_le, init_nle, init_open):
    """Expand the compressed frames among ``f_s/f_e`` (frames in segment order).

    Segment k starts from the reference ``init[init_s[k]:init_e[k]]`` + ``init_le[k]``
    (``init_s[k] < 0``: none; ``init_open[k]``: its line end may go on at the segment's
    start), unless ``seg_prev[k]`` names an earlier segment of its connection: then it
    starts from the reference that one ended with.

    Returns ``(aux, p_s, p_e, status, out)``: expansions in ``aux``; for compressed frame
    j that expanded, ``p_s[j], p_e[j]`` its sentence in ``aux`` without the line end
    (``-1`` otherwise) and ``status[j]`` a reject reason or 0; ``out[k]`` the reference each
    segment ends with: ``(where, s, e, le0, le1, nle, open)``.
    """
    n = f_s.shape[0]
    nseg = seg_s.shape[0]
    p_s = np.full(n, -1, np.int64)
    p_e = np.full(n, -1, np.int64)
    status = np.zeros(n, np.int8)
    out = np.zeros((nseg, 7), np.int64)
    aux = np.empty(256, np.uint8)
    scratch = np.empty(256, np.uint8)
    cut = np.empty(_MAX_FIELDS + 1, np.int64)
    le = np.zeros(2, np.uint8)
    st = np.zeros(11, np.int64)
    while _reference_walk(buf, seg_s, seg_e, seg_final, seg_prev, f_s, f_e, f_seg, init,
                          init_s, init_e, init_le, init_nle, init_open, p_s, p_e, status, out,
                          aux, scratch, cut, le, st):
        if st[_NEED_AUX] > aux.shape[0]:
            grown = np.empty(2 * st[_NEED_AUX], np.uint8)
            grown[: st[_POS]] = aux[: st[_POS]]
            aux = grown
        if st[_NEED_REF] > scratch.shape[0]:
            scratch = np.empty(2 * st[_NEED_REF], np.uint8)
    return aux[: st[_POS]], p_s, p_e, status, out


@helper(inline=True)
def _reference_walk(buf, seg_s, seg_e, seg_final, seg_prev, f_s, f_e, f_seg, init, init_s,
                    init_e, init_le, init_nle, init_open, p_s, p_e, status, out, aux, scratch,
                    cut, le, st):
    """The walk of :func:`expand_compressed`, resumable: it stops before a compressed frame
    whose expansion ``aux`` or whose reference ``scratch`` has no room for (and returns
    True), and goes on from the state ``st`` when called again. (Growing arrays inside the
    loop would make numba count references on every frame: four times the walk's cost.)"""
    n = f_s.shape[0]
    nseg = seg_s.shape[0]
    k = st[_K]
    j = st[_J]
    started = st[_STARTED] != 0
    where = st[_WHERE]
    rs = st[_RS]
    re_ = st[_RE]
    nle = st[_NLE]
    is_open = st[_OPEN] != 0
    pos = st[_POS]
    while k < nseg:
        final = seg_final[k] != 0
        if not started:
            started = True
            if seg_prev[k] < 0:
                where, rs, re_, nle, is_open = _given_reference(
                    init_s, init_e, init_le, init_nle, init_open, k, le)
            elif seg_prev[k] != k - 1:  # (k - 1's state is still in hand)
                q = seg_prev[k]
                where = out[q, 0]
                rs = out[q, 1]
                re_ = out[q, 2]
                le[0] = out[q, 3]
                le[1] = out[q, 4]
                nle = out[q, 5]
                is_open = out[q, 6] != 0
            if is_open:
                nle, stop = _line_end(buf, seg_s[k], seg_e[k], le, nle)
                is_open = nle < 2 and stop == seg_e[k] and not final
        while j < n and f_seg[j] == k:
            s = f_s[j]
            e = f_e[j]
            if _is_sentence(buf, s, e):
                where = REF_BUF
                rs = s
                re_ = e
                nle, stop = _line_end(buf, e, seg_e[k], le, 0)
                is_open = nle < 2 and stop == seg_e[k] and not final
            elif _is_compressed(buf, s, e):
                if where == REF_NONE:
                    status[j] = R_NO_REFERENCE
                else:
                    m = re_ - rs
                    need = pos + m + nle + (e - s)
                    if m > scratch.shape[0] or need > aux.shape[0]:
                        st[_K] = k
                        st[_J] = j
                        st[_STARTED] = 1
                        st[_WHERE] = where
                        st[_RS] = rs
                        st[_RE] = re_
                        st[_NLE] = nle
                        st[_OPEN] = 1 if is_open else 0
                        st[_POS] = pos
                        st[_NEED_AUX] = need
                        st[_NEED_REF] = m
                        return True
                    _copy_ref(where, buf, init, aux, rs, re_, scratch)
                    start = pos
                    pos, reason = _expand(buf, s, e, scratch, 0, m, le, nle, aux, pos, cut)
                    if reason != 0:
                        status[j] = reason
                        pos = start
                    else:
                        where = REF_AUX
                        rs = start
                        re_ = pos
                        nle = 0
                        is_open = False
                        q = pos
                        while q > start and (aux[q - 1] == 13 or aux[q - 1] == 10):
                            q -= 1
                        p_s[j] = start
                        p_e[j] = q
            j += 1
        _put(out, k, where, rs, re_, le, nle, is_open)
        k += 1
        started = False
    st[_POS] = pos
    return False


@jit
def last_references(buf, seg_s, seg_e, seg_final, seg_prev, f_s, f_e, f_seg, targets, init_s,
                    init_e, init_le, init_nle, init_open):
    """The references segments ``targets`` end with, as rows of :func:`expand_compressed`'s
    ``out``, for frames among which none is compressed (the arguments as there).

    Then a segment ends with its last sentence, or, when it has none, with what the
    segment before it on its connection (``seg_prev``) ended with; only the line end
    after a sentence may go on into the segments after it. So each target is traced back
    along its connection to the segment of its last sentence, and only the line ends are
    followed forward from there: the frames of the other segments are never visited,
    where the walk of :func:`expand_compressed` visits every frame and keeps a row for
    every segment (a tracker-server chunk has tens of thousands of segments and a few
    hundred connections).
    """
    m = targets.shape[0]
    out = np.zeros((m, 7), np.int64)
    path = np.empty(64, np.int64)  # segments traced back from one target
    le = np.zeros(2, np.uint8)
    for i in range(m):
        q = targets[i]
        n_path = 0
        found = -1
        while True:
            if n_path == path.shape[0]:
                path = grow_i64(path, n_path)
            path[n_path] = q
            n_path += 1
            found = _last_sentence(buf, f_s, f_e, f_seg, q)
            if found >= 0 or seg_prev[q] < 0:
                break
            q = seg_prev[q]
        if found >= 0:  # the line end after it, then the segments after q
            where = REF_BUF
            rs = f_s[found]
            re_ = f_e[found]
            nle, stop = _line_end(buf, re_, seg_e[q], le, 0)
            is_open = nle < 2 and stop == seg_e[q] and seg_final[q] == 0
            n_path -= 1
        else:  # q starts its connection here: from what it was given, q included
            where, rs, re_, nle, is_open = _given_reference(
                init_s, init_e, init_le, init_nle, init_open, q, le)
        for p in range(n_path - 1, -1, -1):
            if not is_open:
                break
            k = path[p]
            nle, stop = _line_end(buf, seg_s[k], seg_e[k], le, nle)
            is_open = nle < 2 and stop == seg_e[k] and seg_final[k] == 0
        _put(out, i, where, rs, re_, le, nle, is_open)
    return out


@helper
def _last_sentence(buf, f_s, f_e, f_seg, k):
    """The last sentence frame of segment ``k`` (frames are in segment order), or -1."""
    lo = 0
    hi = f_seg.shape[0]
    while lo < hi:  # the first frame of a later segment
        mid = (lo + hi) // 2
        if f_seg[mid] <= k:
            lo = mid + 1
        else:
            hi = mid
    j = lo - 1
    while j >= 0 and f_seg[j] == k:
        if _is_sentence(buf, f_s[j], f_e[j]):
            return j
        j -= 1
    return -1
