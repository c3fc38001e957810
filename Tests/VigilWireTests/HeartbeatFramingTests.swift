import Testing
@testable import VigilWire

/// Heartbeat's ha_msg framings read from untrusted bytes: netstring lengths, fields, the auth netstring, and the
/// classic line framing.
@Suite struct HeartbeatFramingTests {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The netstring at offset 0 of `s`: the data as text and the index after the comma.
    func ns(_ s: String) -> (String, Int)? {
        let b = bytes(s)
        return HeartbeatFraming.netstring(in: b, at: 0).map { (String(decoding: b[$0.data], as: UTF8.self), $0.next) }
    }

    @Test func netstringLengthsArePlainBoundedDecimals() {
        #expect(ns("3:abc,")! == ("abc", 6))
        #expect(ns("0:,")! == ("", 3))
        #expect(ns("3:abc,rest")! == ("abc", 6))
        #expect(ns(":abc,") == nil, "empty length")
        #expect(ns("+3:abc,") == nil, "leading +")
        #expect(ns("-3:abc,") == nil, "negative")
        #expect(ns(" 3:abc,") == nil && ns("3 :abc,") == nil, "spaces")
        #expect(ns("03:abc,") == nil, "leading zero")
        #expect(ns("4:abc,") == nil, "length past the end")
        #expect(ns("3:abc") == nil, "length exactly at the end: no room for the comma")
        #expect(ns("3:abcd") == nil, "no comma after the data")
        #expect(ns("\u{0663}:abc,") == nil && ns("\u{FF13}:abc,") == nil, "non-ASCII digits (Arabic-Indic, fullwidth)")
        #expect(ns("9223372036854775807:,") == nil && ns("99999999999999999999999999:,") == nil, "huge")
        #expect(ns("3") == nil && ns("") == nil && ns("3:") == nil, "truncated")
        #expect(
            HeartbeatFraming.netstring(in: bytes("3:abc,"), at: 6) == nil && HeartbeatFraming.netstring(in: bytes("3:abc,"), at: -1) == nil)
    }

    @Test func aNetstringMessageParsesAndLaysOutAgain() throws {
        let text = "###\n11:(0)t=status,9:(0)src=n2,12:(1)bin=\u{1}%%%\n,%%%\n6:1 AbCd,trailing"
        let b = bytes(text)
        let m = try #require(HeartbeatFraming.parseNetstring(b))
        #expect(m.fields.map(\.type) == [0, 0, 1])
        #expect(HeartbeatFraming.string("src", in: m.fields) == "n2")
        #expect(HeartbeatFraming.string("bin", in: m.fields) == nil, "binary, not a string")
        #expect(m.fields[2].value == bytes("\u{1}%%%\n"), "an end marker inside a field is data")
        #expect(m.signedEnd == text.utf8.count - "6:1 AbCd,trailing".utf8.count)
        #expect(m.authKey! == (1, "abcd"))
        #expect(Array(b[0..<m.end]) == m.encoded)
        // Fields must be typed netstrings; the auth must be "ID MAC".
        for bad in [
            "###\n7:t=x1234,%%%\n6:1 abcd,", "###\n%%%\n", "###\n%%%\n4:1 ab", "###\n6:(0)t=x%%%\n6:1 abcd,",
            "###\n5:(0)=x,%%%\n6:1 abcd,"
        ] {
            #expect(HeartbeatFraming.parseNetstring(bytes(bad)) == nil, "\(bad)")
        }
        for auth in ["1abcd", "1  abcd", " 1 abcd", "1 ", "01 abcd", "+1 abcd", "1 ab cd", "1001 abcd"] {
            let m = HeartbeatFraming.parseNetstring(bytes("###\n%%%\n\(auth.utf8.count):\(auth),"))
            #expect(m != nil && m!.authKey == nil, "\(auth)")
        }
    }

    @Test func theClassicFramingParsesAndLaysOutAgain() throws {
        let b = bytes(">>>\nt=status\nsrc=n2\n(1)x=y=z\n<<<\n\0")
        let (fields, end) = try #require(HeartbeatFraming.parseClassic(b))
        #expect(HeartbeatFraming.string("src", in: fields) == "n2" && fields[2].type == 1 && fields[2].value == bytes("y=z"))
        #expect(end == b.count - 1 && HeartbeatFraming.encodeClassic(fields) == Array(b[0..<end]))
        for bad in [">>>\nt=status\n", ">>>\nt=status\n<<<", ">>>\nnoequals\n<<<\n", ">>>\n=x\n<<<\n", ">>>\nt=status"] {
            #expect(HeartbeatFraming.parseClassic(bytes(bad)) == nil, "\(bad)")
        }
    }

    @Test func onlyBothFramingsAreHeartbeatPackets() {
        #expect(HeartbeatFraming.kind(of: bytes(">>>\n<<<\n")) == .classic)
        #expect(HeartbeatFraming.kind(of: bytes("###\n%%%\n")) == .netstring)
        #expect(HeartbeatFraming.kind(of: bytes("###\n%%%")) == nil && HeartbeatFraming.kind(of: []) == nil)
        #expect(HeartbeatFraming.kind(of: WireFormat.magic + [2, 1, 0, 0]) == nil)
    }

    /// The verifier up to the MAC: only the packet's own signed bytes and key number reach the MAC function.
    @Test func theMACSeesTheSignedBytesAndTheKeyNumber() {
        let signed = bytes("###\n9:(0)src=n2,%%%\n")
        let packet = signed + bytes("6:3 beef,")
        var seen: [(Int, [UInt8])] = []
        let sender = HeartbeatFraming.authenticatedSender(packet) { id, s in
            seen.append((id, Array(s))); return "beef"
        }
        #expect(sender == "n2" && seen.count == 1 && seen[0].0 == 3 && seen[0].1 == signed)
        #expect(HeartbeatFraming.authenticatedSender(packet) { _, _ in "beee" } == nil)
        #expect(HeartbeatFraming.authenticatedSender(packet) { _, _ in nil } == nil, "unknown key")
        #expect(HeartbeatFraming.authenticatedSender(bytes(">>>\nsrc=n2\n<<<\n")) { _, _ in "" } == nil, "classic is never authentic")
    }
}
