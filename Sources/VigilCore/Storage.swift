/// Shared storage in the core: the disk heartbeat (this node's slot written, every slot read, each device's
/// health), the pills for this node (as victim), and the self-fence rule. Fencing others is Fencing.swift, the
/// two-node tie-break TwoNodeTieBreak.swift. The shell runs the I/O (`Action.storageCycle`) on a thread of its
/// own and reports each cycle with `Input.storageCycleDone`; the core never waits for a device.
///
/// Rules (docs/storage.md):
/// - A node obeys a pill in its mailbox on any device: it stops every group (reason `fence`), then
///   acknowledges in its slot. With `self_fence = reboot` the shell reboots at once instead.
/// - A node that has lost quorum and a majority of its devices for `watchdog_timeout`, while anything may run
///   here, fences itself the same way.

/// A device's health as this node sees it.
public enum DeviceHealth: String, Sendable, Hashable, Codable {
    case unknown, ok, slow, lost
    public var usable: Bool { self == .ok || self == .slow }
}

/// One cycle's I/O, for the shell's storage thread: read the whole slot area, then write this node's slot and
/// any mailboxes (pills), each write one sector.
public struct StorageCycle: Hashable, Sendable {
    public var device: Int
    public var slotIndex: Int
    public var slot: DiskSlot
    /// Mailbox writes: (node index, pill).
    public var mailboxes: [MailboxWrite]
    public var deadline: Duration

    public init(device: Int, slotIndex: Int, slot: DiskSlot, mailboxes: [MailboxWrite], deadline: Duration) {
        self.device = device
        self.slotIndex = slotIndex
        self.slot = slot
        self.mailboxes = mailboxes
        self.deadline = deadline
    }
}

/// A pill (or a cleared pill) to write into node `index`'s mailbox.
public struct MailboxWrite: Hashable, Sendable {
    public var index: Int
    public var pill: Pill
    public init(index: Int, pill: Pill) { self.index = index; self.pill = pill }
}

/// What one storage cycle found: the area as read (nil: the read failed), and which writes succeeded.
public struct StorageCycleResult: Sendable {
    public var snapshot: SlotAreaSnapshot?
    public var slotWritten: Bool
    public var mailboxesWritten: [MailboxWrite]
    public var latency: Duration
    public var error: String?

    public init(snapshot: SlotAreaSnapshot?, slotWritten: Bool, mailboxesWritten: [MailboxWrite], latency: Duration, error: String?) {
        self.snapshot = snapshot
        self.slotWritten = slotWritten
        self.mailboxesWritten = mailboxesWritten
        self.latency = latency
        self.error = error
    }
}

/// Everything the core keeps about shared storage.
struct StorageState: Sendable {
    struct Device: Sendable {
        var health: DeviceHealth = .unknown
        var inFlightSince: Instant?
        var nextCycle: Instant
        var lastOK: Instant?
        /// Start of the current run of successful cycles (nil: the last one failed).
        var okSince: Instant?
        var latency: Duration?
        var error = ""
        var cycles: UInt64 = 0
        var failures: UInt64 = 0
        /// Sectors that were neither empty nor valid (torn, corrupted, foreign), counted per read.
        var invalidSectors: UInt64 = 0
        var invalidLogged: Set<String> = []
        /// The pill for this node found in its mailbox by the last good read (nil: none or cleared).
        var pillForMe: Pill?
        /// Pills (by target) known to be on this device, serial and whether cleared.
        var written: [String: Pill] = [:]
        /// The counter of this node's slot in the cycle in flight.
        var pendingCounter: UInt64 = 0
        /// Counters of this node's last two slot writes the device acknowledged (oldest first).
        var acked: [UInt64] = []
        /// The highest term this node's own slot showed when read back (this incarnation): a claim counts only
        /// once the device returns it, never on a write's acknowledgement alone.
        var confirmedTerm: UInt64 = 0
    }

    /// What this node knows of a peer from disk.
    struct PeerDisk: Sendable {
        /// The newest of the slots the devices hold now (by incarnation, then counter).
        var slot: DiskSlot?
        /// The slot each device held at its last good read. Newest-of-now, not newest-ever: a slot that is
        /// not authenticated (CRC only) with an absurd incarnation or counter must not freeze the peer's view
        /// once the peer overwrites it.
        var perDevice: [DiskSlot?] = []
        /// When (this node's clock) the slot last changed: the peer is alive on disk.
        var changedAt: Instant?
    }

