/// Fencing others through the shared storage (as coordinator or two-node tie-break winner): a poison pill in
/// the vanished node's mailbox on a majority of devices; fenced on its acknowledgement, after msgwait, or when
/// its slot has been still for msgwait. Pills of nodes that are back are cleared.
extension ClusterNode {
    /// Pills this node (as coordinator or two-node tie-break winner) still has to put on device `d`, and pills
    /// to clear for nodes that are back.
    func mailboxWrites(_ st: StorageState, device d: Int) -> [MailboxWrite] {
        guard role == .coordinator || twoNodeTieWinner else { return [] }
        var w: [MailboxWrite] = []
        // A fenced node that became the quorate coordinator again clears its own pill (nobody else will).
        if role == .coordinator, quorate, let p = st.devices[d].written[me], !p.cleared {
            var c = p
            c.cleared = true
            w.append(MailboxWrite(index: myIndex, pill: c))
        }
        for (i, n) in spec.nodes.enumerated() where n.name != me {
            if let op = st.ops[n.name], st.devices[d].written[n.name] != op.pill {
                w.append(MailboxWrite(index: i, pill: op.pill))
            } else if st.ops[n.name] == nil, membership.isUsable(n.name), let p = st.devices[d].written[n.name], !p.cleared {
                // Back in the membership: clear its pill so it may run groups again.
                var c = p
                c.cleared = true
                w.append(MailboxWrite(index: i, pill: c))
            }
        }
        return w
    }

    /// Whether vanished node `n` is fenced; if not, starts (or keeps up) a fence operation and says what it
    /// waits for.
    mutating func fence(_ n: String, now: Instant, into out: inout [Action]) -> FenceVerdict {
        guard storage != nil, spec.storage != nil else { return .waiting(.noStorage) }
        if holdFenceForRejoin(n, now: now) { return .waiting(.rejoining(node: n)) }
        guard var st = storage, let s = spec.storage else { return .waiting(.noStorage) }
        defer { storage = st }
        let disk = st.peers[n]?.slot
        let known = max(membership.peers[n]?.incarnation ?? 0, disk?.incarnation ?? 0)
        if var op = st.ops[n] {
            if known > op.pill.maxIncarnation || op.pill.term != term {
                // It restarted since the pill was issued (fence the new incarnation), or the pill is from an
                // earlier term of this node's (another coordinator may have cleared it since): issue a new one.
                st.ops[n] = nil
            } else {
                if op.done != nil { return .fenced }
                let present = st.devices.filter({ $0.health.usable && $0.written[n] == op.pill }).count >= s.majority
                if op.writtenAt == nil, present {
                    op.writtenAt = now
                    out.append(.log(.notice, "fencing \(n): pill written to \(s.majority) of \(s.devices.count) devices"))
                } else if op.writtenAt != nil, !present {
                    // msgwait counts only while the pill stays on a majority (it was overwritten or cleared).
                    op.writtenAt = nil
                    out.append(
                        .log(
                            .warning, "fencing \(n): the pill is no longer on \(s.majority) of \(s.devices.count) devices; writing it again"
                        ))
                }
                if let d = disk, d.fenced, d.ackSerial == op.pill.serial, d.incarnation <= op.pill.maxIncarnation {
                    op.done = .acknowledged(by: n)
                } else if let still = slotStillSince(n, st), now - still >= s.msgwait,
                    disk.map({ $0.incarnation >= (membership.peers[n]?.incarnation ?? 0) }) ?? true
                {
                    // (Not when a newer incarnation was heard than the still slot shows: that agent runs, and
                    // its slot has not been read yet; an agent that left had disarmed its watchdog.)
                    // Its slot has not moved for msgwait while this node read the devices: it is dead, or has
                    // had no storage (and so, without quorum, fenced itself), or hung (and was reset by its
                    // watchdog). The same assumptions as a pill's msgwait, without waiting for the pill first.
                    op.done = .slotStill(msgwait: s.msgwait)
                } else if let w = op.writtenAt, now - w >= s.msgwait, let listed = membership.listedUntil(n), now - listed >= s.msgwait {
                    if let d = disk, d.activeGroups != 0, d.incarnation <= op.pill.maxIncarnation,
                        let c = st.peers[n]?.changedAt, let read = st.devices.compactMap(\.lastOK).max(), read - c < diskDeadtime
                    {
                        // Its slot still moves and still shows groups not stopped: it read the pill (or will),
                        // and a stop failed or hangs there. msgwait proves nothing against that evidence.
                        st.ops[n] = op
                        return .waiting(.slotAliveWithGroups(node: n, sincePill: now - w))
                    }
                    op.done = .msgwaitPassed(s.msgwait)
                }
                st.ops[n] = op
                if let done = op.done {
                    out.append(.log(.warning, "\(n) is fenced: \(done) (\(fmt(now - op.issuedAt)) after the pill was issued)"))
                    out.append(.event(.peerFenced(node: n, proof: done)))
                    return .fenced
                }
                if let w = op.writtenAt { return .waiting(.pillWritten(node: n, ago: now - w, msgwait: s.msgwait)) }
                let usable = st.devices.filter(\.health.usable).count
                return usable >= s.majority
                    ? .waiting(.writingPill(node: n, needed: s.majority, devices: s.devices.count))
                    : .waiting(.cannotWritePill(node: n, usable: usable, devices: s.devices.count))
            }
        }
        let serial = term << 32 | st.nextSerial
        st.nextSerial += 1
        st.ops[n] = StorageState.FenceOp(
            pill: Pill(target: n, maxIncarnation: known, from: me, term: term, serial: serial),
            issuedAt: now)
        out.append(.log(.warning, "fencing \(n) (incarnation \(known)): poison pill \(serial) issued"))
        return .waiting(.pillIssued(node: n))
    }

