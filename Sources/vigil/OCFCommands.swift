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
/// `FILE:LINE: group G: what`, in the config's order. A resource whose parameters pass is then run with
/// `validate-all` here; what that refuses is returned as a warning (the agent judges this node only: a device
/// or an interface may exist only where the group runs).
func ocfProblems(_ c: ClusterConfig, runner: ResourceRunner) -> (errors: [String], warnings: [String]) {
    var cache: [String: Result<OCFMetadata, ResourceRunner.LaunchError>] = [:]
    var errors: [String] = []
    var warnings: [String] = []
    for g in c.spec.groups {
        let at = "\(c.file):\(c.resourceLines[g.name] ?? 0): group \(g.name)"
        for (i, r) in g.resources.enumerated() where r.ocf != nil {
            let md = cache[r.agent] ?? Result { () throws(ResourceRunner.LaunchError) in try runner.ocfMetadata(r.agent) }
            cache[r.agent] = md
            switch md {
            case let .failure(e): errors.append("\(at): \(e)")
            case let .success(m):
                let problems = m.problems(r)
                errors += problems.map { "\(at): \($0)" }
                warnings += m.warnings(r).map { "\(at): \($0)" }
                guard problems.isEmpty, m.actions.contains(where: { $0.name == "validate-all" }) else { continue }
                if let why = validateAll(r, instance: g.ocfInstance(at: i), group: g.name, metadata: m, runner: runner) {
                    warnings.append("\(at): \(r.agent) validate-all on this node: \(why)")
                }
            }
        }
    }
    return (errors, warnings)
}

/// Runs `AGENT validate-all` with the resource's parameters; nil when it passes, else the exit code and the
/// agent's last line of output.
func validateAll(_ r: ResourceSpec, instance: String, group: String, metadata: OCFMetadata, runner: ResourceRunner) -> String? {
    let timeout = metadata.actions.first { $0.name == "validate-all" }?.timeout ?? .seconds(20)
    guard let agent = try? runner.find(r.agent) else { return "not installed" }
    var env = resourceEnvironment(group: group, resource: r, action: .status, node: "config-check", cluster: "config-check")
    env.merge(
        OCF.environment(agent: r.ocf!, parameters: r.parameters, instance: instance, timeout: timeout, interval: .zero)
    ) { a, _ in a }
    env.merge(runner.searchPath.ocfEnvironment) { _, b in b }
    guard let out = try? runner.run(argv: [agent.path, "validate-all"], environment: env, timeout: timeout) else {
        return "could not be run"
    }
    if out.succeeded { return nil }
    let code = out.exitCode.flatMap(OCF.ExitCode.init(rawValue:)).map { " (\($0))" } ?? ""
    let last = out.stdout.split(separator: "\n").last.map { ": \($0)" } ?? ""
    return out.timedOut ? "timed out after \(timeout.compactDescription)" : "exit \(out.exitCode ?? -1)\(code)\(last)"
}