    /// A fence operation of this node (as coordinator or two-node tie-break winner).
    struct FenceOp: Sendable {
        var pill: Pill
        var issuedAt: Instant
        /// When the pill reached a majority of devices.
        var writtenAt: Instant?
        var done: FenceProof?
    }

    /// Why this node fenced itself.
    struct SelfFence: Sendable {
        var reason: String
        var serial: UInt64
        var since: Instant
    }

    var devices: [Device]
    var peers: [String: PeerDisk] = [:]
    var counter: UInt64 = 0
    /// The highest term any peer's slot has shown since this node started (a peer that restarts rewrites its
    /// slot, but the terms it knew stay known here).
    var termSeen: UInt64 = 0
    var fenced: SelfFence?
    var lostBothSince: Instant?
    /// See `ClusterNode.storageOK`.
    var haveStorage = false
    var ops: [String: FenceOp] = [:]
    var nextSerial: UInt64 = 1
    var started: Instant

    init(devices: Int, now: Instant) {
        self.devices = Array(repeating: Device(nextCycle: now), count: devices)
        started = now
    }

    /// This node fences itself (a pill, no quorum and no storage, a failed stop with self_fence = reboot):
    /// the shell reboots (`reboot`) or the core stops every group hard (`stop-resources`). The caller makes
    /// placement run again.
    mutating func fenceThisNode(reason: String, serial: UInt64, now: Instant, mode: SelfFenceMode, into out: inout [Action]) {
        if fenced == nil {
            out.append(.log(.error, "FENCING THIS NODE: \(reason); \(mode == .reboot ? "rebooting" : "stopping every resource hard")"))
        }
        fenced = SelfFence(reason: reason, serial: serial, since: now)
        out.append(.event(.fenced(reason: reason)))
        out.append(.selfFence(mode, reason: reason))
    }
}

extension ClusterNode {
    /// A storage cycle the shell ran for `.storageCycle` finished (or failed, or hit its deadline).
    mutating func storageCycleDone(device d: Int, result: StorageCycleResult, now: Instant) -> [Action] {
        var out: [Action] = []
        guard var st = storage, let s = spec.storage, d < st.devices.count else { return out }
        var dev = st.devices[d]
        dev.inFlightSince = nil
        dev.cycles += 1
        dev.latency = result.latency
        let url = s.devices[d]
        var problem = result.error
        if problem == nil, let snap = result.snapshot {
            if let h = snap.header {
                if h.cluster != spec.name {
                    problem = "the slot area belongs to cluster \"\(h.cluster)\", not \"\(spec.name)\""
                } else if h.slotCount < spec.nodes.count {
                    problem = "the slot area has \(h.slotCount) slots for \(spec.nodes.count) nodes: run `vigil storage init --force`"
                }
            } else {
                problem = "no slot area header: run `vigil storage init`"
            }
            if problem == nil, !result.slotWritten { problem = "the slot write failed" }
            if problem == nil, let lost = lostWrites(snap, dev) { problem = lost }
        } else if problem == nil {
            problem = "the read failed"
        }
        let before = dev.health
        var found = AbsorbOutcome()
        if let problem {
            dev.failures += 1
            dev.error = problem
            dev.health = .lost
            dev.okSince = nil
            if before != .lost {
                out.append(.log(.error, "storage \(url) is lost: \(problem)"))
                out.append(.event(.storageChanged(device: d, health: .lost)))
            }
        } else if let snap = result.snapshot {
            dev.error = ""
            dev.lastOK = now
            if dev.okSince == nil { dev.okSince = now }
            dev.health = result.latency * 2 > s.ioTimeout ? .slow : .ok
            if before != dev.health {
                let lvl: LogLevel = dev.health == .ok ? .notice : .warning
                out.append(.log(lvl, "storage \(url) is \(dev.health) (cycle \(fmt(result.latency)))"))
                out.append(.event(.storageChanged(device: d, health: dev.health)))
            }
            found = absorb(snap, device: d, url: url, into: &dev, state: &st, now: now, out: &out)
            for w in result.mailboxesWritten { dev.written[w.pill.target] = w.pill }
        }
        if result.error == nil, result.slotWritten, dev.acked.last != dev.pendingCounter {
            dev.acked = Array((dev.acked + [dev.pendingCounter]).suffix(2))
        }
        st.devices[d] = dev
        storage = st
        apply(found, now: now, into: &out)
        applyStorageRules(now: now, into: &out)
        // A lone two-node candidate wins once its term is in its slot on a majority of devices, as read back.
        if case let .candidate(t, _, _) = role, twoNodeTieWinner,
            st.devices.filter({ $0.health.usable && $0.confirmedTerm >= t }).count >= s.majority
        {
            becomeCoordinator(term: t, now: now, into: &out)
        }
        return out
    }

