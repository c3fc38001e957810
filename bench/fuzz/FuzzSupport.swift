// Shared by the harnesses that make their seeds with Vigil's own encoders (heartbeat, slot, aoe): bench/fuzz.sh
// compiles it into each of those binaries and runs each once with VIGIL_FUZZ_WRITE_SEEDS=DIR, which writes
// the seeds into DIR (as seed-NAME) from LLVMFuzzerInitialize and exits before fuzzing.

#if canImport(Glibc)
    import Glibc
#endif

/// With VIGIL_FUZZ_WRITE_SEEDS set, writes each seed to that directory as seed-NAME and exits the process.
func writeSeedsIfAsked(_ seeds: @autoclosure () -> [(String, [UInt8])]) {
    guard let dir = getenv("VIGIL_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return }
    for (name, bytes) in seeds() {
        let path = "\(dir)/seed-\(name)"
        guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    exit(0)
}
