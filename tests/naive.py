"""Slow, obvious reference implementations the kernels are tested against.

Plain Python over lists of one device's fixes (already sorted by time, no duplicates),
and decoders of the Parquet encodings the part-file writer produces: each function states
its rule as directly as possible, with no concern for speed.
"""

from __future__ import annotations

import math

import shapely

R = 6_371_008.8


def haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * R * math.asin(math.sqrt(min(1.0, a)))


def local_m(lat1, lon1, lat2, lon2):
    k = R * math.pi / 180
    return math.hypot((lat2 - lat1) * k, (lon2 - lon1) * k * math.cos(math.radians(lat1)))


def path_m(fixes, a, b):
    return sum(haversine(fixes[i - 1][1], fixes[i - 1][2], fixes[i][1], fixes[i][2])
               for i in range(a + 1, b + 1))


def stops_and_trips(fixes, *, min_distance_m=200, min_duration_s=180, stop_gap_s=3600,
                    radius_m=50, moving_kmh=2):
    """``fixes``: list of (t_s, lat, lon, speed_kmh or nan). Returns stops as (first, last
    stationary index), trips as (first, last index) starting at the first fix after a stop,
    and the trips' idle seconds."""
    n = len(fixes)
    if n == 0:
        return [], [], []
    clusters = []
    members = [0]
    for i in range(1, n):
        clat = sum(fixes[j][1] for j in members) / len(members)
        clon = sum(fixes[j][2] for j in members) / len(members)
        if local_m(clat, clon, fixes[i][1], fixes[i][2]) <= radius_m and \
                not fixes[i][3] >= moving_kmh:
            members.append(i)
        else:
            clusters.append((members[0], members[-1]))
            members = [i]
    clusters.append((members[0], members[-1]))
    cands, idles = [], []
    for cs, ce in clusters:
        together = ce > cs
        while cs < ce and fixes[cs][3] >= moving_kmh:
            cs += 1
        while ce > cs and fixes[ce][3] >= moving_kmh:
            ce -= 1

        def hop_kmh(i):
            dt = fixes[i + 1][0] - fixes[i][0]
            return path_m(fixes, i, i + 1) / dt * 3.6 if dt > 0 else 0.0

        if cs < ce and math.isnan(fixes[cs][3]) and cs > 0 and \
                hop_kmh(cs - 1) >= moving_kmh and hop_kmh(cs) >= moving_kmh:
            cs += 1
        if ce > cs and math.isnan(fixes[ce][3]) and ce + 1 < n and \
                fixes[ce][0] - fixes[ce - 1][0] > fixes[ce + 1][0] - fixes[ce][0] and \
                hop_kmh(ce - 1) < moving_kmh and hop_kmh(ce) >= moving_kmh:
            ce -= 1
        until = fixes[ce][0]
        if ce + 1 < n and (together or fixes[ce][3] < moving_kmh) and \
                fixes[ce + 1][0] - fixes[ce][0] >= min_duration_s:
            until = fixes[ce + 1][0]
        if until - fixes[cs][0] >= min_duration_s:
            cands.append([cs, ce])
        elif ce > cs:
            idles.append((cs, ce))

    def gap_between(a, b):
        return any(fixes[j][0] - fixes[j - 1][0] > stop_gap_s for j in range(a + 1, b + 1))

    stops = []
    for c in cands:
        if stops and not gap_between(stops[-1][1], c[0]) and \
                path_m(fixes, stops[-1][1], c[0]) < min_distance_m:
            stops[-1][1] = c[1]
        else:
            stops.append(list(c))
    # movement ranges: before the first stop, between stops, after the last
    edges = [0] + [x for s in stops for x in s] + [n - 1]
    trips, idle = [], []
    for k in range(0, len(edges), 2):
        a, b = edges[k], edges[k + 1]
        if k == 0 and stops and a == stops[0][0]:
            continue
        if k + 2 == len(edges) and stops and b == stops[-1][1]:
            continue
        ps = a
        for j in range(a + 1, b + 2):
            if j <= b and fixes[j][0] - fixes[j - 1][0] <= stop_gap_s:
                continue
            pe = j - 1
            if pe > ps and path_m(fixes, ps, pe) >= min_distance_m:
                after_stop = ps == a and any(s[1] == a for s in stops)
                trips.append((ps + after_stop, pe))
                idle.append(sum(fixes[e][0] - fixes[s][0] for s, e in idles
                                if s >= ps and e <= pe))
            ps = j
    return [tuple(s) for s in stops], trips, idle