    /// Why device `dev` loses this node's writes (nil: it keeps them). The read of a cycle comes before its
    /// write, so it must show at least the slot of the write acknowledged two cycles ago (one cycle of
    /// staleness is allowed, for a cache in the path). A device that acknowledges writes it does not keep would
    /// otherwise count pills and term claims as written that no peer ever reads.
    func lostWrites(_ snap: SlotAreaSnapshot, _ dev: StorageState.Device) -> String? {
        guard dev.acked.count == 2 else { return nil }
        let own = myIndex < snap.slots.count ? snap.slots[myIndex] : nil
        if let own, own.node == me, own.incarnation == incarnation, own.counter >= dev.acked[0] { return nil }
        let shows = own.map { "incarnation \($0.incarnation) counter \($0.counter)" } ?? "no valid slot"
        return
            "writes do not persist: this node's slot reads back as \(shows), after the write of counter \(dev.acked[0]) (incarnation \(incarnation)) was acknowledged"
    }

    /// Whether the shell may feed a watchdog device: the agent runs (a hung agent stops feeding, and the
    /// watchdog resets the machine), unless it has fenced itself in reboot mode (then the reset is the fence,
    /// should the sysrq reboot have failed). The self-fence rule itself is the core's, not the watchdog's.
    public var watchdogHealthy: Bool {
        guard let st = storage, let s = spec.storage else { return true }
        if st.fenced != nil, s.selfFence == .reboot { return false }
        // Without quorum and without storage the watchdog is not fed: the machine resets after watchdog_timeout
        // even if the agent keeps restarting (each restart would otherwise restart the self-fence clock).
        return quorate || st.haveStorage
    }

    /// This node has fenced itself (it runs nothing until the coordinator clears its pill).
    public var isFenced: Bool { storage?.fenced != nil }

    /// What a good read means beyond the storage state (applied by the caller once the state is written back).
    struct AbsorbOutcome {
        /// This node's slot from before this start shows a term the election record does not: count it as voted.
        var termFromEarlierRun: UInt64?
        /// A pill for this incarnation was found: this node fenced itself.
        var fencedByPill = false
    }

    /// What a read means for the rest of the node, once the storage state is written back: placement runs
    /// again after a self-fence; a term this node's slot showed from before this start counts as voted.
    mutating func apply(_ found: AbsorbOutcome, now: Instant, into out: inout [Action]) {
        if found.fencedByPill { groups.placementDue = true }
        if let t = found.termFromEarlierRun {
            var eo: [ElectionOutput] = []
            election.countAsVoted(t, into: &eo)
            emit(eo, now: now, into: &out)
        }
    }

