/// Failure detection, a part of `Membership`: peers and links age into suspect and dead by their silence, a
/// message proves its sender and link alive, and a member whose packets say it does not hear this node (or has
/// no quorum) becomes unusable. Each returns what changed; `ClusterNode` acts on it (the coordinator's loss,
/// placement, a confirm-down that no longer holds).
extension Membership {
    /// What aging or hearing one peer changed.
    struct PeerChange {
        var from: MemberState
        var to: MemberState
        /// It became usable or unusable (placement must run again).
        var usabilityChanged = false
        /// Its latest packet says it hears this node and has quorum.
        var hearsAndQuorate = false
    }

    /// Ages peer `name` by its silence at `now`: links down after deadtime, suspect after warntime, dead after
    /// deadtime (or initdead if never heard), unusable after warntime of saying it does not hear this node.
    mutating func age(_ name: String, now: Instant, hasGroups: Bool, into out: inout [Action]) -> PeerChange {
        var p = peers[name]!
        var change = PeerChange(from: p.state, to: p.state)
        for i in 0..<p.linkUp.count where p.linkUp[i] {
            if let h = p.linkLastHeard[i], now - h >= timing.deadtime {
                p.linkUp[i] = false
                out.append(.log(.warning, "link \(i) (\(Self.address(p.spec, i))) to \(name) is down: silent for \(Self.ms(now - h))"))
                out.append(.event(.linkChanged(node: name, link: i, up: false)))
            }
        }
        switch p.state {
        case .alive, .suspect:
            guard let h = p.lastHeard else { break }
            let silence = now - h
            if silence >= timing.deadtime {
                p.state = .dead
                out.append(
                    .log(
                        .warning,
                        "\(name) is dead: silent for \(Self.ms(silence)) on every link (deadtime \(timing.deadtime.compactDescription))"))
            } else if silence >= timing.warntime, p.state == .alive {
                p.state = .suspect
                out.append(
                    .log(
                        .warning,
                        "late heartbeat from \(name): \(Self.ms(silence)) since the last one (interval \(timing.interval.compactDescription), warntime \(timing.warntime.compactDescription))"
                    ))
            }
        case .unknown:
            if now - started >= timing.initdead {
                p.state = .dead
                out.append(.log(.warning, "\(name) is dead: not heard within initdead \(timing.initdead.compactDescription)"))
            }
        case .dead, .left:
            break
        }
        if !p.state.isMember {
            p.unusableSince = nil
            p.usable = true
        } else {
            change.usabilityChanged = checkUsability(name, &p, now: now, hasGroups: hasGroups, into: &out)
        }
        peers[name] = p
        change.to = p.state
        return change
    }

    /// An authenticated, fresh message from `peer`'s node on `link`: it and the link are alive, and its view,
    /// term, coordinator and quorum are its latest word. (A leave is handled by the caller after this.)
    mutating func heard(
        _ msg: Message, link: Int, peer: inout Peer, now: Instant, hasGroups: Bool, into out: inout [Action]
    )
        -> PeerChange
    {
        var change = PeerChange(from: peer.state, to: peer.state)
        if let last = peer.lastHeard, peer.state == .suspect {
            out.append(.log(.notice, "heartbeat from \(msg.sender) resumed after \(Self.ms(now - last))"))
        }
        peer.lastHeard = now
        peer.linkLastHeard[link] = now
        if !peer.linkUp[link], msg.kind != .leave {
            peer.linkUp[link] = true
            out.append(.log(.info, "link \(link) (\(Self.address(peer.spec, link))) to \(msg.sender) is up"))
            out.append(.event(.linkChanged(node: msg.sender, link: link, up: true)))
        }
        peer.view = msg.view
        for e in msg.view where e.node != me && e.node != msg.sender {
            if e.state.isMember {
                unlistedSince[e.node]?[msg.sender] = nil
            } else if unlistedSince[e.node]?[msg.sender] == nil {
                unlistedSince[e.node, default: [:]][msg.sender] = now
            }
        }
        peer.term = msg.term
        peer.coordinator = msg.coordinator
        peer.quorate = msg.senderQuorate
        if msg.senderQuorate {
            unquorateSince[msg.sender] = nil
        } else if unquorateSince[msg.sender] == nil {
            unquorateSince[msg.sender] = now
        }
        // Usable: it hears this node and has quorum; otherwise unusable once it has said so for warntime.
        let hearsMe = peer.view.first { $0.node == me }.map { $0.state.isMember } ?? true
        if peer.quorate && hearsMe {
            change.hearsAndQuorate = true
            peer.unusableSince = nil
            if !peer.usable {
                peer.usable = true
                change.usabilityChanged = true
                out.append(.log(.notice, "\(msg.sender) hears this node and has quorum again"))
            }
        } else if peer.unusableSince == nil {
            peer.unusableSince = now
        }
        if checkUsability(msg.sender, &peer, now: now, hasGroups: hasGroups, into: &out) { change.usabilityChanged = true }
        return change
    }

    /// A peer whose packets have said for warntime that it does not hear this node (or has no quorum) is given
    /// no group; after deadtime it counts as vanished (`isLostMember`). Returns whether it became unusable now.
    func checkUsability(_ name: String, _ peer: inout Peer, now: Instant, hasGroups: Bool, into out: inout [Action]) -> Bool {
        guard peer.usable, let since = peer.unusableSince, now - since >= timing.warntime else { return false }
        peer.usable = false
        let hearsMe = peer.view.first { $0.node == me }.map { $0.state.isMember } ?? true
        out.append(
            .log(
                .warning,
                "\(name) is heard but \(hearsMe ? "has no quorum" : "does not hear this node") (for \(Self.ms(now - since))): it gets no group\(hasGroups ? ", and what it ran starts elsewhere once it is fenced or confirmed down" : "")"
            ))
        return true
    }

    static func ms(_ d: Duration) -> String { String(format1: d.milliseconds) + " ms" }
    static func address(_ n: NodeSpec, _ i: Int) -> String { i < n.addresses.count ? n.addresses[i] : "?" }
}

extension ClusterNode {
    /// Ages every peer, acts on what changed, and recounts the quorum.
    mutating func agePeers(now: Instant, into out: inout [Action]) {
        membership.lastAged = now
        for name in membership.peerNames {
            let change = membership.age(name, now: now, hasGroups: !spec.groups.isEmpty, into: &out)
            if change.usabilityChanged { groups.placementDue = true }
            if change.to != change.from {
                out.append(.event(.memberChanged(node: name, from: change.from, to: change.to)))
                if !change.to.isMember, coordinator == name {
                    setCoordinator("", now: now, into: &out, reason: "\(name) is \(change.to)")
                }
            }
        }
        recomputeQuorum(now: now, into: &out)
    }
}
