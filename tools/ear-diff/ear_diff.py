"""Differential test: random Objects blocks (all features mixed) through ear 2.1.0
and `admix gains`, on every BS.2051 layout. Usage: ear_diff.py SEED N"""
import json, random, subprocess, sys, math
from fractions import Fraction
from ear.core import bs2051
from ear.core.objectbased.gain_calc import GainCalc
from ear.core.metadata_input import ObjectTypeMetadata, ExtraData
from ear.fileio.adm.elements import (AudioBlockFormatObjects, ObjectPolarPosition, ObjectCartesianPosition,
    ChannelLock, ObjectDivergence, CartesianZone, PolarZone, ScreenEdgeLock)
from ear.common import PolarScreen, CartesianScreen, PolarPosition, CartesianPosition
import numpy as np

seed = int(sys.argv[1]); N = int(sys.argv[2])
rng = random.Random(seed)
LAYOUTS = ["0+2+0", "0+5+0", "2+5+0", "4+5+0", "4+5+1", "3+7+0", "4+9+0", "9+10+3", "0+7+0", "4+7+0"]
import os
B = os.environ.get("ADMIX", os.path.join(os.path.dirname(__file__), "../../target/release/admix"))

def r(a, b): return round(rng.uniform(a, b), 6)
def maybe(p): return rng.random() < p

def gen():
    cart = maybe(0.5)
    j = {"cartesian": cart}
    sel = {}
    if maybe(0.1): sel["horizontal"] = rng.choice(["left", "right"])
    if maybe(0.1): sel["vertical"] = rng.choice(["top", "bottom"])
    if cart:
        lim = 1.2 if maybe(0.1) else 1.0
        x, y, z = (rng.choice([r(-lim, lim), rng.choice([-1.0, 0.0, 1.0])]) for _ in range(3))
        pos = {"X": x, "Y": y, "Z": z}
        epos = ObjectCartesianPosition(X=x, Y=y, Z=z, screenEdgeLock=ScreenEdgeLock(**sel))
    else:
        az = rng.choice([r(-180, 180), float(rng.choice([0, 30, -30, 110, -110, 180, 90, 45, 135]))])
        el = rng.choice([r(-90, 90), float(rng.choice([0, 30, -30, 90, -90, 45]))])
        d = rng.choice([1.0, 1.0, r(0, 2), 0.0])
        pos = {"azimuth": az, "elevation": el, "distance": d}
        epos = ObjectPolarPosition(azimuth=az, elevation=el, distance=d, screenEdgeLock=ScreenEdgeLock(**sel))
    if sel: pos["screenEdgeLock"] = sel
    j["position"] = pos
    kw = dict(position=epos, cartesian=cart)
    if maybe(0.5):
        if cart: w, h, dp = r(0, 1), r(0, 1), (r(0, 1) if maybe(0.5) else 0.0)
        else: w, h, dp = r(0, 360), r(0, 360), (r(0, 1) if maybe(0.3) else 0.0)
        j.update(width=w, height=h, depth=dp); kw.update(width=w, height=h, depth=dp)
    if maybe(0.2):
        g = rng.choice([0.0, r(0, 2)]); j["gain"] = g; kw["gain"] = g
    if maybe(0.3):
        df = r(0, 1); j["diffuse"] = df; kw["diffuse"] = df
    if maybe(0.25):
        md = rng.choice([None, r(0, 2)])
        j["channelLock"] = {"flag": 1} | ({"maxDistance": md} if md is not None else {})
        kw["channelLock"] = ChannelLock(maxDistance=md)
    if maybe(0.3):
        v = r(0, 1); od = {"value": v}; e = dict(value=v)
        if cart:
            if maybe(0.7): pr = r(0, 1); od["positionRange"] = pr; e["positionRange"] = pr
        else:
            if maybe(0.7): ar = r(0, 180); od["azimuthRange"] = ar; e["azimuthRange"] = ar
        j["objectDivergence"] = od; kw["objectDivergence"] = ObjectDivergence(**e)
    if maybe(0.25):
        zs, ezs = [], []
        for _ in range(rng.randint(1, 3)):
            if maybe(0.5):
                a = sorted([r(-1, 1), r(-1, 1)]); b = sorted([r(-1, 1), r(-1, 1)]); c = sorted([r(-1, 1), r(-1, 1)])
                zs.append({"minX": a[0], "maxX": a[1], "minY": b[0], "maxY": b[1], "minZ": c[0], "maxZ": c[1]})
                ezs.append(CartesianZone(minX=a[0], maxX=a[1], minY=b[0], maxY=b[1], minZ=c[0], maxZ=c[1]))
            else:
                e = sorted([r(-90, 90), r(-90, 90)]); a1, a2 = r(-180, 180), r(-180, 180)
                zs.append({"minAzimuth": a1, "maxAzimuth": a2, "minElevation": e[0], "maxElevation": e[1]})
                ezs.append(PolarZone(minAzimuth=a1, maxAzimuth=a2, minElevation=e[0], maxElevation=e[1]))
        j["zoneExclusion"] = zs; kw["zoneExclusion"] = ezs
    line = {"block": j}
    extra = ExtraData()
    if maybe(0.2):
        j["screenRef"] = True; kw["screenRef"] = True
        if maybe(0.5):
            ar = r(1.2, 2.4); az = r(-20, 20); el = r(-10, 10); wd = r(20, 90)
            line["referenceScreen"] = {"aspectRatio": ar, "screenCentrePosition": {"azimuth": az, "elevation": el, "distance": 1.0}, "screenWidth": {"azimuth": wd}}
            extra = ExtraData(reference_screen=PolarScreen(aspectRatio=ar, centrePosition=PolarPosition(az, el, 1.0), widthAzimuth=wd))
        elif maybe(0.5):
            ar = r(1.2, 2.4); x = r(-0.3, 0.3); z = r(-0.3, 0.3); wx = r(0.5, 1.5)
            line["referenceScreen"] = {"aspectRatio": ar, "screenCentrePosition": {"X": x, "Y": 1.0, "Z": z}, "screenWidth": {"X": wx}}
            extra = ExtraData(reference_screen=CartesianScreen(aspectRatio=ar, centrePosition=CartesianPosition(x, 1.0, z), widthX=wx))
    return line, ObjectTypeMetadata(block_format=AudioBlockFormatObjects(**kw), extra_data=extra)