    /// Takes in one device's good read: the peers' slots, this node's own slot, the mailboxes, a pill for
    /// this node. Changes only the storage state it is given.
    func absorb(
        _ snap: SlotAreaSnapshot, device d: Int, url: String, into dev: inout StorageState.Device,
        state st: inout StorageState, now: Instant, out: inout [Action]
    ) -> AbsorbOutcome {
        var found = AbsorbOutcome()
        // Invalid sectors are ignored (never acted on), counted, and logged once per sector and reason.
        dev.invalidSectors += UInt64(snap.invalid.count)
        for bad in snap.invalid where !dev.invalidLogged.contains(bad) {
            dev.invalidLogged.insert(bad)
            out.append(.log(.warning, "storage \(url): ignoring \(bad)"))
        }
        for (i, n) in spec.nodes.enumerated() where n.name != me {
            guard i < snap.slots.count, let slot = snap.slots[i] else { continue }
            guard slot.node == n.name else {
                let why = "slot \(i): written by \(slot.node), expected \(n.name) (is the node order the same in every cluster.conf?)"
                dev.invalidSectors += 1
                if !dev.invalidLogged.contains(why) {
                    dev.invalidLogged.insert(why)
                    out.append(.log(.error, "storage \(url): \(why)"))
                }
                continue
            }
            guard slot.term <= Self.maxTerm else {
                let why = "slot \(i) (\(n.name)): term \(slot.term) is beyond any election (at most \(Self.maxTerm))"
                dev.invalidSectors += 1
                if !dev.invalidLogged.contains(why) {
                    dev.invalidLogged.insert(why)
                    out.append(.log(.error, "storage \(url): ignoring \(why)"))
                }
                continue
            }
            st.termSeen = max(st.termSeen, slot.term)
            var p = st.peers[n.name] ?? StorageState.PeerDisk()
            if p.perDevice.count < st.devices.count { p.perDevice += Array(repeating: nil, count: st.devices.count - p.perDevice.count) }
            p.perDevice[d] = slot
            // The newest of what the devices hold now: a higher incarnation, or a higher counter.
            let newest = p.perDevice.compactMap { $0 }.max { ($0.incarnation, $0.counter) < ($1.incarnation, $1.counter) }
            if newest != p.slot {
                p.slot = newest
                p.changedAt = now
            }
            st.peers[n.name] = p
        }
        guard let myIndex = spec.nodes.firstIndex(where: { $0.name == me }), myIndex < snap.mailboxes.count else { return found }
        if myIndex < snap.slots.count, let own = snap.slots[myIndex], own.node == me, own.term <= Self.maxTerm {
            if own.incarnation == incarnation {
                dev.confirmedTerm = max(dev.confirmedTerm, own.term)
            } else if own.incarnation < incarnation, own.term > election.record.votedTerm {
                // This node's slot from before this start: it knew that term then, and may have voted in it.
                // An election record that does not show it was lost or restored from an older copy: count the
                // term as voted (for nobody known), so this node neither votes in it again nor stands for it.
                out.append(
                    .log(
                        .warning,
                        "this node's slot on \(url) shows term \(own.term) from before this start, above the election record's \(election.record.votedTerm): counting it as voted"
                    ))
                found.termFromEarlierRun = max(found.termFromEarlierRun ?? 0, own.term)
            }
        }
        for (i, n) in spec.nodes.enumerated() where i < snap.mailboxes.count {
            if let p = snap.mailboxes[i], p.target == n.name { dev.written[n.name] = p } else { dev.written[n.name] = nil }
        }
        if let pill = snap.mailboxes[myIndex], pill.target == me, !pill.cleared, pill.maxIncarnation >= incarnation {
            dev.pillForMe = pill
            if st.fenced.map({ $0.serial == 0 }) ?? true {
                let reason = "poison pill from \(pill.from) (term \(pill.term)) on \(url)"
                st.fenceThisNode(reason: reason, serial: pill.serial, now: now, mode: spec.storage?.selfFence ?? .reboot, into: &out)
                found.fencedByPill = true
            }
        } else {
            dev.pillForMe = nil
        }
        return found
    }

    /// Storage part of `tick`: start due cycles, notice cycles past their deadline, apply the self-fence rule.
    mutating func storageTick(now: Instant, into out: inout [Action]) {
        guard var st = storage, let s = spec.storage else { return }
        for d in st.devices.indices {
            var dev = st.devices[d]
            if let since = dev.inFlightSince {
                if now - since >= s.ioTimeout, dev.health != .lost {
                    dev.health = .lost
                    dev.okSince = nil
                    dev.error = "no answer within io_timeout \(s.ioTimeout.compactDescription)"
                    dev.failures += 1
                    out.append(.log(.error, "storage \(s.devices[d]) is lost: \(dev.error)"))
                    out.append(.event(.storageChanged(device: d, health: .lost)))
                }
            } else if now >= dev.nextCycle {
                dev.inFlightSince = now
                dev.nextCycle = now + s.interval
                st.counter += 1
                let slot = mySlot(st)
                dev.pendingCounter = slot.counter
                out.append(
                    .storageCycle(
                        StorageCycle(
                            device: d, slotIndex: myIndex, slot: slot, mailboxes: mailboxWrites(st, device: d),
                            deadline: s.ioTimeout)))
            }
            st.devices[d] = dev
        }
        storage = st
        applyStorageRules(now: now, into: &out)
    }

