/// Quorum: the votes of this node and of the members that count it, against the configured majority (or the
/// two-node tie-break, or `quorum = ignore`).
extension ClusterNode {
    func computeQuorate() -> Bool {
        if spec.quorum == .ignore { return true }
        return memberVotes() >= spec.quorumVotes || (storage != nil && twoNodeTieWinner)
    }

    /// Votes of this node and of every member that, in its own latest view, has this node as a member too:
    /// a node whose packets stop reaching the others (a dead transmit path, an outbound firewall rule) hears
    /// itself declared dead and loses quorum, instead of counting peers that no longer count it.
    func memberVotes() -> Int {
        myVotes + membership.peerNames.reduce(0) { $0 + (membership.countsForQuorum($1) ? membership.peers[$1]!.spec.votes : 0) }
    }

    /// Votes a candidate needs: a strict majority of configured votes (or, with `quorum = ignore`,
    /// the votes of every member it currently sees).
    func votesNeeded(tieWinner: Bool, memberVotes votes: Int) -> Int {
        spec.quorum == .ignore || tieWinner ? votes : spec.quorumVotes
    }

    mutating func recomputeQuorum(now: Instant, into out: inout [Action]) {
        let q = computeQuorate()
        guard q != quorate else { return }
        quorate = q
        let v = memberVotes()
        out.append(
            .log(
                q ? .notice : .warning,
                q
                    ? "quorum gained: \(v) of \(spec.totalVotes) votes (need \(spec.quorumVotes))"
                    : "quorum lost: \(v) of \(spec.totalVotes) votes (need \(spec.quorumVotes))"))
        out.append(.event(.quorumChanged(quorate: q)))
    }

}
