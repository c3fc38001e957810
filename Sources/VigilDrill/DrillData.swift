/// What a drill recorded: every echo request with its replies, the action, and the cluster's events.
/// Times are nanoseconds on one clock (the drill's CLOCK_MONOTONIC), relative to the first request.
public struct DrillData: Codable, Sendable, Hashable {
    /// One echo request and the replies to it (several: duplicates).
    public struct Probe: Codable, Sendable, Hashable {
        public var seq: UInt32
        public var sentNs: Int64
        public var repliesNs: [Int64]
        public init(seq: UInt32, sentNs: Int64, repliesNs: [Int64] = []) {
            self.seq = seq
            self.sentNs = sentNs
            self.repliesNs = repliesNs
        }
        enum CodingKeys: String, CodingKey {
            case seq
            case sentNs = "sent_ns", repliesNs = "replies_ns"
        }
    }

    /// Something that happened during the drill, from the drill itself or an agent's journal.
    public struct Event: Codable, Sendable, Hashable {
        public var tNs: Int64
        /// "drill" for the drill's own events, else the node.
        public var source: String
        public var kind: String
        public var text: String
        public init(tNs: Int64, source: String, kind: String, text: String) {
            self.tNs = tNs
            self.source = source
            self.kind = kind
            self.text = text
        }
        enum CodingKeys: String, CodingKey {
            case source, kind, text
            case tNs = "t_ns"
        }
    }

    public var target: String
    public var action: String
    /// The requested interval between echo requests.
    public var intervalNs: Int64
    /// When the action was issued (nil: no action).
    public var actionNs: Int64?
    /// When the pinger stopped sending.
    public var endNs: Int64
    /// Wall-clock time of the first request (Unix ns), for the report's header.
    public var startWallNs: Int64
    public var probes: [Probe]
    public var events: [Event]
    /// Replies that matched no request (another pinger's, or corrupted): counted, not used.
    public var strayReplies: Int
    /// Replies that arrived after a reply to a later request.
    public var reordered: Int

    public init(
        target: String, action: String, intervalNs: Int64, actionNs: Int64?, endNs: Int64, startWallNs: Int64,
        probes: [Probe], events: [Event], strayReplies: Int = 0, reordered: Int = 0
    ) {
        self.target = target
        self.action = action
        self.intervalNs = intervalNs
        self.actionNs = actionNs
        self.endNs = endNs
        self.startWallNs = startWallNs
        self.probes = probes
        self.events = events
        self.strayReplies = strayReplies
        self.reordered = reordered
    }

    enum CodingKeys: String, CodingKey {
        case target, action, probes, events, reordered
        case intervalNs = "interval_ns", actionNs = "action_ns", endNs = "end_ns", startWallNs = "start_wall_ns"
        case strayReplies = "stray_replies"
    }
}
