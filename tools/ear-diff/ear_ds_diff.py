"""Differential test for DirectSpeakers: random blocks through ear 2.1.0's
DirectSpeakersPanner and `admix gains --type direct-speakers`. Usage: SEED N"""
import json, random, subprocess, sys, warnings
warnings.simplefilter("ignore")
from ear.core import bs2051
from ear.core.direct_speakers.panner import DirectSpeakersPanner, itu_packs
from ear.core.metadata_input import DirectSpeakersTypeMetadata, ExtraData
from ear.fileio.adm.elements import AudioBlockFormatDirectSpeakers, ScreenEdgeLock, AudioPackFormat, TypeDefinition
from ear.fileio.adm.elements.geom import DirectSpeakerPolarPosition, DirectSpeakerCartesianPosition, BoundCoordinate
from ear.fileio.adm.elements.main_elements import Frequency
import numpy as np

seed = int(sys.argv[1]); N = int(sys.argv[2])
rng = random.Random(seed)
LAYOUTS = ["0+2+0", "0+5+0", "2+5+0", "4+5+0", "4+5+1", "3+7+0", "4+9+0", "9+10+3", "0+7+0", "4+7+0"]
ALL = sorted({c.name for n in LAYOUTS for c in bs2051.get_layout(n).channels} | {"M+SC", "M-SC", "M+110", "M-110", "U+110", "U-110"})
import os
B = os.environ.get("ADMIX", os.path.join(os.path.dirname(__file__), "../../target/release/admix"))
def r(a, b): return round(rng.uniform(a, b), 6)
def maybe(p): return rng.random() < p

def bound(v, lo, hi):
    """plain value, or {value, min, max} with the value inside or outside"""
    if maybe(0.6): return v, BoundCoordinate(v)
    mn = round(v - r(0, (hi - lo) / 4), 6) if maybe(0.8) else None
    mx = round(v + r(0, (hi - lo) / 4), 6) if maybe(0.8) else None
    j = {"value": v}
    if mn is not None: j["min"] = mn
    if mx is not None: j["max"] = mx
    return j, BoundCoordinate(v, min=mn, max=mx)

def gen():
    line = {}
    labels = []
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        l = rng.choice(ALL + ["foo", "LFE", "LFEL", "LFER", "lfe"])
        if maybe(0.3): l = "urn:itu:bs:2051:0:speaker:" + l
        labels.append(l)
    cart = maybe(0.25)
    sel = {}
    if maybe(0.08): sel["horizontal"] = rng.choice(["left", "right"])
    if maybe(0.05): sel["vertical"] = rng.choice(["top", "bottom"])
    if cart:
        js, bs = zip(*(bound(rng.choice([r(-1, 1), float(rng.choice([-1, 0, 1]))]), -1, 1) for _ in range(3)))
        pos = {"X": js[0], "Y": js[1], "Z": js[2]}
        epos = DirectSpeakerCartesianPosition(bounded_X=bs[0], bounded_Y=bs[1], bounded_Z=bs[2], screenEdgeLock=ScreenEdgeLock(**sel))
    else:
        az = rng.choice([r(-180, 180), float(rng.choice([0, 30, -30, 110, -110, 135, 180, 90, 45, 60]))])
        el = rng.choice([r(-90, 90), float(rng.choice([0, 30, -30, 90, 45]))])
        ja, ba = bound(az, -180, 180); je, be = bound(el, -90, 90)
        pos = {"azimuth": ja, "elevation": je}
        kw = {}
        if maybe(0.3):
            d = r(0.5, 1.5); pos["distance"] = d; kw["bounded_distance"] = BoundCoordinate(d)
        epos = DirectSpeakerPolarPosition(bounded_azimuth=ba, bounded_elevation=be, screenEdgeLock=ScreenEdgeLock(**sel), **kw)
    if sel: pos["screenEdgeLock"] = sel
    block = {"speakerLabel": labels, "position": pos}
    if cart: block["cartesian"] = True
    line["block"] = block
    freq = Frequency()
    if maybe(0.15):
        lp = rng.choice([120.0, 200.0, 250.0, 80.0]); line["frequency"] = {"lowPass": lp}; freq = Frequency(lowPass=lp)
    packs = None
    if maybe(0.25) and labels:
        pid = rng.choice(sorted(itu_packs))
        line["audioPackFormatID"] = pid
        packs = [AudioPackFormat(id=pid, is_common_definition=True, audioPackFormatName="x", type=TypeDefinition.DirectSpeakers)]
    md = DirectSpeakersTypeMetadata(block_format=AudioBlockFormatDirectSpeakers(position=epos, speakerLabel=labels),
                                    audioPackFormats=packs, extra_data=ExtraData(channel_frequency=freq))
    return line, md

worst = 0.0; bad = 0; total = 0; skipped = 0
for name in LAYOUTS:
    p = DirectSpeakersPanner(bs2051.get_layout(name))
    lines, want = [], []
    for i in range(N):
        line, md = gen()
        line["id"] = i
        try:
            g = p.handle(md)
        except Exception as e:
            skipped += 1
            continue
        lines.append(line); want.append(np.asarray(g))
    pr = subprocess.run([B, "gains", "-l", name, "--type", "direct-speakers", "--json"],
                        input="".join(json.dumps(l) + "\n" for l in lines), capture_output=True, text=True)
    got = [json.loads(l) for l in pr.stdout.splitlines()]
    assert len(got) == len(lines), (name, len(got), len(lines), pr.stderr[-500:])
    for l, w, o in zip(lines, want, got):
        total += 1
        if "error" in o:
            bad += 1
            if bad <= 15: print("ERROR", name, json.dumps(l), o["error"])
            continue
        e = float(np.max(np.abs(np.asarray(o["gains"]) - w)))
        worst = max(worst, e)
        if e > 1e-6:
            bad += 1
            if bad <= 15:
                print("DIFF", name, f"{e:.3g}", json.dumps(l), "\n  want", np.round(w, 6).tolist(), "\n  got ", np.round(o["gains"], 6).tolist())
print(f"seed {seed}: {total} cases ({skipped} ear refused), {bad} over 1e-6, worst {worst:.3g}")
