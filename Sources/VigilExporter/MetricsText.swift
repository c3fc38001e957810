import Foundation
import VigilCore

/// The Prometheus text exposition (format 0.0.4) of one `StatusReport`, named in the style of ClusterLabs'
/// ha_cluster_exporter (`ha_cluster_pacemaker_nodes{node,status}` → `vigil_node_state{node,state}`). Pure: the
/// exporter renders whatever the local agent's status says (docs/metrics.md lists every metric).
public enum MetricsText {
    /// The exposition for `report`, or for an agent that could not be asked (`vigil_up 0` and nothing else).
    public static func render(_ report: StatusReport?, exporterVersion: String) -> String {
        var m = Metrics()
        m.gauge("vigil_up", "1 if the local agent answered the exporter's status request.", report == nil ? 0 : 1)
        guard let r = report else { return m.text }
        m.gauge(
            "vigil_info", "Constant 1, labelled with the cluster, this node and the versions.", 1,
            [
                "cluster": r.cluster, "node": r.node, "version": r.agent?.version ?? "", "exporter_version": exporterVersion,
                "schema_version": "\(r.schemaVersion ?? 0)"
            ])
        m.gauge("vigil_agent_uptime_seconds", "Seconds since the local agent started.", (r.agent?.uptimeMs ?? 0) / 1000)
        m.gauge("vigil_quorate", "1 if this node's members hold quorum.", r.quorate ? 1 : 0)
        for (kind, v) in [("present", r.quorum.votes), ("needed", r.quorum.needed), ("total", r.quorum.total)] {
            m.gauge(
                "vigil_quorum_votes", "Votes present among this node's members, needed for quorum, and configured.", Double(v),
                ["kind": kind])
        }
        m.gauge("vigil_term", "The highest election term this node has adopted.", Double(r.term))
        m.gauge("vigil_is_coordinator", "1 if this node is the coordinator.", r.role == "coordinator" ? 1 : 0)
        if let c = r.coordinator {
            m.gauge("vigil_coordinator", "Constant 1, labelled with the coordinator this node follows.", 1, ["node": c])
        }
        m.gauge("vigil_standby", "1 if this node is in standby (runs no groups).", r.standby ? 1 : 0)
        m.gauge("vigil_election_hold", "1 if this node neither votes nor stands for election now.", r.electionHold == nil ? 0 : 1)
        for n in r.nodes {
            m.gauge(
                "vigil_node_state", "Constant 1 per node, labelled with its state as this node sees it.", 1,
                ["node": n.name, "state": n.state])
            m.gauge("vigil_node_votes", "Configured votes per node.", Double(n.votes), ["node": n.name])
            if let s = n.standby {
                m.gauge("vigil_node_standby", "1 if the node reports standby (vigil standby or maintenance).", s ? 1 : 0, ["node": n.name])
            }
            guard !n.isSelf else { continue }
            if let d = n.configDiffers {
                m.gauge(
                    "vigil_node_config_differs", "1 if a peer's group configuration differs from this node's.", d ? 1 : 0, ["node": n.name])
            }
            for (i, l) in n.links.enumerated() {
                let labels = ["node": n.name, "link": "\(i)", "address": l.address]
                m.gauge("vigil_link_up", "1 if the heartbeat link to a peer is up.", l.state == "up" ? 1 : 0, labels)
                if let ms = l.lastHeardMs {
                    m.gauge(
                        "vigil_link_last_heard_seconds", "Seconds since the last authenticated packet on a link.", ms / 1000,
                        ["node": n.name, "link": "\(i)"])
                }
            }
        }
        for g in r.groups {
            m.gauge(
                "vigil_group_state", "Constant 1 per group, labelled with its state and owner.", 1,
                ["group": g.name, "state": g.state, "owner": g.owner ?? ""])
            m.gauge("vigil_group_running", "1 if the group runs (on its owner).", g.state == "running" ? 1 : 0, ["group": g.name])
            for (node, count) in g.failures.sorted(by: { $0.key < $1.key }) {
                m.gauge(
                    "vigil_group_failures", "Failures of a group per node (cleared by vigil cleanup).", Double(count),
                    ["group": g.name, "node": node])
            }
        }
        m.gauge(
            "vigil_recent_failures", "Resource operations that failed on this node (the last 20 kept).",
            Double(r.recentFailures?.count ?? 0))
        if let st = r.storage {
            for d in st.devices {
                m.gauge(
                    "vigil_storage_device_up", "1 if a shared storage device is ok or slow.", d.state == "ok" || d.state == "slow" ? 1 : 0,
                    ["device": d.url])
                if let l = d.latencyMs {
                    m.gauge(
                        "vigil_storage_cycle_seconds", "The last storage cycle's duration (read and write).", l / 1000, ["device": d.url])
                }
                m.counter("vigil_storage_cycles_total", "Storage cycles run.", Double(d.cycles), ["device": d.url])
                m.counter("vigil_storage_cycle_failures_total", "Storage cycles that failed.", Double(d.failures), ["device": d.url])
            }
            m.gauge("vigil_fenced", "1 if this node has fenced itself.", st.fenced == nil ? 0 : 1)
            for f in st.fencing {
                m.gauge(
                    "vigil_fencing_pending", "1 while a poison pill for a node is not yet done.", f.done == nil ? 1 : 0, ["node": f.node])
            }
        }
        m.counter("vigil_packets_received_total", "Packets received.", Double(r.counters.received))
        m.counter("vigil_packets_accepted_total", "Packets accepted (authentic and fresh).", Double(r.counters.accepted))
        m.counter("vigil_packets_sent_total", "Packets sent.", Double(r.counters.sent))
        for (reason, n) in r.counters.dropped.sorted(by: { $0.key < $1.key }) {
            m.counter("vigil_packets_dropped_total", "Packets dropped, per reason.", Double(n), ["reason": reason])
        }
        if let mig = r.lastMigration, let ms = figure("downtime_ms", in: mig) {
            m.gauge("vigil_last_migration_downtime_seconds", "Downtime of the last live migration into this node.", ms / 1000)
        }
        if let mig = r.lastMigration, let ms = figure("wall_ms", in: mig) {
            m.gauge("vigil_last_migration_seconds", "Wall time of the last live migration into this node.", ms / 1000)
        }
        return m.text
    }

