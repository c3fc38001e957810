/// Two nodes with shared storage and required fencing: the disk breaks the tie. Only the winner (the
/// coordinator of the current term, else the first configured node; the other once the winner's slot has been
/// still for msgwait) keeps quorum alone and writes the pill; the loser never shoots.
extension ClusterNode {
    /// A two-node cluster with storage and required fencing: the disk breaks ties.
    var twoNodeTieBreak: Bool { spec.nodes.count == 2 && spec.storage != nil && spec.fencing == .required }

    var twoNodePeer: String { spec.nodes.first { $0.name != me }!.name }

    /// Who keeps running when the two nodes lose each other: the coordinator of the current term if known
    /// (the disk slots say the same to both), else the first configured node; the other if the winner's slot
    /// has been still for msgwait while this node's storage works.
    var tieBreakWinner: String {
        let peer = twoNodePeer
        guard let st = storage, let s = spec.storage else { return spec.nodes[0].name }
        let peerDisk = st.peers[peer]
        let lastRead = st.devices.compactMap { $0.health.usable ? $0.lastOK : nil }.max()
        let stale = storageOK && slotStillSince(peer, st).map { still in lastRead.map { $0 - still >= s.msgwait } ?? false } ?? false
        var winner = spec.nodes[0].name
        var known = (term: UInt64(0), name: "")
        if !election.termCoordinator.name.isEmpty { known = election.termCoordinator }
        if let ps = peerDisk?.slot, !ps.coordinator.isEmpty, ps.term > known.term { known = (ps.term, ps.coordinator) }
        if !known.name.isEmpty { winner = known.name }
        if winner == peer, stale { winner = me }
        return winner
    }

    /// This node alone holds quorum by the two-node tie-break.
    var twoNodeTieWinner: Bool {
        // Only once the peer has been heard from or initdead passed (a restarted node claims nothing before),
        // and while the peer does not count for quorum: a returning peer that does not yet list this node in its
        // view must not cost the winner its quorum (and its groups).
        guard twoNodeTieBreak, let p = membership.peers[twoNodePeer], p.state != .unknown, !membership.countsForQuorum(twoNodePeer) else {
            return false
        }
        return storageOK && storage?.fenced == nil && tieBreakWinner == me
    }

    /// The highest term any peer's slot shows: a node standing for election picks a higher one, so a term is
    /// never reused by a lone two-node winner that did not hear the other's election.
    /// The highest term a peer's storage slot says that peer coordinated.
    var diskCoordinatedTerm: UInt64 {
        storage?.peers.compactMap { name, p in p.slot.flatMap { $0.coordinator == name ? $0.term : nil } }.max() ?? 0
    }

    var highestDiskTerm: UInt64 { max(storage?.peers.values.compactMap { $0.slot?.term }.max() ?? 0, storage?.termSeen ?? 0) }

    /// How long a candidacy lasts: the election timeout, or for a lone two-node tie-break winner, long enough
    /// for its term claim to be written and read back (the cycle in flight, the one that writes the claim and
    /// the one that reads it: three io_timeouts and two storage intervals). At the fast profile the election
    /// timeout (40 ms) is shorter than one storage interval, and the lone candidate timed out and stood again
    /// forever (found by bench/drill-compare).
    var candidacyTimeout: Duration { candidacyTimeout(tieWinner: spec.storage != nil && twoNodeTieWinner) }

    /// `candidacyTimeout` with the tie-break already worked out.
    func candidacyTimeout(tieWinner: Bool) -> Duration {
        guard let s = spec.storage, tieWinner else { return spec.timing.electionTimeout }
        return max(spec.timing.electionTimeout, s.ioTimeout * 3 + s.interval * 2)
    }

}
