// libFuzzer entry point for the authenticated-packet body parser WireFormat.parse (VigilWire, no Crypto).
//
// bench/fuzz.sh compiles this file together with copies of Sources/VigilCore/*.swift and
// Sources/VigilWire/WireFormat.swift (its `import VigilCore` stripped) into one module, so the internal
// WireFormat.appendBE/appendString are visible here.
//
// The input is the packet without its 32-byte MAC: bytes [0, end) as WireCodec.decode passes them.
// Invariants checked on every input:
//   1. parse never crashes (no trap, no ASan report, no hang).
//   2. parse honours `end`: bytes after it (where the MAC sits) change nothing.
//   3. A parsed message has a non-empty sender.
//   4. Re-encoding the message the way WireCodec.encode builds the body gives the input bytes back, except
//      (a) bytes 0..<5 (magic, version), which WireCodec.decode checks and parse does not look at, and
//      (b) flag bits 1...7, which parse ignores (only bit 0, quorate, exists).

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let b = Array(UnsafeRawBufferPointer(start: start, count: count))
    let m = WireFormat.parse(b, end: b.count)

    let padded = b + [UInt8](repeating: 0xA5, count: 32)
    guard WireFormat.parse(padded, end: b.count) == m else {
        fatalError("invariant: parse(b + 32 bytes, end: b.count) differs from parse(b, end: b.count)")
    }
    guard let m else { return 0 }
    guard !m.sender.isEmpty else { fatalError("invariant: parsed a message with an empty sender") }

    // The body exactly as WireCodec.encode lays it out (WireFormat.encodeBody, shared with it); parse does
    // not check magic and version (decode does), so take those bytes from the input.
    var e = WireFormat.encodeBody(m)
    e.replaceSubrange(0..<5, with: b[0..<5])

    // Flags: bit 0 (quorate) always; bit 1 (restarting) only in a leave; other bits are ignored (reserved).
    var canonical = b
    canonical[7] &= b[5] == MessageKind.leave.rawValue ? 3 : 1
    guard e == canonical else {
        fatalError("invariant: re-encoded body differs from the input\n in:  \(canonical)\n out: \(e)")
    }
    return 0
}