    /// `key=value` from the vm agent's migration figures (nil: absent or `?`).
    static func figure(_ key: String, in text: String) -> Double? {
        for word in text.split(separator: " ") where word.hasPrefix(key + "=") {
            return Double(word.dropFirst(key.count + 1))
        }
        return nil
    }
}

/// Builds the exposition: one `# HELP` and `# TYPE` per metric family, in the order first seen; samples grouped
/// under their family.
struct Metrics {
    private var order: [String] = []
    private var families: [String: (help: String, type: String, samples: [String])] = [:]

    mutating func gauge(_ name: String, _ help: String, _ value: Double, _ labels: [String: String] = [:]) {
        add(name, help, "gauge", value, labels)
    }

    mutating func counter(_ name: String, _ help: String, _ value: Double, _ labels: [String: String] = [:]) {
        add(name, help, "counter", value, labels)
    }

    private mutating func add(_ name: String, _ help: String, _ type: String, _ value: Double, _ labels: [String: String]) {
        if families[name] == nil {
            order.append(name)
            families[name] = (help, type, [])
        }
        let l = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
        families[name]!.samples.append(name + (l.isEmpty ? "" : "{\(l.joined(separator: ","))}") + " " + Self.format(value))
    }

    var text: String {
        order.map { n in
            let f = families[n]!
            return "# HELP \(n) \(f.help)\n# TYPE \(n) \(f.type)\n" + f.samples.joined(separator: "\n") + "\n"
        }.joined()
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
            of: "\n", with: "\\n")
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }
}
