"""The value pattern of zeroipc-testsupport/src/pattern.rs, over a generated module's
layout tuples (see that file for the formula)."""
import numpy as np

_WIDTH = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i8": 8, "i16": 16, "i32": 32, "i64": 64}


def leaves(layout):
    out = []

    def walk(t, names, idx):
        k = t[0]
        if k == "P":
            out.append((names, idx, ("P", t[1])))
        elif k == "T":
            out.append((names, idx, ("T", t[1])))
        elif k == "E":
            out.append((names, idx, ("E", t[2], [v for _, v in t[3]])))
        elif k == "A":
            for j in range(t[1]):
                walk(t[2], names, idx + (j,))
        elif k == "S":
            for name, _off, ft in t[4]:
                walk(ft, names + [name], idx)
        else:
            raise ValueError(k)

    walk(layout, [], ())
    return out


def _int(p, v):
    w = _WIDTH[p]
    v &= (1 << w) - 1
    if p.startswith("i") and v >= 1 << (w - 1):
        v -= 1 << w
    return v


def value(kind, n):
    if kind[0] == "P":
        p = kind[1]
        if p == "f32":
            return float(np.float32(n % 1000) + np.float32(0.5))
        if p == "f64":
            return float(n % 100000) + 0.25
        return _int(p, n * 2654435761)
    if kind[0] == "T":
        return ("v%d" % n).encode()[: kind[1]]
    if kind[0] == "E":
        values = kind[2]
        m = n % (len(values) + 1)
        if m < len(values):
            v = values[m]
        else:
            v = 100
            while v in values:
                v += 1
        return _int(kind[1], v)
    raise ValueError(kind)


def _view(arr, names):
    v = arr
    for nm in names:
        v = v[nm]
    return v


def check(arr, layout, seed, what="array"):
    for k, (names, idx, kind) in enumerate(leaves(layout)):
        view = _view(arr, names)
        for i in range(arr.shape[0]):
            want = value(kind, i * 131 + k * 17 + seed * 7919)
            got = view[(i,) + idx]
            if kind[0] == "T":
                ok = bytes(got) == want
            elif kind[0] == "P" and kind[1] in ("f32", "f64"):
                ok = float(got) == want
            else:
                ok = int(got) == want
            if not ok:
                raise AssertionError(f"{what}[{i}] {names}{list(idx)}: got {got!r}, expected {want!r} (seed {seed})")


def write(arr, layout, seed):
    for k, (names, idx, kind) in enumerate(leaves(layout)):
        view = _view(arr, names)
        for i in range(arr.shape[0]):
            view[(i,) + idx] = value(kind, i * 131 + k * 17 + seed * 7919)
