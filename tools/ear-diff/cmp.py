import struct, sys, numpy as np
def read(p):
    d = open(p, 'rb').read()
    pos = 12; fmt = None; data = None; ds64 = None
    while pos + 8 <= len(d):
        cid = d[pos:pos+4]; sz = struct.unpack('<I', d[pos+4:pos+8])[0]
        if cid == b'ds64': ds64 = struct.unpack('<QQQ', d[pos+8:pos+32])
        if cid == b'data' and sz == 0xffffffff: sz = ds64[1]
        body = d[pos+8:pos+8+sz]
        if cid == b'fmt ': fmt = body
        if cid == b'data': data = body
        pos += 8 + sz + (sz & 1)
    tag, ch, rate, _, ba, bits = struct.unpack('<HHIIHH', fmt[:16])
    if tag == 0xfffe: tag = struct.unpack('<H', fmt[24:26])[0]
    if tag == 3: x = np.frombuffer(data, '<f4').astype(np.float64)
    elif bits == 16:
        x = np.frombuffer(data, '<i2') / 32768.0
    elif bits == 32:
        x = np.frombuffer(data, '<i4') / 2147483648.0
    elif bits == 24:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16); v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v / 8388608.0
    return x.reshape(-1, ch)
a = read(sys.argv[1]); b = read(sys.argv[2])
n = min(len(a), len(b))
print(sys.argv[1], a.shape, b.shape, "max abs diff", np.max(np.abs(a[:n] - b[:n])), "peak", np.max(np.abs(b)))
