#!/usr/bin/env bash
# fuzz.sh - coverage-guided libFuzzer runs of every Vigil parser that reads the network or the disk
#
# Targets (each harness states its invariants in its header comment)
#   config     ConfigLoader.load(text:file:) (Sources/VigilConfig: TOML-subset parser plus validation).
#              Harness: bench/fuzz/FuzzConfig.swift. Never crash; every ConfigError names a line that exists
#              (1 ... number of "\n" + 1; the +1 is the empty line after a final newline, where EOF errors land).
#   wire       WireFormat.parse(_:end:) (Sources/VigilWire/WireFormat.swift), the packet body parser that runs
#              after the HMAC check. Harness: bench/fuzz/FuzzWire.swift. Never crash; honours `end`; a parsed
#              message has a sender and re-encodes (as WireCodec.encode does) to the input bytes.
#   heartbeat  Heartbeat's ha_msg framings read before any MAC (Sources/VigilWire/HeartbeatFraming.swift: netstring
#              `###` and classic `>>>`) and HeartbeatAuthkeys.verifyHeartbeatPacket(_:mac:) with a stand-in MAC
#              (Crypto stays out by design). Harness: bench/fuzz/FuzzHeartbeat.swift. Messages lay out again to
#              their bytes; only the right MAC verifies, to the src field; re-signed inputs (auth "F", "F2",
#              "F3") must verify, so the fuzzer gets past the MAC.
#   slot       The slot-area decoders (Sources/VigilCore/SlotArea.swift: SlotAreaHeader, DiskSlot, Pill,
#              SlotAreaSnapshot). Harness: bench/fuzz/FuzzSlot.swift. Input: sectors back to back, plus an
#              optional control byte (512 x N + 1 bytes; bit 0 fixes every sector's CRC so the fuzzer gets past
#              it). Errors in check order; a decoded sector re-encodes to its canonical bytes; the snapshot holds
#              what its sectors decode to.
#   aoe        AoE frame parsing (Sources/VigilStorage/AoEFrame.swift, what AoEDevice does with received frames).
#              Harness: bench/fuzz/FuzzAoE.swift. Parsed frames lay out to their bytes; replies are classified by
#              their own header only; data and capacity only from long enough frames; slices read as arrays.
#   haconf     ha.cf, haresources and authkeys (Sources/VigilHeartbeat, HeartbeatAuthkeys.parse), with the
#              machine faked. Harness: bench/fuzz/FuzzHAConf.swift. Input: the three files separated by NUL.
#              Lines read as bytes; every diagnostic names a line of its file; the import's text loads.
#
# How
#   Plain swiftc, no SwiftPM (so it never touches .build). Per target, the needed sources are copied into
#   .build-fuzz/src-<target>/ with their `import Vigil...` lines removed, and compiled together with the
#   harness as ONE module, with -sanitize=fuzzer,address (libFuzzer + ASan + edge coverage), -O -g, Swift 6
#   mode. ld.gold prints "Cannot export local symbol '__asan_...'" warnings; they are harmless and filtered.
#   A binary is rebuilt only when a source, the harness, the flags or the compiler changed (sha256 stamp).
#   With FUZZ_BUILD_LOCK=FILE each compile runs under `flock FILE` (one Swift build at a time on a shared
#   machine); the fuzzing itself does not take the lock.
#   Corpora live in .build-fuzz/corpus-<target>/ and grow across runs; the seeds are (re)written each run:
#   cluster.conf.example and variants plus a few broken configs; hand-made packet bodies following the layout
#   in WireCodec.swift's header comment; Heartbeat's example ha.cf/haresources/authkeys shapes; and for
#   heartbeat, slot and aoe, seeds made by Vigil's own encoders (the binary writes them from
#   LLVMFuzzerInitialize when run with VIGIL_FUZZ_WRITE_SEEDS=DIR; bench/fuzz/FuzzSupport.swift).
#   Crash reproducers go to .build-fuzz/artifacts-<target>/, full libFuzzer output to .build-fuzz/logs/<target>.log.
#
# Usage
#   bench/fuzz.sh [--seconds N] [--runs N] [--only T[,T...]]
#     --seconds N   fuzzing time per target (libFuzzer -max_total_time), default 60 (no limit with --runs alone)
#     --runs N      stop each target after N executions (libFuzzer -runs), e.g. --runs 10000000
#     --only T,...  build and run only these targets (config, wire, heartbeat, slot, aoe, haconf)
#   Environment: FUZZ_DIR (default <repo>/.build-fuzz), FUZZ_NICE (niceness of compiles and runs, default 15),
#   SWIFTC (default swiftc), FUZZ_ARGS (extra libFuzzer flags for every target), FUZZ_BUILD_LOCK (see How),
#   FUZZ_SANITIZE (default fuzzer,address; "fuzzer" builds without ASan, about Nx faster where allocation
#   dominates, as in haconf: the Swift code is bounds-checked anyway, ASan adds checks only for unsafe pointers).
#   Changing it rebuilds the binary (the flags are part of the stamp).
#
# Output: one line per target, e.g.
#   fuzz config: 60 s, 1234567 execs (20576/s), cov 1234, ft 5678, corpus 456 inputs, 0 crashes
#   Exits 1 if any target crashed (or hit a leak/timeout/OOM), after printing the reproducer path, the
#   libFuzzer/ASan report (Swift symbols demangled) and the command that replays it. Exits 2 on a build error.
#
# Replay inputs:  SWIFT_BACKTRACE=enable=no .build-fuzz/fuzz-config FILE...
#   (VIGIL_FUZZ_SHOW=1 also prints every config error; SWIFT_BACKTRACE=enable=no keeps Swift's crash handler
#   from tripping ASan, see run() below.)
set -euo pipefail

