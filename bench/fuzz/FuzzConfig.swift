// libFuzzer entry point for the cluster.conf parser and loader (VigilConfig + VigilCore).
//
// bench/fuzz.sh compiles this file together with copies of Sources/VigilCore/*.swift and
// Sources/VigilConfig/*.swift (their `import VigilCore` lines stripped) into one module, so no imports are needed.
//
// Invariants checked on every input:
//   1. ConfigLoader.load never crashes (no trap, no ASan report, no hang).
//   2. A thrown ConfigError points at a line that exists: 1 <= line <= (number of "\n") + 1.
//      The parser counts "\n" bytes starting at line 1, so an error at the very end of a file that ends in
//      "\n" (or of an empty file) names the empty line after the last newline; that is the "+1 at EOF".
// Set VIGIL_FUZZ_SHOW=1 to print every error, e.g. `VIGIL_FUZZ_SHOW=1 ./fuzz-config corpus-dir/*`.

#if canImport(Glibc)
    import Glibc
#endif

private let showErrors = getenv("VIGIL_FUZZ_SHOW") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    // The agent reads the file with String(contentsOfFile:encoding: .utf8), which refuses invalid UTF-8;
    // decoding with replacement characters here is at least as permissive.
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let newlines = text.utf8.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
    do {
        _ = try ConfigLoader.load(text: text, file: "fuzz.conf")
        if showErrors { print("ok (\(newlines) newlines)") }
    } catch {
        if showErrors { print("\(error)  [\(newlines) newlines]") }
        guard error.line >= 1, error.line <= newlines + 1 else {
            fatalError("invariant: error line \(error.line) outside 1...\(newlines + 1): \(error)")
        }
    }
    return 0
}