def overspeed_runs(times, speeds, limits, min_duration_s=0):
    """Maximal runs with speed > limit under one limit: list of (first, last) index."""
    runs = []
    i = 0
    n = len(times)
    while i < n:
        if not speeds[i] > limits[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and speeds[j + 1] > limits[j + 1] and limits[j + 1] == limits[i]:
            j += 1
        if times[j] - times[i] >= min_duration_s:
            runs.append((i, j))
        i = j + 1
    return runs


def inside(geometry, radius_m, lat, lon):
    """Is one fix inside one geofence (circle when radius_m > 0)."""
    if radius_m and radius_m > 0:
        return haversine(lat, lon, geometry.y, geometry.x) <= radius_m
    return bool(shapely.intersects(geometry, shapely.Point(lon, lat)))


def crossings(times, flags, min_dwell_s=0):
    """Debounced enter/exit events of one device and one geofence: list of (index, enter)."""
    n = len(flags)
    if n == 0:
        return []
    events = []
    confirmed = flags[0]
    i = 0
    while i < n:
        j = i
        while j + 1 < n and flags[j + 1] == flags[i]:
            j += 1
        until = times[j + 1] if j + 1 < n else times[j]
        if flags[i] != confirmed and until - times[i] >= min_dwell_s:
            events.append((i, flags[i]))
            confirmed = flags[i]
        i = j + 1
    return events


def harsh(times, speeds, courses, *, accel, brake, turn, turn_min_kmh, max_gap_s):
    """Harsh events of one device as ``(first fix, last fix, kind, peak)``, sorted by first
    fix then kind (0 acceleration, 1 braking, 2 turn): for each kind, consecutive hops over
    its threshold make one event."""
    events = []
    for kind in range(3):
        run = None
        for i in range(len(times) - 1):
            dt = times[i + 1] - times[i]
            value = None
            if 0 < dt <= max_gap_s:
                a = (speeds[i + 1] - speeds[i]) / 3.6 / dt
                if kind == 0 and a >= accel:
                    value = a
                if kind == 1 and a <= -brake:
                    value = -a
                if kind == 2 and min(speeds[i], speeds[i + 1]) >= turn_min_kmh:
                    d = (courses[i + 1] - courses[i] + 180) % 360 - 180
                    side = (speeds[i] + speeds[i + 1]) / 2 / 3.6 * math.radians(abs(d)) / dt
                    if side >= turn:
                        value = side
            if value is not None:
                run = [i, i + 1, kind, value] if run is None else [run[0], i + 1, kind,
                                                                   max(run[3], value)]
            elif run is not None:
                events.append(tuple(run))
                run = None
        if run is not None:
            events.append(tuple(run))
    return sorted(events, key=lambda e: (e[0], e[2]))


def _uleb(data, p):
    value = shift = 0
    while True:
        byte = data[p]
        p += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, p


def _bits_lsb_first(data, p, count, width):
    """``count`` values of ``width`` bits packed least significant bit first from byte
    ``p``, as a string of bits read one by one."""
    bits = "".join(format(byte, "08b")[::-1] for byte in data[p:p + (count * width + 7) // 8])
    return [int(bits[i * width:(i + 1) * width][::-1] or "0", 2) for i in range(count)]


def parquet_hybrid(data, n, width):
    """The ``n`` values of Parquet's RLE / bit-packed hybrid encoding in ``data``."""
    values, p = [], 0
    while len(values) < n:
        header, p = _uleb(data, p)
        if header & 1:  # bit-packed: groups of eight
            count = (header >> 1) * 8
            values += _bits_lsb_first(data, p, count, width)
            p += count * width // 8
        else:  # a run of one value, in whole bytes
            size = (width + 7) // 8
            values += [int.from_bytes(data[p:p + size], "little")] * (header >> 1)
            p += size
    return values[:n]


def parquet_delta(data):
    """The values of Parquet's DELTA_BINARY_PACKED encoding in ``data`` (64-bit)."""
    def signed(u):
        return (u >> 1) ^ -(u & 1)

    block, p = _uleb(data, 0)
    miniblocks, p = _uleb(data, p)
    total, p = _uleb(data, p)
    first, p = _uleb(data, p)
    values = [signed(first)] if total else []
    per_miniblock = block // miniblocks
    while len(values) < total:
        least, p = _uleb(data, p)
        least = signed(least)
        widths = list(data[p:p + miniblocks])
        p += miniblocks
        for width in widths:
            if len(values) >= total:
                break
            for step in _bits_lsb_first(data, p, per_miniblock, width):
                if len(values) < total:
                    value = (values[-1] + least + step) % 2**64
                    values.append(value - 2**64 if value >= 2**63 else value)
            p += per_miniblock * width // 8
    return values