    /// Since when `n`'s slot has been still on every device this node reads (nil: never seen it, or no read on
    /// a majority of devices since then).
    ///
    /// It counts from the latest of: the slot's last change; the start of this node's current run of good reads
    /// on a majority of devices (a device outage stills every slot); and the moment the node was due dead on
    /// the LAN (its own quorum loss comes no earlier, and the self-fence rule counts from there).
    func slotStillSince(_ n: String, _ st: StorageState) -> Instant? {
        guard let s = spec.storage else { return nil }
        let streaks = st.devices.compactMap { $0.health.usable ? $0.okSince : nil }.sorted()
        guard streaks.count >= s.majority else { return nil }
        let readingSince = streaks[s.majority - 1]
        // Never seen on disk or on the LAN since this node started: from the start, and from initdead.
        let changed = st.peers[n]?.changedAt ?? st.started
        let dueDead = membership.peers[n]?.lastHeard.map { $0 + spec.timing.deadtime } ?? started + spec.timing.initdead
        guard let vouch = membership.listedUntil(n) else { return nil }
        return max(changed, readingSince, dueDead, vouch)
    }

    /// The slot of a vanished node that says it left (its current incarnation, as far as this node knows).
    func diskSaysLeft(_ n: String) -> DiskSlot? {
        guard let slot = storage?.peers[n]?.slot, slot.leaving, slot.incarnation >= (membership.peers[n]?.incarnation ?? 0) else {
            return nil
        }
        return slot
    }

    /// A node whose new incarnation was first heard less than deadtime ago: it restarted and is probably about
    /// to join (its first packets count only once they echo this node's incarnation, and say it has no quorum). It gets that long before a pill is
    /// issued against it (finding 16: a pill written in that moment can reach a device whose clearing write
    /// lags, and the node reboots as it joins, again and again). Waiting is safe: the group starts nowhere.
    mutating func holdFenceForRejoin(_ n: String, now: Instant) -> Bool {
        guard let p = membership.peers[n], let t = p.incarnationHeardAt, now - t < spec.timing.deadtime,
            storage?.ops[n] == nil || (storage?.ops[n]?.pill.maxIncarnation ?? 0) < p.incarnation
        else { return false }
        let due = t + spec.timing.deadtime
        groups.placementRecheck = min(groups.placementRecheck ?? due, due)
        return true
    }

