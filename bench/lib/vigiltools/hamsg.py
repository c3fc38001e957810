"""Heartbeat's ha_msg wire formats: the netstring format ("###") and the classic text format (">>>")."""


def parse_netstring_msg(b, pos=0):
    """Heartbeat's netstring wire format: "###\\n", then LEN:(TYPE)NAME=VALUE, fields, "%%%\\n", then the
    LEN:auth, netstring. TYPE 0 string, 1 binary, 2 nested message, 3 list, 4 compressed. Returns
    ([(name, type, value)], auth, end)."""
    if b[pos:pos + 4] != b'###\n': raise ValueError('no ### start')
    pos += 4; fields = []
    while True:
        if b[pos:pos + 4] == b'%%%\n':
            pos += 4; break
        colon = b.index(b':', pos)
        n = int(b[pos:colon]); data = b[colon + 1:colon + 1 + n]; pos = colon + 1 + n
        if b[pos:pos + 1] != b',': raise ValueError('bad netstring')
        pos += 1
        close = data.index(b')')
        typ = int(data[1:close]); eq = data.index(b'=', close)
        name = data[close + 1:eq].decode('latin-1'); val = data[eq + 1:]
        if typ == 0: v = val.decode('latin-1')
        elif typ == 2:
            try: v = {k: vv for k, _, vv in parse_netstring_msg(val)[0]}
            except Exception: v = '<struct %d B>' % len(val)
        else: v = '<%s %d B>' % ({1: 'binary', 3: 'list', 4: 'compressed'}.get(typ, 'type%d' % typ), len(val))
        fields.append((name, typ, v))
    auth = None
    if pos < len(b) and b[pos:pos + 1].isdigit():
        colon = b.index(b':', pos); n = int(b[pos:colon]); auth = b[colon + 1:colon + 1 + n].decode('latin-1')
        pos = colon + 2 + n
    return fields, auth, pos


def parse_msg(payload):
    """[(name, value)] of one ha_msg packet, netstring (###) or classic text (>>>) format; None otherwise."""
    if payload.startswith(b'###\n'):
        try:
            fields, auth, _ = parse_netstring_msg(payload)
        except Exception:
            return None
        out = [(k, v if isinstance(v, str) else ('{' + ' '.join(f'{a}={str(c)[:24]}' for a, c in v.items()) + '}' if isinstance(v, dict) else v))
               for k, _, v in fields]
        return out + ([('auth', auth)] if auth else [])
    txt = payload.decode('latin-1')
    if not txt.startswith('>>>\n'): return None
    fields = []
    for line in txt.split('\n')[1:]:
        if line == '<<<': break
        if '=' in line:
            k, v = line.split('=', 1)
            fields.append((k, v))
    return fields
