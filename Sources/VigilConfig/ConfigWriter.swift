import VigilCore

/// Writes a valid, fully commented cluster.conf (`vigil config init`); cluster.conf.example is its output.
public enum ConfigWriter {
    public static func render(
        cluster: String, nodes: [NodeSpec], keyFile: String, profile: String = "safe",
        port: Int = 694, stateDir: String? = nil, socket: String? = nil,
        timings: [String: String] = [:]
    ) -> String {
        let safe = TimingSpec.safe, fast = TimingSpec.fast
        let t = profile == "fast" ? fast : safe
        func d(_ x: Duration) -> String { x.compactDescription }
        func q(_ s: String) -> String { "\"\(s)\"" }
        func timing(_ key: String, _ def: String) -> String {
            timings[key].map { "\(key) = \(q($0))" } ?? "# \(key) = \(q(def))"
        }
        var out = """
            # Vigil cluster configuration (TOML subset). Written by `vigil config init`.
            # Copy it, identical, to every node. Every key is documented in docs/configuration.md.

            [cluster]
            # Cluster name: 1-63 letters, digits, '.', '_' or '-'. Its hash is carried in every packet.
            name = \(q(cluster))
            # Shared secret that signs every packet (HMAC-SHA256). Create it with `vigil keygen PATH`;
            # the agent refuses a key file that is not owned by root or that group or others may access.
            key_file = \(q(keyFile))
            # UDP port on every link. 694 is the registered ha-cluster port (Heartbeat's too).
            port = \(port)
            # Timing profile, the defaults for the four timings below:
            #   "safe": interval \(d(safe.interval)), warntime \(d(safe.warntime)), deadtime \(d(safe.deadtime)), initdead \(d(safe.initdead))
            #   "fast": interval \(d(fast.interval)), warntime \(d(fast.warntime)), deadtime \(d(fast.deadtime)), initdead \(d(fast.initdead)) (wants realtime = true)
            profile = \(q(profile))
            # Override single timings here. Durations need a unit: "us", "ms", "s" or "m".
            \(timing("interval", d(t.interval)))   # heartbeat period on every link
            \(timing("warntime", d(t.warntime)))   # silence before a peer is "suspect" and a late heartbeat is logged
            \(timing("deadtime", d(t.deadtime)))   # silence on every link before a peer is dead; more than 2 x interval
            \(timing("initdead", d(t.initdead)))   # grace after start-up for slow peers; at least deadtime
            # "majority": a partition acts only with a strict majority of all configured votes.
            # "ignore": every partition acts on its own (unsafe: split brain without fencing).
            quorum = "majority"
            # "unicast": every heartbeat goes to every peer address on every link (works on any LAN).
            # "multicast": one heartbeat per link to multicast_group (+ the link index in the last octet);
            # vote requests, grants and leaves stay unicast. Saves packets in larger clusters.
            transport = "unicast"
            # multicast_group = "239.255.6.94"
            # Run the agent SCHED_FIFO at realtime_priority and lock its memory, so that load cannot starve
            # heartbeats. Where the kernel refuses, the agent says so and runs without.
            realtime = true
            realtime_priority = 50
            lock_memory = true
            # Where the election record (term and vote) survives restarts.
            state_dir = \(q(stateDir ?? "/var/lib/vigil"))
            # Control socket for `vigil status` and `vigil leave` (root only).
            socket = \(q(socket ?? "/run/vigil/vigil.sock"))
            # What may be assumed about a node that vanished while running groups:
            #   "required": its groups wait (blocked) until it is fenced or `vigil confirm-down NODE` (the default)
            #   "none":     UNSAFE: it is assumed stopped and its groups start elsewhere at once; a node that was
            #               only cut off then runs them too (for tests and clusters without shared data)
            fencing = "required"
            # A node that loses quorum: "stop" its groups (the default) or "freeze" (keep them, start nothing).
            no_quorum = "stop"
            # Extra resource-agent directories, searched before the installed resource-agents/,
            # /etc/ha.d/resource.d and /etc/init.d.
            # agent_dirs = ["/usr/local/lib/ha-agents"]
            # Working directory of resource agents (VIGIL_RUN_DIR).
            run_dir = "/run/vigil"
            # A stopping agent (SIGTERM, systemd, init script, `vigil leave`) first hands its groups to peers;
            # after this long it leaves anyway. Keep systemd's TimeoutStopSec above it.
            shutdown_timeout = "5m"

            # One [[node]] table per member.
            #   name:      the node's name; the agent finds itself by hostname unless started with --node NAME
            #   addresses: one heartbeat address per link (LAN), in the same link order on every node; two
            #              LANs give redundant links, and a peer is alive while any link carries its heartbeats
            #   votes:     its weight in quorum (default 1; 0 for a member that adds nothing to quorum)
            #   libvirt_uri: how to reach this node's libvirt (default: [virt] uri on the node itself, peer_uri
            #              from the others)

            # Resource groups: [[group]] tables (see docs/resource-agents.md). Resources start left to right and
            # stop right to left, all on one node. A resource is "AGENT ARG...", Heartbeat's "AGENT::ARG::ARG", or an
            # OCF agent with its parameters: "ocf:heartbeat:IPaddr2 ip=10.0.0.50 cidr_netmask=24" (`vigil resource info
            # ocf:heartbeat:IPaddr2` lists them; `vigil config check` checks them).
            # [[group]]
            # name = "web"
            # home = "node1"                 # preferred node (optional)
            # resources = ["bridge br0", "ip 10.0.0.50/24/br0", "vm web1 10.0.0.51"]
            # auto_failback = false          # return to home when it is back
            # start_timeout = "5m"           # above [virt] migration_timeout + liveness_timeout
            # stop_timeout = "2m"
            # status_timeout = "30s"
            # monitor_interval = "10s"       # status checks while running ("0s": none)
            # max_restarts = 2               # failures on one node before the group moves
            # failure_timeout = "1h"         # a node forgets them this long after the last ("0s", the default: never)

            # The vm agent (`vigil virt`): libvirt URIs and live migration.
            # [virt]
            # uri = "qemu:///system"                   # this node's libvirt
            # peer_uri = "qemu+tcp://{address}/system" # a peer's libvirt ({node}, {address}: its first link address)
            # migration_uri = "tcp://{address}"        # where migration data goes
            # max_downtime = "30ms"                    # set on the source before every migration
            # auto_converge = false
            # postcopy_after = 0                       # switch to post-copy after this many passes (0: never)
            # migration_timeout = "2m"
            # liveness = "ping"                        # or "running": what proves a started guest alive
            # liveness_timeout = "1m"
            # shutdown_timeout = "1m"                  # graceful shutdown before destroy on a plain stop
            # definitions = "/etc/vigil/vm"            # DOMAIN.xml for cold starts of undefined domains

            # Shared storage (see docs/storage.md): a second heartbeat medium and the fencing channel. With it,
            # fencing = "required" fences a vanished node by poison pill; run `vigil storage init` once.
            # [storage]
            # devices = ["iscsi://10.0.1.5:3260/iqn.2026-11.org.example:slots/1"]  # or "aoe://eth1/1.1", "/dev/disk/by-id/..."
            # interval = "200ms"                       # disk heartbeat
            # io_timeout = "1s"                        # one cycle's deadline (slow above half of it)
            # watchdog_timeout = "2s"                  # no quorum and no storage this long: fence this node
            # msgwait = "4s"                           # a pill counts as delivered after this (>= 2 x watchdog_timeout, >= deadtime + watchdog_timeout)
            # self_fence = "reboot"                    # or "stop-resources"
            # watchdog = "/dev/watchdog"               # fed while the agent runs (softdog or hardware)

            """
        for n in nodes {
            out += """

                [[node]]
                name = \(q(n.name))
                addresses = [\(n.addresses.map(q).joined(separator: ", "))]
                votes = \(n.votes)

                """
        }
        return out
    }
}