    /// Fence operations for nodes that are back in the membership are over (their pill gets cleared).
    mutating func retireFenceOps() {
        guard var st = storage else { return }
        for n in st.ops.keys where membership.isUsable(n) { st.ops[n] = nil }
        storage = st
    }
}

/// Whether a vanished node is fenced (its groups may start elsewhere), as the fencing rules decide it.
public enum FenceVerdict: Hashable, Sendable {
    /// Its pill was acknowledged, msgwait passed since the pill was written, or its slot was still for msgwait.
    case fenced
    /// Not yet: what the fence operation waits for.
    case waiting(FenceWait)
}

/// How a vanished node was proven fenced (shown in `vigil status` as the fence operation's `done`).
public enum FenceProof: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Its slot acknowledged the pill's serial: it stopped everything.
    case acknowledged(by: String)
    /// Its slot did not move for msgwait while this node read the devices: dead, self-fenced, or reset.
    case slotStill(msgwait: Duration)
    /// The pill stayed on a majority of devices for msgwait: it read it or fenced itself meanwhile.
    case msgwaitPassed(Duration)

    public var description: String {
        switch self {
        case let .acknowledged(n): "acknowledged by \(n)"
        case let .slotStill(m): "its slot has been still for msgwait \(m.compactDescription)"
        case let .msgwaitPassed(m): "msgwait \(m.compactDescription) passed since the pill was written"
        }
    }
}

/// What a fence operation waits for (shown in `vigil status` as the group's reason).
public enum FenceWait: Hashable, Sendable, CustomStringConvertible {
    /// No `[storage]` table: no fencing channel.
    case noStorage
    /// The pill was issued this pass; the next storage cycles write it.
    case pillIssued(node: String)
    /// Fewer than a majority of devices have it yet.
    case writingPill(node: String, needed: Int, devices: Int)
    /// Fewer than a majority of devices are usable here: the pill cannot be written.
    case cannotWritePill(node: String, usable: Int, devices: Int)
    /// On a majority since `ago`: waiting for the node's acknowledgement or for msgwait.
    case pillWritten(node: String, ago: Duration, msgwait: Duration)
    /// msgwait passed, but the node's slot still moves and shows groups not stopped: a stop may have failed
    /// there, so only its acknowledgement counts.
    case slotAliveWithGroups(node: String, sincePill: Duration)
    /// It restarted a moment ago and is heard: it gets deadtime to join before a pill is issued against it.
    case rejoining(node: String)

    public var description: String {
        switch self {
        case .noStorage:
            "no storage configured"
        case let .pillIssued(n):
            "fencing \(n): pill issued"
        case let .writingPill(n, needed, devices):
            "fencing \(n): writing the pill (\(needed) of \(devices) devices needed)"
        case let .cannotWritePill(n, usable, devices):
            "fencing \(n): cannot write the pill: only \(usable) of \(devices) devices usable here"
        case let .pillWritten(n, ago, msgwait):
            "fencing \(n): pill written \(String(format1: ago.milliseconds / 1000)) s ago, waiting for its acknowledgement or msgwait \(msgwait.compactDescription)"
        case let .slotAliveWithGroups(n, since):
            "fencing \(n): its slot is alive and shows groups not stopped \(String(format1: since.milliseconds)) ms after the pill: waiting for its acknowledgement (a stop may have failed there)"
        case let .rejoining(n):
            "\(n) restarted a moment ago: waiting up to deadtime for it to join before fencing it"
        }
    }
}
