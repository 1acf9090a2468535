"""Random Objects scene with random timing (object start/duration, block
gaps, jumpPosition with interpolation lengths shorter/longer than blocks,
single blocks without timing) for differential e2e checks against ear-render."""
import numpy as np, struct, sys, random
seed = int(sys.argv[2]); rng = random.Random(seed); nrng = np.random.default_rng(seed)
rate, frames = 48000, 24000  # 0.5 s
def t(sec): return "00:00:%08.5f" % sec
nobj = 4
xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format><audioFormatExtended version="ITU-R_BS.2076-2">']
xml.append('<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="p"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>')
xml.append('<audioContent audioContentID="ACO_1001" audioContentName="c">' + ''.join(f'<audioObjectIDRef>AO_{0x1001+k:04x}</audioObjectIDRef>' for k in range(nobj)) + '</audioContent>')
chans = []
for k in range(nobj):
    q = 0.0005
    ostart = rng.choice([None, 0.0, rng.randint(1, 200) * q])
    odur = rng.choice([None, None, 'fit'])
    attrs = ''
    if ostart is not None: attrs += f' start="{t(ostart)}"'
    gain = ''; rng.random()
    objpos = len(xml)
    xml.append(f'<audioObject audioObjectID="AO_{0x1001+k:04x}" audioObjectName="o{k}"{attrs}><audioPackFormatIDRef>AP_0003{0x1001+k:04x}</audioPackFormatIDRef>{gain}<audioTrackUIDRef>ATU_{k+1:08x}</audioTrackUIDRef></audioObject>')
    xml.append(f'<audioPackFormat audioPackFormatID="AP_0003{0x1001+k:04x}" audioPackFormatName="p{k}" typeLabel="0003" typeDefinition="Objects"><audioChannelFormatIDRef>AC_0003{0x1001+k:04x}</audioChannelFormatIDRef></audioPackFormat>')
    cart = rng.random() < 0.4
    nb = rng.choice([1, 2, 3, 5])
    blocks = []
    if nb == 1 and rng.random() < 0.5:
        spans = [None]
    else:
        spans = []; cur = rng.choice([0, 0, rng.randint(1, 50)]) * 0.0005
        for b in range(nb):
            d = rng.randint(20, 300) * 0.0005
            spans.append((cur, d)); cur += d
            if rng.random() < 0.2: cur += rng.randint(1, 40) * 0.0005  # gap
    for b, sp in enumerate(spans):
        timing = '' if sp is None else f' rtime="{t(sp[0])}" duration="{t(sp[1])}"'
        if cart:
            pos = ''.join(f'<position coordinate="{c}">{rng.uniform(-1, 1):.5f}</position>' for c in "XYZ") + '<cartesian>1</cartesian>'
        else:
            pos = f'<position coordinate="azimuth">{rng.uniform(-180, 180):.4f}</position><position coordinate="elevation">{rng.uniform(-30, 90):.4f}</position>'
        extra = ''
        if rng.random() < 0.4:
            lim = int(round(sp[1] / 0.0005)) if sp else 400
            il = rng.choice([None, 0.0, rng.randint(1, lim) * 0.0005])
            extra += '<jumpPosition' + ('' if il is None else f' interpolationLength="{il:.5f}"') + '>1</jumpPosition>'
        if rng.random() < 0.3:
            extra += f'<width>{rng.uniform(0, 1 if cart else 120):.4f}</width>'
        if rng.random() < 0.2:
            extra += f'<diffuse>{rng.uniform(0, 1):.4f}</diffuse>'
        if rng.random() < 0.2:
            extra += f'<gain>{rng.uniform(0, 1.2):.4f}</gain>'
        blocks.append(f'<audioBlockFormat audioBlockFormatID="AB_0003{0x1001+k:04x}_{b+1:08x}"{timing}>{pos}{extra}</audioBlockFormat>')
    if odur == 'fit':
        end = max((s0 + d for s0, d in (sp for sp in spans if sp)), default=None)
        if end is not None:
            xml[objpos] = xml[objpos].replace('" audioObjectName', f'" duration="{t(end + rng.randint(0, 40) * 0.0005)}" audioObjectName', 1)
    xml.append(f'<audioChannelFormat audioChannelFormatID="AC_0003{0x1001+k:04x}" audioChannelFormatName="c{k}" typeLabel="0003" typeDefinition="Objects">' + ''.join(blocks) + '</audioChannelFormat>')
    xml.append(f'<audioStreamFormat audioStreamFormatID="AS_0003{0x1001+k:04x}" audioStreamFormatName="s{k}" formatLabel="0001" formatDefinition="PCM"><audioChannelFormatIDRef>AC_0003{0x1001+k:04x}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_0003{0x1001+k:04x}_01</audioTrackFormatIDRef></audioStreamFormat>')
    xml.append(f'<audioTrackFormat audioTrackFormatID="AT_0003{0x1001+k:04x}_01" audioTrackFormatName="t{k}" formatLabel="0001" formatDefinition="PCM"><audioStreamFormatIDRef>AS_0003{0x1001+k:04x}</audioStreamFormatIDRef></audioTrackFormat>')
    xml.append(f'<audioTrackUID UID="ATU_{k+1:08x}" sampleRate="48000" bitDepth="24"><audioTrackFormatIDRef>AT_0003{0x1001+k:04x}_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_0003{0x1001+k:04x}</audioPackFormatIDRef></audioTrackUID>')
xml.append('</audioFormatExtended></format></coreMetadata></ebuCoreMain>')
axml = "\n".join(xml).encode()
x = nrng.standard_normal((frames, nobj)) * 0.1
pcm = np.round(np.clip(x, -0.99, 0.99) * 8388607).astype(np.int32)
b3 = (pcm.reshape(-1).astype('<i4').view(np.uint8).reshape(-1, 4)[:, :3]).tobytes()
chna = struct.pack('<HH', nobj, nobj) + b''.join(struct.pack('<H', k + 1) + f'ATU_{k+1:08x}'.encode() + f'AT_0003{0x1001+k:04x}_01'.encode() + f'AP_0003{0x1001+k:04x}'.encode() + b'\0' for k in range(nobj))
fmt = struct.pack('<HHIIHH', 1, nobj, rate, rate * nobj * 3, nobj * 3, 24)
def chunk(cid, body): return cid + struct.pack('<I', len(body)) + body + (b'\0' if len(body) & 1 else b'')
body = b'WAVE' + chunk(b'fmt ', fmt) + chunk(b'chna', chna) + chunk(b'axml', axml) + chunk(b'data', b3)
open(sys.argv[1], 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