targets=(config wire heartbeat slot aoe haconf)
seconds=""
runs=""
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
        --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
        --only) only="${2:?--only needs a target list}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ -z "$seconds" || ( "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ) ]] || { echo "fuzz.sh: --seconds wants a positive integer" >&2; exit 2; }
[[ -z "$runs" || ( "$runs" =~ ^[0-9]+$ && "$runs" -gt 0 ) ]] || { echo "fuzz.sh: --runs wants a positive integer" >&2; exit 2; }
[[ -n "$seconds" || -n "$runs" ]] || seconds=60
selected=()
IFS=, read -r -a wanted <<< "${only:-$(IFS=,; echo "${targets[*]}")}"
for t in "${wanted[@]}"; do
    [[ " ${targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: --only wants targets from: ${targets[*]} (got $t)" >&2; exit 2; }
    selected+=("$t")
done
want() { [[ " ${selected[*]} " == *" $1 "* ]]; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${FUZZ_DIR:-$repo/.build-fuzz}"
nice_level="${FUZZ_NICE:-15}"
swiftc="${SWIFTC:-swiftc}"
flags=(-swift-version 6 -O -g -parse-as-library -sanitize="${FUZZ_SANITIZE:-fuzzer,address}")
read -r -a extra_args <<< "${FUZZ_ARGS:-}"
mkdir -p "$out/logs"

# ---------------------------------------------------------------------------------------------------------
# build <target> <harness> <sources...>: one libFuzzer binary $out/fuzz-<target>
build() {
    local target="$1" harness="$2"; shift 2
    local bin="$out/fuzz-$target" src="$out/src-$target" stamp="$out/fuzz-$target.stamp" log="$out/logs/build-$target.log"
    local hash
    hash="$( { "$swiftc" --version 2>&1; echo "${flags[*]}"; echo "$@"; cat "$harness" "$@"; } | sha256sum | cut -c1-64)"
    if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
        echo "build $target: up to date ($bin)"
        return
    fi
    rm -rf "$src" "$stamp"
    mkdir -p "$src"
    local f
    for f in "$@"; do sed '/^import Vigil[A-Za-z]*$/d' "$f" > "$src/$(basename "$f")"; done
    cp "$harness" "$src/"
    local t0=$SECONDS
    local lock=()
    [[ -z "${FUZZ_BUILD_LOCK:-}" ]] || lock=(flock "$FUZZ_BUILD_LOCK")
    if ! ${lock[@]+"${lock[@]}"} nice -n "$nice_level" "$swiftc" "${flags[@]}" -module-name "Fuzz_$target" "$src"/*.swift -o "$bin" > "$log" 2>&1; then
        grep -v "Cannot export local symbol '__asan" "$log" >&2 || true
        echo "fuzz.sh: building fuzz-$target failed (log: $log)" >&2
        exit 2
    fi
    echo "$hash" > "$stamp"
    local noise
    noise="$(grep -c "Cannot export local symbol" "$log" || true)"
    echo "build $target: $((SECONDS - t0)) s ($bin; $noise harmless ld.gold '__asan' export warnings)"
    grep -v "Cannot export local symbol" "$log" | grep -E "warning|error" >&2 || true
}

# ---------------------------------------------------------------------------------------------------------
# Seeds. Names start with "seed-", so rerunning overwrites them instead of piling up copies.
hex2bin() {  # hex digits (spaces and newlines ignored) -> bytes on stdout
    local h="${1//[[:space:]]/}" i
    for ((i = 0; i < ${#h}; i += 2)); do printf '%b' "\\x${h:i:2}"; done
}
str() {  # a wire string: u8 length, then the UTF-8 bytes, as hex
    printf '%02x' "$(printf '%s' "$1" | wc -c)"
    printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

seed_config() {
    local c="$out/corpus-config"
    mkdir -p "$c"
    local ex="$repo/cluster.conf.example"
    cp "$ex" "$c/seed-example.conf"
    sed 's/$/\r/' "$ex" > "$c/seed-example-crlf.conf"
    printf '%s' "$(cat "$ex")" > "$c/seed-example-no-final-newline.conf"
    : > "$c/seed-empty.conf"
    # Smallest valid file, fast profile with every timing and an IPv6 link.
    printf '[cluster]\nname = "c"\nprofile = "fast"\ninterval = "10ms"\nwarntime = "0.03s"\ndeadtime = "50000us"\ninitdead = "1m"\nquorum = "ignore"\nrealtime = false\nrealtime_priority = 1\nlock_memory = false\n[[node]]\nname = "a"\naddresses = ["fe80::1"]\nvotes = 0\n[[node]]\nname = "b"\naddresses = [\n  "::1", # comment\n]\n' > "$c/seed-fast.conf"
    # Broken: no [cluster]; [node] instead of [[node]]; unterminated array at EOF.
    printf '[[node]]\nname = "a"\naddresses = ["10.0.0.1"]\n[node]\n' > "$c/seed-no-cluster.conf"
    printf '[cluster]\nname = "x"\n[[node]]\nname = "a"\naddresses = ["10.0.0.1",\n' > "$c/seed-unterminated-array.conf"
    # Broken timings (deadtime not > 2 x interval); a misspelt key.
    printf '[cluster]\nname = "x"\ninterval = "1s"\ndeadtime = "1.5s"\n[[node]]\nname = "a"\naddresses = ["10.0.0.1"]\n' > "$c/seed-bad-timing.conf"
    printf '[cluster]\nnmae = "x"\n' > "$c/seed-misspelt.conf"
    # The TOML subset's edges, one per file since each stops at its first error: escapes, literal strings,
    # numbers, nested arrays, and what it refuses (inline tables, dotted and quoted keys, multi-line strings,
    # duplicate keys and tables, bad escapes). Written with printf %s, so backslashes stay literal.
    local i=0 line
    for line in 'k = "\u00e9\t\"\\\n\r"' "l = 'lit'" 'f = 1_000.5e3' 'i = -0x1' 'n = +1_000' \
                'q = [1, [2, "3"], true, false, 1.5]' 't = {a = 1}' 'd.e = 1' 'm = """x"""' "m = '''x'''" \
                '"quoted" = 1' 'k = "\x"' 'k = "\ud800"'; do
        printf '%s\n' "$line" > "$c/seed-subset-$i.conf"
        i=$((i + 1))
    done
    printf 'k = 1\nk = 2\n' > "$c/seed-subset-duplicate-key.conf"
    printf '[a]\n[a]\n' > "$c/seed-subset-duplicate-table.conf"
    # Duplicate nodes and addresses, unequal link counts, an over-long name.
    printf '[cluster]\nname = "x"\n[[node]]\nname = "a"\naddresses = ["10.0.0.1", "10.1.0.1"]\n[[node]]\nname = "a"\naddresses = ["10.0.0.1"]\n[[node]]\nname = "%s"\naddresses = ["300.1.1.1"]\n' \
        "$(printf 'n%.0s' {1..70})" > "$c/seed-duplicates.conf"
}

# libFuzzer dictionary for the config target: the keywords mutations are unlikely to spell by chance.
write_config_dict() {
    local d="$out/config.dict" w
    : > "$d"
    for w in '[cluster]' '[[node]]' name key_file port profile interval warntime deadtime initdead quorum \
             transport multicast_group realtime realtime_priority lock_memory state_dir socket addresses votes \
             '"safe"' '"fast"' '"majority"' '"ignore"' '"unicast"' '"multicast"' '"239.255.6.94"' \
             true false ms us s m '\u' '"10.0.0.1"' '"::1"' ' = '; do
        printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')" >> "$d"
    done
    printf '%s\n' '"\x0A["' >> "$d"   # a newline, then a table header (the dictionary's own escape)
}

seed_wire() {
    local c="$out/corpus-wire"
    mkdir -p "$c"
    # Header: magic "VIGL", version 3, kind, link, flags, cluster id, incarnation, sequence, term (WireCodec.swift).
    local hdr_hb="5649474c 03 01 00 01 deadbeef 0000000000000007 000000000000002a 0000000000000003"
    local hdr_vote="5649474c 03 03 01 00 deadbeef 0000000000000001 0000000000000001 0000000000000004"
    local hdr_leave="5649474c 03 02 01 00 deadbeef ffffffffffffffff 0000000000000001 0000000000000000"
    # After the view (entries: name, state, u32 incarnation echo): no report, no assignments, an empty request.
    local tail="00 00 00"
    # heartbeat from node1 to anyone, coordinator node1, view of three nodes (alive, suspect, dead)
    hex2bin "$hdr_hb $(str node1) $(str '') $(str node1) $(str '') 03 $(str node1) 01 0badf00d $(str node2) 02 00000001 $(str node3) 03 00000000 $tail" \
        > "$c/seed-heartbeat.bin"
    # vote request from node2 to node3 on link 1, candidate node2, empty view
    hex2bin "$hdr_vote $(str node2) $(str node3) $(str '') $(str node2) 00 $tail" > "$c/seed-vote-request.bin"
    # leave from a UTF-8-named node, view with a left and an unknown entry
    hex2bin "$hdr_leave $(str 'nœud-é') $(str '') $(str '') $(str '') 02 $(str 'nœud-é') 04 ffffffff $(str x) 00 00000000 $tail" > "$c/seed-leave.bin"
}

# seed_binary <target>: the seeds the harness makes with Vigil's own encoders (bench/fuzz/FuzzSupport.swift).
seed_binary() {
    local c="$out/corpus-$1"
    mkdir -p "$c"
    VIGIL_FUZZ_WRITE_SEEDS="$c" SWIFT_BACKTRACE=enable=no "$out/fuzz-$1" > "$out/logs/seeds-$1.log" 2>&1 \
        || { cat "$out/logs/seeds-$1.log" >&2; echo "fuzz.sh: fuzz-$1 could not write its seeds" >&2; exit 2; }
}

# write_dict <target> <word>...: a libFuzzer dictionary; backslash escapes in the words are expanded (printf %b).
write_dict() {
    local d="$out/$1.dict" w
    shift
    : > "$d"
    for w in "$@"; do
        printf '"%s"\n' "$(printf '%b' "$w" | od -An -v -tx1 | tr -d ' \n' | sed 's/../\\x&/g')" >> "$d"
    done
}

# Heartbeat configuration directories (ha.cf NUL haresources NUL authkeys), shaped like the heartbeat
# package's examples and HeartbeatImportTests: each directive kind, continuations, CRLF, errors.
seed_haconf() {
    local c="$out/corpus-haconf"
    mkdir -p "$c"
    local auth='auth 1\n1 sha1 s3cret\n'
    printf "keepalive 200ms\ndeadtime 1\nwarntime 500ms\ninitdead 2\nudpport 7694\nucast eth0 10.0.0.1\nucast eth0 10.0.0.2\nnode Alpha beta\nauto_failback off\ncrm no\n\0alpha 10.0.0.50 Delay::3::1\nbeta IPaddr2::10.0.0.60/24/eth0 \\\\\n   Delay::4::1 # second\n\0%b" "$auth" > "$c/seed-ucast"
    printf "# the example's directives\nlogfile /var/log/ha-log\nlogfacility local0\nkeepalive 2\ndeadtime 30\nwarntime 10\ninitdead 120\nudpport 694\nbcast eth0\nbcast eth1 eth2\nmcast eth0 225.0.0.1 694 1 0\nucast eth0 192.168.1.2\nauto_failback on\nstonith baytech /etc/ha.d/conf/stonith.baytech\nwatchdog /dev/watchdog\nnode ken3\nnode kathy\nping 10.10.10.254\nping_group group1 10.10.10.254 10.10.10.253\nrespawn hacluster /usr/lib/heartbeat/ipfail\nrespawn userid /path/name/to/run\nhopfudge 1\nrealtime on\nrtprio 50\ndeadping 31\n\0ken3 IPaddr::135.9.216.3/28/eth0/135.9.216.12 httpd\nkathy 10.0.0.170 Filesystem::/dev/sda1::/data1::ext2\n\0auth 2\n1 crc\n2 sha1 HI!\n3 md5 Hello!\n" > "$c/seed-example"
    printf "bcast eth1\r\nnode alpha beta\r\ncluster prod\r\n\0alpha dummy\r\n\0auth 1\r\n1 sha1 x\r\n" > "$c/seed-crlf"
    printf "nice_failback on\nudp eth1\nnode alpha\nnode beta gamma\nautojoin any\ncompression bz2\nmcast6 eth0 ff02::1 694 1 0\n\0\0auth 3\n" > "$c/seed-errors"
    printf "node alpha beta\nbcast eth0\nkeepalive 2\ndeadtime 3\n" > "$c/seed-no-haresources"
}

# ---------------------------------------------------------------------------------------------------------
# run <target> [libFuzzer flags...]: fuzz for $seconds and/or $runs executions, print the summary line;
# returns 1 on a finding.
run() {
    local target="$1"; shift
    local bin="$out/fuzz-$target" corpus="$out/corpus-$target" log="$out/logs/$target.log"
    local artifacts="$out/artifacts-$target/"
    mkdir -p "$artifacts"
    local rc=0 t0=$SECONDS
    # SWIFT_BACKTRACE=enable=no: on a trap, Swift's own crash handler reads the stack from a helper thread,
    # which ASan reports as a stack-buffer-underflow on top of the real failure; libFuzzer's deadly-signal
    # handler prints the stack instead. LeakSanitizer stays on (libFuzzer reports a leaking input as a
    # finding); the Swift runtime's never-freed caches gave no false reports here.
    local limits=(-max_total_time="${seconds:-0}")
    [[ -z "$runs" ]] || limits+=(-runs="$runs")
    SWIFT_BACKTRACE=enable=no \
        nice -n "$nice_level" "$bin" "${limits[@]}" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$artifacts" "$@" ${extra_args[@]+"${extra_args[@]}"} "$corpus" > "$log" 2>&1 || rc=$?
    local elapsed=$((SECONDS - t0))

    local execs cov ft units repro
    execs="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)"
    [[ -n "$execs" ]] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
    ft="$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
    units="$(find "$corpus" -type f | wc -l)"
    repro="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
    local crashes=0
    [[ $rc -eq 0 && -z "$repro" ]] || crashes=1
    local rate="?"
    [[ -z "$execs" || $elapsed -eq 0 ]] || rate=$((execs / elapsed))
    echo "fuzz $target: $elapsed s, ${execs:-?} execs ($rate/s), cov ${cov:-?}, ft ${ft:-?}, corpus $units inputs, $crashes crashes"
    [[ $crashes -eq 0 ]] && return 0

    echo "  libFuzzer exited $rc; reproducer: ${repro:-none written} (full log: $log)"
    echo "  replay: SWIFT_BACKTRACE=enable=no $bin ${repro:-<input>}"
    # The report from the first error banner on, Swift symbols demangled; the top of the stack is enough
    # (a recursion repeats the same two frames thousands of times), then the SUMMARY line.
    local report
    report="$(sed -n '/ERROR: \|Fatal error\|==ERROR\|deadly signal\|ALARM: \|out-of-memory/,$p' "$log" \
        | swift-demangle --simplified 2>/dev/null)" || true
    head -n 24 <<< "$report" | sed 's/^/  | /'
    if [[ $(wc -l <<< "$report") -gt 24 ]]; then
        echo "  | ..."
        grep -m1 '^SUMMARY' <<< "$report" | sed 's/^/  | /' || true
    fi
    if [[ -n "$repro" && -f "$repro" ]]; then
        echo "  input: $(wc -c < "$repro") bytes, first 256 in hex:"
        head -c 256 "$repro" | xxd | sed 's/^/  | /'
    fi
    return 1
}

# ---------------------------------------------------------------------------------------------------------
core=("$repo"/Sources/VigilCore/*.swift)
wire="$repo/Sources/VigilWire"
failed=0
# Build everything first, so a build error stops the script before any fuzzing.
want config && build config "$repo/bench/fuzz/FuzzConfig.swift" "${core[@]}" "$repo"/Sources/VigilConfig/*.swift
want wire && build wire "$repo/bench/fuzz/FuzzWire.swift" "${core[@]}" "$wire/WireFormat.swift"
want heartbeat && build heartbeat "$repo/bench/fuzz/FuzzHeartbeat.swift" "$repo/bench/fuzz/FuzzSupport.swift" \
    "$wire/HeartbeatFraming.swift" "$wire/HeartbeatAuthkeys.swift"
want slot && build slot "$repo/bench/fuzz/FuzzSlot.swift" "$repo/bench/fuzz/FuzzSupport.swift" "${core[@]}"
want aoe && build aoe "$repo/bench/fuzz/FuzzAoE.swift" "$repo/bench/fuzz/FuzzSupport.swift" "$repo/Sources/VigilStorage/AoEFrame.swift"
want haconf && build haconf "$repo/bench/fuzz/FuzzHAConf.swift" "${core[@]}" "$repo"/Sources/VigilConfig/*.swift \
    "$repo"/Sources/VigilHeartbeat/*.swift "$wire/HeartbeatAuthkeys.swift" "$wire/HeartbeatFraming.swift"

if want config; then
    seed_config
    write_config_dict
    # Real configs are a few KB; the 64 KB limit leaves room for the pathological (deeply nested arrays, long
    # lines) and libFuzzer grows input length gradually anyway (-len_control).
    run config -dict="$out/config.dict" -max_len=65536 || failed=1
fi
if want wire; then
    seed_wire
    # The body of the largest packet an agent accepts (WireCodec.maximumLength 1452 minus the 32-byte MAC).
    run wire -max_len=1420 || failed=1
fi
if want heartbeat; then
    seed_binary heartbeat
    write_dict heartbeat '###\n' '%%%\n' '>>>\n' '<<<\n' '(0)' '(1)' '(2)' 'src=' 't=status' ':' ',' 'auth=' 'F'
    # A UDP datagram on an Ethernet LAN (Heartbeat's own limit is larger, but the agent reads one datagram).
    run heartbeat -dict="$out/heartbeat.dict" -max_len=1500 || failed=1
fi
if want slot; then
    seed_binary slot
    write_dict slot 'VIGILHDR' 'VIGILSLT' 'VIGILPIL' '\x00\x01' '\x00\x02'
    # Up to 9 sectors (a header and four nodes) and the control byte.
    run slot -dict="$out/slot.dict" -max_len=4609 || failed=1
fi
if want aoe; then
    seed_binary aoe
    # A jumbo frame (AoEDevice's receive buffer is 9216 bytes).
    run aoe -max_len=9216 || failed=1
fi
if want haconf; then
    seed_haconf
    write_dict haconf node bcast mcast ucast udpport keepalive deadtime warntime initdead deadping auto_failback \
        nice_failback respawn ping ping_group logfile logfacility crm realtime rtprio autojoin cluster auth sha1 md5 crc \
        alpha beta eth0 eth1 10.0.0.2 225.0.0.1 IPaddr:: ms usec '\\\n' '\x00' '#'
    # 4 KB: a hundred-odd lines over the three files, every directive many times over; longer inputs only
    # slowed the runs (the import allocates per line and per word).
    run haconf -dict="$out/haconf.dict" -max_len=4096 || failed=1
fi
exit $failed
