"""Writes hoa.wav: a 3rd-order N3D HOA object (16 channels, whole file) and a
1st-order FuMa HOA object (4 channels, rtime 0.05 s, duration 0.1 s), each
channel carrying plane waves encoded at moving directions (seeded noise)."""
import numpy as np, struct, sys
from ear.core.hoa import sph_harm, norm_N3D, norm_FuMa
rate, frames = 48000, 12000
rng = np.random.default_rng(7)
def enc(order_list, norm, dirs):
    n = np.array([o for o, _ in order_list]); m = np.array([d for _, d in order_list])
    sig = np.zeros((frames, len(n)))
    seg = frames // len(dirs)
    for k, (az, el) in enumerate(dirs):
        s = rng.standard_normal(seg) * 0.05
        y = sph_harm(n, m, np.radians(az), np.radians(el), norm=norm)
        sig[k*seg:(k+1)*seg] += s[:, None] * y[None, :]
    return sig
o3 = [(n, m) for n in range(4) for m in range(-n, n + 1)]
o1 = [(n, m) for n in range(2) for m in range(-n, n + 1)]
a = enc(o3, norm_N3D, [(30, 0), (110, 20), (-135, -10), (0, 80)])
b = enc(o1, norm_FuMa, [(-60, 0), (170, 30)])
x = np.concatenate([a, b], axis=1)
x = np.clip(x, -0.99, 0.99)
nch = x.shape[1]
pcm = np.round(x * 8388607).astype(np.int32)
data = bytearray()
b3 = (pcm.reshape(-1).astype('<i4').view(np.uint8).reshape(-1, 4)[:, :3]).tobytes()
def cf(i): return f"AC_0004{0x1001 + i:04x}"
chans = [(o, d, "N3D", "") for o, d in o3] + [(o, d, "FuMa", ' rtime="00:00:00.05000" duration="00:00:00.10000"') for o, d in o1]
xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format><audioFormatExtended version="ITU-R_BS.2076-2">']
xml.append('<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="hoa"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>')
xml.append('<audioContent audioContentID="ACO_1001" audioContentName="hoa"><audioObjectIDRef>AO_1001</audioObjectIDRef><audioObjectIDRef>AO_1002</audioObjectIDRef></audioContent>')
xml.append('<audioObject audioObjectID="AO_1001" audioObjectName="third order N3D"><audioPackFormatIDRef>AP_00041001</audioPackFormatIDRef>' + ''.join(f'<audioTrackUIDRef>ATU_{i+1:08x}</audioTrackUIDRef>' for i in range(16)) + '</audioObject>')
xml.append('<audioObject audioObjectID="AO_1002" audioObjectName="first order FuMa" start="00:00:00.05000" duration="00:00:00.15000"><audioPackFormatIDRef>AP_00041002</audioPackFormatIDRef>' + ''.join(f'<audioTrackUIDRef>ATU_{i+1:08x}</audioTrackUIDRef>' for i in range(16, 20)) + '</audioObject>')
xml.append('<audioPackFormat audioPackFormatID="AP_00041001" audioPackFormatName="hoa3" typeLabel="0004" typeDefinition="HOA">' + ''.join(f'<audioChannelFormatIDRef>{cf(i)}</audioChannelFormatIDRef>' for i in range(16)) + '</audioPackFormat>')
xml.append('<audioPackFormat audioPackFormatID="AP_00041002" audioPackFormatName="hoa1" typeLabel="0004" typeDefinition="HOA">' + ''.join(f'<audioChannelFormatIDRef>{cf(i)}</audioChannelFormatIDRef>' for i in range(16, 20)) + '</audioPackFormat>')
for i, (o, d, nm, timing) in enumerate(chans):
    xml.append(f'<audioChannelFormat audioChannelFormatID="{cf(i)}" audioChannelFormatName="hoa_{i}" typeLabel="0004" typeDefinition="HOA">'
               f'<audioBlockFormat audioBlockFormatID="AB_0004{0x1001+i:04x}_00000001"{timing}><order>{o}</order><degree>{d}</degree><normalization>{nm}</normalization></audioBlockFormat></audioChannelFormat>')
for i in range(nch):
    xml.append(f'<audioStreamFormat audioStreamFormatID="AS_0004{0x1001+i:04x}" audioStreamFormatName="s{i}" formatLabel="0001" formatDefinition="PCM"><audioChannelFormatIDRef>{cf(i)}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_0004{0x1001+i:04x}_01</audioTrackFormatIDRef></audioStreamFormat>')
    xml.append(f'<audioTrackFormat audioTrackFormatID="AT_0004{0x1001+i:04x}_01" audioTrackFormatName="t{i}" formatLabel="0001" formatDefinition="PCM"><audioStreamFormatIDRef>AS_0004{0x1001+i:04x}</audioStreamFormatIDRef></audioTrackFormat>')
    xml.append(f'<audioTrackUID UID="ATU_{i+1:08x}" sampleRate="48000" bitDepth="24"><audioTrackFormatIDRef>AT_0004{0x1001+i:04x}_01</audioTrackFormatIDRef><audioPackFormatIDRef>{"AP_00041001" if i < 16 else "AP_00041002"}</audioPackFormatIDRef></audioTrackUID>')
xml.append('</audioFormatExtended></format></coreMetadata></ebuCoreMain>')
axml = "\n".join(xml).encode()
chna = struct.pack('<HH', nch, nch) + b''.join(struct.pack('<H', i + 1) + f'ATU_{i+1:08x}'.encode() + f'AT_0004{0x1001+i:04x}_01'.encode() + f'AP_0004{0x1001 if i < 16 else 0x1002:04x}'.encode() + b'\0' for i in range(nch))
fmt = struct.pack('<HHIIHH', 1, nch, rate, rate * nch * 3, nch * 3, 24)
def chunk(cid, body): return cid + struct.pack('<I', len(body)) + body + (b'\0' if len(body) & 1 else b'')
body = b'WAVE' + chunk(b'fmt ', fmt) + chunk(b'chna', chna) + chunk(b'axml', axml) + chunk(b'data', b3)
open(sys.argv[1], 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