    func nextStorageWakeup() -> Instant? {
        guard let st = storage, let s = spec.storage else { return nil }
        var next: Instant?
        func consider(_ i: Instant) { next = next.map { min($0, i) } ?? i }
        for dev in st.devices {
            if let since = dev.inFlightSince { consider(since + s.ioTimeout) } else { consider(dev.nextCycle) }
        }
        if let l = st.lostBothSince { consider(l + s.watchdogTimeout) }
        for op in st.ops.values where op.done == nil { if let w = op.writtenAt { consider(w + s.msgwait) } }
        for p in st.peers.values { if let c = p.changedAt { consider(c + s.msgwait) } }
        for dev in st.devices where !dev.health.usable { if let ok = dev.lastOK { consider(ok + s.ioTimeout + s.interval) } }
        return next
    }

    var myIndex: Int { spec.nodes.firstIndex { $0.name == me }! }

    /// "Having storage": a majority of devices usable, or read successfully within one cycle's grace
    /// (io_timeout + interval), so that one failed or late cycle costs no quorum (two nodes) and starts no
    /// self-fence clock. Kept in `StorageState.haveStorage`, recomputed with the time by `applyStorageRules`.
    var storageOK: Bool { storage?.haveStorage ?? false }

    /// With shared storage: this node has not yet had a good read of a majority of devices since it started,
    /// so it has not yet seen the terms its own slot remembers from its last run (`AbsorbOutcome`). Until then
    /// it neither votes nor stands (`ElectionContext.ownSlotUnread`). False without storage.
    var ownSlotUnread: Bool {
        guard let st = storage, let s = spec.storage else { return false }
        return st.devices.filter { $0.lastOK != nil }.count < s.majority
    }

    func computeStorageOK(_ st: StorageState, now: Instant) -> Bool {
        guard let s = spec.storage else { return false }
        let grace = s.ioTimeout + s.interval
        return st.devices.filter { $0.health.usable || ($0.lastOK.map { now - $0 < grace } ?? false) }.count >= s.majority
    }

    /// After anything storage-related changed: quorum (two nodes), the self-fence rule, unfencing, placement.
    mutating func applyStorageRules(now: Instant, into out: inout [Action]) {
        guard var st = storage, let s = spec.storage else { return }
        st.haveStorage = computeStorageOK(st, now: now)
        storage = st
        recomputeQuorum(now: now, into: &out)  // (reads storageOK)
        let anythingHere = groups.local.contains { $0.phase != .stopped || $0.handedOver }
        if !quorate, !storageOK {
            if st.lostBothSince == nil {
                st.lostBothSince = now
                if anythingHere {
                    out.append(
                        .log(
                            .warning,
                            "no quorum and no storage: fencing this node in \(s.watchdogTimeout.compactDescription) unless one returns"))
                }
            } else if let lost = st.lostBothSince, now - lost >= s.watchdogTimeout, st.fenced == nil, anythingHere {
                st.fenceThisNode(
                    reason: "no quorum and no storage for \(fmt(now - lost)) (watchdog_timeout \(s.watchdogTimeout.compactDescription))",
                    serial: 0, now: now, mode: s.selfFence, into: &out)
                groups.placementDue = true
            }
        } else {
            st.lostBothSince = nil
        }
        // Unfence (stop-resources mode): back in a quorate membership, and a majority of devices usable, each
        // read since the fence and showing no pill for this incarnation (the coordinator clears it once this node
        // is back). Not on storage's grace alone: with no device usable, "no pill" would be no read at all
        // (nemesis seed 708228: lifted as the device was lost, then a stale assignment started the group).
        let usable = st.devices.filter(\.health.usable)
        if let f = st.fenced, s.selfFence == .stopResources, quorate, storageOK, usable.count >= s.majority,
            usable.allSatisfy({ $0.pillForMe == nil && ($0.lastOK.map { $0 >= f.since } ?? false) })
        {
            out.append(.log(.notice, "fence lifted: back in a quorate membership and no pill for this node (was: \(f.reason))"))
            st.fenced = nil
            out.append(.event(.fenced(reason: nil)))
            groups.placementDue = true
        }
        storage = st
        if role == .coordinator { groups.placementDue = true }
    }

