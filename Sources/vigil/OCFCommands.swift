import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import VigilResources

extension ResourceCommand {
    /// `vigil resource info ocf:PROVIDER:TYPE`: the agent's parameters and advised timeouts, from its meta-data.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an OCF agent's parameters, defaults and advised timeouts (from its meta-data on this node).",
            discussion: "Example: vigil resource info ocf:heartbeat:IPaddr2")
        @Option(help: "OCF_ROOT.") var ocfRoot: String = OCF.defaultRoot
        @Argument(help: "ocf:PROVIDER:TYPE") var agent: String

        func run() throws {
            guard OCFAgentName(agent) != nil else { throw ValidationError("expected ocf:PROVIDER:TYPE, like ocf:heartbeat:IPaddr2") }
            let runner = ResourceRunner(searchPath: AgentSearchPath(ocfRoot: ocfRoot))
            let md: OCFMetadata
            do { md = try runner.ocfMetadata(agent) } catch { throw CLIError("\(error)") }
            print("\(agent): \(md.shortDescription)")
            print("")
            print("parameters (\(md.parameters.count); * required):")
            let width = min(28, md.parameters.map(\.name.count).max() ?? 0)
            for p in md.parameters {
                let name = (p.required ? "*" : " ") + p.name.padding(toLength: max(width, p.name.count), withPad: " ", startingAt: 0)
                var what = p.type
                if !p.options.isEmpty { what += " (\(p.options.joined(separator: "|")))" }
                if let d = p.defaultValue, !d.isEmpty { what += ", default \(d)" }
                if p.unique { what += ", unique" }
                if p.deprecated { what += ", deprecated" }
                print("  \(name)  \(what): \(p.shortDescription)")
            }
            print("")
            print("advised timeouts (used where the group sets none):")
            for a in md.actions {
                print(
                    "  \(a.name.padding(toLength: 14, withPad: " ", startingAt: 0)) timeout \(a.timeout?.compactDescription ?? "-")\(a.interval.map { ", interval \($0.compactDescription)" } ?? "")"
                )
            }
            print("")
            print("in cluster.conf: resources = [\"\(agent)\(md.parameters.filter(\.required).map { " \($0.name)=…" }.joined())\"]")
        }
    }
}

/// Checks every OCF resource of a loaded config against its agent's meta-data on this node: each problem as
/// `FILE:LINE: group G: what`, in the config's order.
func ocfProblems(_ c: ClusterConfig, runner: ResourceRunner) -> [String] {
    var cache: [String: Result<OCFMetadata, ResourceRunner.LaunchError>] = [:]
    var out: [String] = []
    for g in c.spec.groups {
        let at = "\(c.file):\(c.resourceLines[g.name] ?? 0): group \(g.name)"
        for r in g.resources where r.ocf != nil {
            let md = cache[r.agent] ?? Result { () throws(ResourceRunner.LaunchError) in try runner.ocfMetadata(r.agent) }
            cache[r.agent] = md
            switch md {
            case let .failure(e): out.append("\(at): \(e)")
            case let .success(m): out += m.problems(r).map { "\(at): \($0)" }
            }
        }
    }
    return out
}
