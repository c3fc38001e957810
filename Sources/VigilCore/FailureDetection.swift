/// Failure detection, driven from `ClusterNode`: peers and links age into suspect and dead by their silence,
/// and a member whose packets say it does not hear this node (or has no quorum) becomes unusable. The
/// `Membership` holds the facts; here the node acts on their changes (coordinator loss, placement).
extension ClusterNode {
    mutating func agePeers(now: Instant, into out: inout [Action]) {
        membership.lastAged = now
        let t = spec.timing
        for name in membership.peerNames {
            var p = membership.peers[name]!
            let before = p.state
            for i in 0..<p.linkUp.count where p.linkUp[i] {
                if let h = p.linkLastHeard[i], now - h >= t.deadtime {
                    p.linkUp[i] = false
                    out.append(.log(.warning, "link \(i) (\(addr(p.spec, i))) to \(name) is down: silent for \(fmt(now - h))"))
                    out.append(.event(.linkChanged(node: name, link: i, up: false)))
                }
            }
            switch p.state {
            case .alive, .suspect:
                guard let h = p.lastHeard else { break }
                let silence = now - h
                if silence >= t.deadtime {
                    p.state = .dead
                    out.append(
                        .log(
                            .warning,
                            "\(name) is dead: silent for \(fmt(silence)) on every link (deadtime \(t.deadtime.compactDescription))"))
                } else if silence >= t.warntime, p.state == .alive {
                    p.state = .suspect
                    out.append(
                        .log(
                            .warning,
                            "late heartbeat from \(name): \(fmt(silence)) since the last one (interval \(t.interval.compactDescription), warntime \(t.warntime.compactDescription))"
                        ))
                }
            case .unknown:
                if now - started >= t.initdead {
                    p.state = .dead
                    out.append(.log(.warning, "\(name) is dead: not heard within initdead \(t.initdead.compactDescription)"))
                }
            case .dead, .left:
                break
            }
            if !p.state.isMember {
                p.unusableSince = nil
                p.usable = true
            } else {
                checkUsability(name, &p, now: now, into: &out)
            }
            membership.peers[name] = p
            if p.state != before {
                out.append(.event(.memberChanged(node: name, from: before, to: p.state)))
                if !p.state.isMember, coordinator == name {
                    setCoordinator("", now: now, into: &out, reason: "\(name) is \(p.state)")
                }
            }
        }
        recomputeQuorum(now: now, into: &out)
    }

    /// Records whether a peer that just spoke is usable (`isUsable`), and what follows when that changes.
    mutating func noteUsability(_ name: String, _ peer: inout Peer, now: Instant, into out: inout [Action]) {
        let hearsMe = peer.view.first { $0.node == me }.map { $0.state.isMember } ?? true
        if peer.quorate && hearsMe {
            peer.unusableSince = nil
            if !peer.usable {
                peer.usable = true
                groups.placementDue = true
                out.append(.log(.notice, "\(name) hears this node and has quorum again"))
            }
            if groups.confirmedDown.removeValue(forKey: name) != nil {
                out.append(.log(.notice, "\(name) is back: its confirm-down no longer holds (a later disappearance needs fencing again)"))
            }
        } else if peer.unusableSince == nil {
            peer.unusableSince = now
        }
        checkUsability(name, &peer, now: now, into: &out)
    }

    /// A peer whose packets have said for warntime that it does not hear this node (or has no quorum) is given
    /// no group; after deadtime it counts as vanished (`isLostMember`).
    mutating func checkUsability(_ name: String, _ peer: inout Peer, now: Instant, into out: inout [Action]) {
        guard peer.usable, let since = peer.unusableSince, now - since >= spec.timing.warntime else { return }
        peer.usable = false
        groups.placementDue = true
        let hearsMe = peer.view.first { $0.node == me }.map { $0.state.isMember } ?? true
        out.append(
            .log(
                .warning,
                "\(name) is heard but \(hearsMe ? "has no quorum" : "does not hear this node") (for \(fmt(now - since))): it gets no group\(spec.groups.isEmpty ? "" : ", and what it ran starts elsewhere once it is fenced or confirmed down")"
            ))
    }

}