    func mySlot(_ st: StorageState) -> DiskSlot {
        var active: UInt32 = 0
        // A handed-over group may still run here (a `vm` left running for the target): active until resolved.
        for (i, g) in groups.local.enumerated() where i < 32 && (g.phase != .stopped || g.handedOver) { active |= 1 << UInt32(i) }
        let allStopped = groups.local.allSatisfy { $0.phase == .stopped && !$0.handedOver && $0.sequence == nil }
        // A candidate writes the term it stands for: a peer that reads it never stands for the same term.
        var claimed = term
        if case let .candidate(t, _, _) = role { claimed = max(claimed, t) }
        // A term counted as voted (for nobody known: the record was lost or older, finding 9) is written too, with
        // no coordinator: the evidence that it may have been used outlives this node's next restart or crash, so
        // a peer that reads it stands above it (finding 19).
        let written = max(claimed, election.record.votedTerm)
        return DiskSlot(
            node: me, incarnation: incarnation, counter: st.counter, term: written,
            coordinator: written == claimed && election.termCoordinator.term == term ? election.termCoordinator.name : "",
            quorate: quorate, fenced: st.fenced != nil && allStopped, leaving: leaving,
            ackSerial: st.fenced != nil && allStopped ? st.fenced!.serial : 0, activeGroups: active)
    }

    func storageStatus(now: Instant) -> StorageStatus? {
        guard let st = storage, let s = spec.storage else { return nil }
        let devices = st.devices.enumerated().map { d, dev in
            StorageStatus.Device(
                url: s.devices[d], state: dev.health.rawValue, latencyMs: dev.latency?.milliseconds,
                lastOkMs: dev.lastOK.map { (now - $0).milliseconds }, error: dev.error.isEmpty ? nil : dev.error,
                cycles: dev.cycles, failures: dev.failures, invalidSectors: dev.invalidSectors)
        }
        let peerLines = spec.nodes.filter { $0.name != me }.map { n -> StorageStatus.Peer in
            let p = st.peers[n.name]
            let disk: String
            if let c = p?.changedAt { disk = now - c < diskDeadtime ? "alive" : "still" } else { disk = "unknown" }
            return StorageStatus.Peer(
                node: n.name, disk: disk, counter: p?.slot?.counter, incarnation: p?.slot?.incarnation,
                fenced: p?.slot?.fenced ?? false, lastChangeMs: p?.changedAt.map { (now - $0).milliseconds })
        }
        let fencing = st.ops.sorted { $0.key < $1.key }.map { n, op in
            StorageStatus.Fencing(
                node: n, serial: op.pill.serial, issuedMs: (now - op.issuedAt).milliseconds,
                writtenMs: op.writtenAt.map { (now - $0).milliseconds }, done: op.done?.description)
        }
        return StorageStatus(
            devices: devices, selfFence: s.selfFence.rawValue, fenced: st.fenced?.reason,
            watchdog: s.watchdogDevice, msgwaitMs: s.msgwait.milliseconds,
            watchdogTimeoutMs: s.watchdogTimeout.milliseconds, peers: peerLines, fencing: fencing,
            tieBreakWinner: twoNodeTieBreak ? tieBreakWinner : nil)
    }

    /// A peer whose slot changed within this long is alive on disk.
    var diskDeadtime: Duration {
        guard let s = spec.storage else { return spec.timing.deadtime }
        return max(spec.timing.deadtime, s.interval * 2 + s.ioTimeout)
    }