worst = 0.0; bad = 0; total = 0
for name in LAYOUTS:
    layout = bs2051.get_layout(name)
    gc = GainCalc(layout)
    lines, want = [], []
    for i in range(N):
        line, md = gen()
        line["id"] = i
        try:
            g = gc.render(md)
        except Exception as e:
            continue
        lines.append(line); want.append((np.asarray(g.direct), np.asarray(g.diffuse)))
    p = subprocess.run([B, "gains", "-l", name, "--json"], input="".join(json.dumps(l) + "\n" for l in lines),
                       capture_output=True, text=True)
    got = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(got) == len(lines), (name, len(got), len(lines), p.stderr[-500:])
    for l, (wd, wf), o in zip(lines, want, got):
        total += 1
        if "error" in o:
            bad += 1; print("ERROR", name, json.dumps(l), o["error"]); continue
        e = max(np.max(np.abs(np.asarray(o["direct"]) - wd)), np.max(np.abs(np.asarray(o["diffuse"]) - wf)))
        worst = max(worst, e)
        if e > 1e-6:
            bad += 1
            if bad <= 15:
                print("DIFF", name, f"{e:.3g}", json.dumps(l), "\n  want", np.round(wd, 6).tolist(), "\n  got ", np.round(o["direct"], 6).tolist())
print(f"seed {seed}: {total} cases, {bad} over 1e-6, worst {worst:.3g}")
