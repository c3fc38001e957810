/// `vigil status` from the core's point of view.
extension ClusterNode {
    /// A snapshot for `vigil status`.
    public func status(now: Instant) -> StatusReport {
        var nodes: [StatusReport.Node] = []
        for n in spec.nodes {
            if n.name == me {
                nodes.append(
                    .init(
                        name: n.name, state: state(of: me).description, votes: n.votes,
                        incarnation: incarnation, isSelf: true,
                        links: n.addresses.map { .init(address: $0, state: "local", lastHeardMs: nil) },
                        pingNodesReachable: groups.connectivity == 0 ? nil : Int(groups.connectivity) - 1, standby: inStandby))
                continue
            }
            let p = membership.peers[n.name]!
            let links = n.addresses.enumerated().map { i, a in
                StatusReport.Link(
                    address: a, state: i < p.linkUp.count && p.linkUp[i] ? "up" : "down",
                    lastHeardMs: (i < p.linkLastHeard.count ? p.linkLastHeard[i] : nil).map { (now - $0).milliseconds })
            }
            let c = groups.reports[n.name]?.connectivity ?? 0
            nodes.append(
                .init(
                    name: n.name, state: diskState(n.name) ?? p.state.description, votes: n.votes,
                    incarnation: p.incarnation == 0 ? nil : p.incarnation, isSelf: false, links: links,
                    pingNodesReachable: c == 0 ? nil : Int(c) - 1, configDiffers: groups.configDiffers[n.name],
                    standby: groups.reports[n.name]?.standby))
        }
        return StatusReport(
            cluster: spec.name, node: me, incarnation: incarnation, term: term,
            coordinator: coordinator.isEmpty ? nil : coordinator, role: role.description,
            quorate: quorate,
            quorum: .init(
                votes: memberVotes(), needed: spec.quorumVotes, total: spec.totalVotes,
                policy: spec.quorum.rawValue),
            nodes: nodes, counters: counters, agent: nil, standby: inStandby,
            standbyReason: standbyReason(now: now), groups: groupStatus(now: now), storage: storageStatus(now: now),
            electionHold: electionHold(now: now))
    }

    /// Why this node neither votes nor stands (nil: it may).
    func electionHold(now: Instant) -> String? {
        if election.amnesiaFloor != nil {
            let left = started + amnesiaGrace - now
            return "election record lost or restored before this start: no vote for another \(max(left, .zero).compactDescription)"
        }
        if ownSlotUnread, let st = storage, let s = spec.storage {
            let read = st.devices.filter { $0.lastOK != nil }.count
            return
                "this node's slot not yet read on a majority of the shared storage devices (\(read) of \(s.devices.count) read since start)"
        }
        return nil
    }

}