    /// A peer silent on every LAN link but alive on disk is `partitioned` (or `fenced`, once its slot says
    /// so), not dead: nil when the disk says nothing more than the LAN.
    func diskState(_ n: String) -> String? {
        guard let st = storage, let p = membership.peers[n], !p.state.isMember, let c = st.peers[n]?.changedAt,
            st.devices.contains(where: { $0.lastOK.map { $0 - c < diskDeadtime } ?? false })
        else { return nil }
        return st.peers[n]?.slot?.fenced == true ? "fenced" : "partitioned"
    }
}

/// `storage` in `vigil status --json` (null without a `[storage]` table).
public struct StorageStatus: Codable, Sendable, Hashable {
    /// One device as this node sees it.
    public struct Device: Codable, Sendable, Hashable {
        public var url: String
        /// unknown | ok | slow | lost
        public var state: String
        public var latencyMs: Double?
        public var lastOkMs: Double?
        public var error: String?
        public var cycles: UInt64
        public var failures: UInt64
        public var invalidSectors: UInt64
        enum CodingKeys: String, CodingKey {
            case url, state, error, cycles, failures
            case latencyMs = "latency_ms", lastOkMs = "last_ok_ms", invalidSectors = "invalid_sectors"
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(url, forKey: .url); try c.encode(state, forKey: .state)
            try c.encode(latencyMs, forKey: .latencyMs); try c.encode(lastOkMs, forKey: .lastOkMs)
            try c.encode(error, forKey: .error); try c.encode(cycles, forKey: .cycles); try c.encode(failures, forKey: .failures)
            try c.encode(invalidSectors, forKey: .invalidSectors)
        }
    }
    /// A peer as seen on disk.
    public struct Peer: Codable, Sendable, Hashable {
        public var node: String
        /// alive | still | unknown
        public var disk: String
        public var counter: UInt64?
        public var incarnation: UInt64?
        public var fenced: Bool
        public var lastChangeMs: Double?
        enum CodingKeys: String, CodingKey {
            case node, disk, counter, incarnation, fenced
            case lastChangeMs = "last_change_ms"
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(node, forKey: .node); try c.encode(disk, forKey: .disk); try c.encode(counter, forKey: .counter)
            try c.encode(incarnation, forKey: .incarnation); try c.encode(fenced, forKey: .fenced)
            try c.encode(lastChangeMs, forKey: .lastChangeMs)
        }
    }
    /// A fence operation of this node's.
    public struct Fencing: Codable, Sendable, Hashable {
        public var node: String
        public var serial: UInt64
        public var issuedMs: Double
        public var writtenMs: Double?
        public var done: String?
        enum CodingKeys: String, CodingKey {
            case node, serial, done
            case issuedMs = "issued_ms", writtenMs = "written_ms"
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(node, forKey: .node); try c.encode(serial, forKey: .serial); try c.encode(issuedMs, forKey: .issuedMs)
            try c.encode(writtenMs, forKey: .writtenMs); try c.encode(done, forKey: .done)
        }
    }
    public var devices: [Device]
    public var selfFence: String
    /// Why this node is fenced (null: it is not).
    public var fenced: String?
    public var watchdog: String?
    public var msgwaitMs: Double
    public var watchdogTimeoutMs: Double
    public var peers: [Peer]
    public var fencing: [Fencing]
    public var tieBreakWinner: String?

    enum CodingKeys: String, CodingKey {
        case devices, fenced, watchdog, peers, fencing
        case selfFence = "self_fence", msgwaitMs = "msgwait_ms", watchdogTimeoutMs = "watchdog_timeout_ms"
        case tieBreakWinner = "tie_break_winner"
    }

    /// Every key is always present (null when absent).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(devices, forKey: .devices); try c.encode(selfFence, forKey: .selfFence)
        try c.encode(fenced, forKey: .fenced); try c.encode(watchdog, forKey: .watchdog)
        try c.encode(msgwaitMs, forKey: .msgwaitMs); try c.encode(watchdogTimeoutMs, forKey: .watchdogTimeoutMs)
        try c.encode(peers, forKey: .peers); try c.encode(fencing, forKey: .fencing)
        try c.encode(tieBreakWinner, forKey: .tieBreakWinner)
    }
}
