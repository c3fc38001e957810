/// Membership and failure detection: the peers, what their latest packets said (view, term, quorum), and what
/// this node concludes from their silence. Aging and hearing are driven by `ClusterNode`, which acts on the
/// changes (coordinator loss, quorum, placement); everything here answers questions about peers.
struct Membership: Sendable {
    struct Peer: Sendable {
        let spec: NodeSpec
        var state: MemberState = .unknown
        var incarnation: UInt64 = 0
        var windows: [ReplayWindow]
        /// Windows for the peer's multicast copies (destination ""), a sequence space of their own.
        var broadcastWindows: [ReplayWindow]
        var linkLastHeard: [Instant?]
        var linkUp: [Bool]
        var lastHeard: Instant?
        var view: [ViewEntry] = []
        var term: UInt64 = 0
        var coordinator: String = ""
        /// The incarnation that announced a controlled leave (only a later one brings the peer back).
        var leftIncarnation: UInt64 = 0
        /// Its leave announced a restart (`vigil restart`): its groups run on and stay assigned to it until a
        /// later incarnation is heard (or an administrator confirms it down).
        var restarting = false
        /// Whether the peer's latest message said it is quorate in its own view.
        var quorate = false
        /// When a new incarnation of it (a restart) was first heard (nil: never restarted while heard).
        var incarnationHeardAt: Instant?
        /// Since when the peer's packets say it does not hear this node or has no quorum (nil: they say it
        /// does and has). See `isUsable`.
        var unusableSince: Instant?
        /// Whether it may take part in placement: false once `unusableSince` is warntime old (a reordered
        /// packet from before it gained quorum must not make it flap).
        var usable = true
        var nextSequence: [UInt64]

        init(spec: NodeSpec, links: Int) {
            self.spec = spec
            windows = Array(repeating: ReplayWindow(), count: links)
            broadcastWindows = windows
            linkLastHeard = Array(repeating: nil, count: links)
            linkUp = Array(repeating: false, count: links)
            nextSequence = Array(repeating: 1, count: links)
        }
    }

    let me: String
    let timing: TimingSpec
    let started: Instant
    var peers: [String: Peer] = [:]
    /// Peer names in a fixed order, so that iteration (and so action order) is deterministic.
    let peerNames: [String]
    /// [node][peer]: since when (this node's clock) the peer's view has listed the node as not a member (nil:
    /// it lists it as a member, or never did otherwise). While a peer lists a node as a member, that node may
    /// count the peer for quorum (`countsForQuorum`): it keeps its groups even without storage.
    var unlistedSince: [String: [String: Instant]] = [:]
    /// Since when a member's packets have said it has no quorum (nil: they say it has).
    var unquorateSince: [String: Instant] = [:]
    /// When the peers were last aged.
    var lastAged: Instant?

    /// The state of `node` in this view (this node itself is alive).
    func state(of node: String) -> MemberState { node == me ? .alive : peers[node]?.state ?? .unknown }

    /// Members (alive or suspect), including this node, sorted by name.
    var members: [String] { ([me] + peerNames.filter { peers[$0]!.state.isMember }).sorted() }

    init(spec: ClusterSpec, me: String, started: Instant) {
        self.me = me
        timing = spec.timing
        self.started = started
        var names: [String] = []
        for node in spec.nodes where node.name != me {
            peers[node.name] = Peer(spec: node, links: spec.linkCount)
            names.append(node.name)
        }
        peerNames = names
    }

    /// Whether `name` can take part in placement: this node, or a member that hears this node (its latest view
    /// lists this node as a member) and is quorate in its own view. A member that is not (a deaf node: its
    /// inbound traffic is cut, it has lost quorum and stopped its groups, but the others still hear it) is
    /// given no group, and once it has been so for deadtime it is treated as vanished (fenced or confirmed
    /// down before its groups start elsewhere): it cannot acknowledge new assignments.
    func isUsable(_ name: String) -> Bool {
        if name == me { return true }
        guard let p = peers[name], p.state.isMember else { return false }
        return p.usable
    }

    /// A member that has not been usable for deadtime: placement treats it as vanished.
    func isLostMember(_ name: String, now: Instant) -> Bool {
        guard let p = peers[name], p.state.isMember, let since = p.unusableSince else { return false }
        return now - since >= timing.deadtime
    }

    /// A member whose own latest view has this node as a member.
    func countsForQuorum(_ name: String) -> Bool {
        guard let p = peers[name], p.state.isMember else { return false }
        return p.view.first { $0.node == me }.map { $0.state.isMember } ?? true
    }

    /// Whether `node` is a member whose own latest message claims to coordinate `term`.
    func claims(_ node: String, toCoordinate term: UInt64) -> Bool {
        guard let p = peers[node], p.state.isMember else { return false }
        return p.coordinator == node && p.term == term
    }

    /// The grace after start-up: a node stands only once it has heard every peer, or initdead has passed.
    var graceEnd: Instant? {
        let allHeard = peerNames.allSatisfy { peers[$0]!.state != .unknown }
        return allHeard ? nil : started + timing.initdead
    }

    /// Since when no member lists `n` as a member (the latest of their "not a member" listings; the
    /// distant past if none ever listed it), or nil while one still does. `n` may hold quorum through such a
    /// member (it counts peers that list it), and then neither fences itself without storage nor reads a pill
    /// it cannot reach. Once the last one stopped listing it, `n` stops counting it within deadtime (when the
    /// listing reaches it, or when it stops hearing that member) and fences itself within watchdog_timeout
    /// more: msgwait >= deadtime + watchdog_timeout (config check) covers both from here.
    func listedUntil(_ n: String) -> Instant? {
        // A node heard here whose packets say it has no quorum holds none through anybody (a deaf node is
        // listed by everyone it still reaches): the clock runs from when it said so. Were it to regain quorum,
        // its next packet would say so.
        if peers[n]?.state.isMember == true, peers[n]?.quorate == false, let t = unquorateSince[n] { return t }
        var since = Instant.zero
        for m in peerNames where m != n && (peers[m]?.state.isMember ?? false) {
            guard let e = peers[m]?.view.first(where: { $0.node == n }), e.state.isMember else {
                if let t = unlistedSince[n]?[m] { since = max(since, t) }
                continue
            }
            return nil
        }
        return since
    }
}
