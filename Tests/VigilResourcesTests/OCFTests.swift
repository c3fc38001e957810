import Testing
import VigilConfig
@testable import VigilCore
@testable import VigilResources

/// The OCF API pieces that need no cluster: the config form, exit codes, meta-data and instance names.
@Suite struct OCFUnitTests {
    @Test func theConfigFormParsesParametersWithQuotesAndRefusesWhatIsNotNameEqualsValue() throws {
        let r = try #require(
            try ResourceSpec.parseOCF(#"ocf:heartbeat:Filesystem device=/dev/sdb1 directory="/srv/my data" fstype=ext4"#)?.get())
        #expect(r.ocf == OCFAgentName(provider: "heartbeat", type: "Filesystem"))
        #expect(r.parameters.map { "\($0.0)=\($0.1)" } == ["device=/dev/sdb1", "directory=/srv/my data", "fstype=ext4"])
        #expect(r.description == #"ocf:heartbeat:Filesystem device=/dev/sdb1 directory="/srv/my data" fstype=ext4"#)
        // The description reads back to the same resource, whatever the values hold.
        for v in ["plain", "", "a b", "a\tb", "it's", #"say "hi""#, #"both ' and ""#, #"""#, "x=y=z", "\"\""] {
            let spec = ResourceSpec(agent: "ocf:heartbeat:Dummy", arguments: ["fake=\(v)"])
            let back = try ResourceSpec.parseOCF(spec.description)?.get()
            #expect(back?.parameters.first?.1 == v, "\(v) -> \(spec.description)")
        }
        #expect(ResourceSpec.parseOCF("vm guest1") == nil)
        for bad in [
            "ocf:heartbeat", "ocf:heartbeat:Dummy state", "ocf:heartbeat:Dummy 1x=2", "ocf:heartbeat:Dummy a=1 a=2", #"ocf:x:Y a="b"#,
            "ocf:../x:Y"
        ] {
            guard case .failure = ResourceSpec.parseOCF(bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
        }
        let text = """
            [cluster]
            name = "c"
            [[node]]
            name = "n1"
            addresses = ["10.0.0.1"]
            [[group]]
            name = "g"
            resources = ["ocf:heartbeat:Dummy state"]
            """
        #expect(throws: ConfigError.self) { try ConfigLoader.load(text: text, file: "t.conf") }
        do { _ = try ConfigLoader.load(text: text, file: "t.conf") } catch {
            #expect("\(error)".contains("t.conf:8") && "\(error)".contains("state is not a parameter; expected NAME=VALUE"), "\(error)")
        }
    }

    @Test func exitCodesMapToWhatVigilDoes() {
        func result(_ a: ResourceAction, _ code: Int32) -> OperationResult {
            OperationResult(action: a, outcome: OperationOutcome(exitCode: code), convention: .ocf)
        }
        #expect(result(.start, 0) == .succeeded)
        #expect(result(.start, 1) == .failed("exit code 1, OCF_ERR_GENERIC"))
        for hard: Int32 in 2...6 {
            guard case .failedHere = result(.start, hard) else {
                Issue.record("start exit \(hard) is not a failure for this node")
                continue
            }
        }
        #expect(result(.stop, 0) == .succeeded && result(.stop, 7) == .succeeded)
        #expect(result(.stop, 1).failure != nil && result(.stop, 5).failure != nil)
        #expect(result(.status, 0) == .succeeded && result(.status, 7) == .stopped)
        // 5 (not installed) is "not running" only in a probe: from a monitor or the check after a failed stop
        // (a tool the agent needs went missing) it must not let the group start elsewhere.
        #expect(result(.status, 5).failure != nil)
        #expect(OperationResult(action: .status, outcome: OperationOutcome(exitCode: 5), convention: .ocf, probe: true) == .stopped)
        #expect(result(.status, 8).failure?.contains("promotable clones are not supported") == true)
        #expect(result(.status, 1).failure != nil)
        // A timeout is a plain failure (retried), whatever the convention.
        #expect(OperationResult(action: .start, outcome: OperationOutcome(exitCode: nil, timedOut: true), convention: .ocf).failure != nil)
    }

    @Test func instanceNamesAndTheEnvironmentOfOneCall() {
        let g = GroupSpec(
            name: "web",
            resources: [
                ResourceSpec(agent: "ocf:heartbeat:IPaddr2", arguments: ["ip=10.0.0.5"]), ResourceSpec(agent: "vm", arguments: ["g1"]),
                ResourceSpec(agent: "ocf:heartbeat:IPaddr2", arguments: ["ip=10.0.0.6"])
            ])
        #expect(g.ocfInstance(at: 0) == "web-IPaddr2" && g.ocfInstance(at: 2) == "web-IPaddr2-2")
        let op = ResourceOperation(
            id: 1, group: "web", resourceIndex: 2, resource: g.resources[2], action: .status, timeout: .seconds(20), reason: .monitor,
            instance: g.ocfInstance(at: 2), interval: .seconds(10))
        let env = op.environment
        #expect(env["OCF_RESKEY_ip"] == "10.0.0.6" && env["OCF_RESOURCE_INSTANCE"] == "web-IPaddr2-2")
        #expect(env["OCF_RESKEY_CRM_meta_timeout"] == "20000" && env["OCF_RESKEY_CRM_meta_interval"] == "10000")
        #expect(env["OCF_RESOURCE_TYPE"] == "IPaddr2" && env["OCF_RESOURCE_PROVIDER"] == "heartbeat")
    }

    @Test func metaDataIsReadAndParametersCheckedAgainstIt() throws {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
            <resource-agent name="T" version="1.0">
            <!-- a comment -->
            <shortdesc lang="en">A &amp; B</shortdesc>
            <parameters>
            <parameter name="ip" unique="1" required="1"><shortdesc>Address</shortdesc><content type="string"/></parameter>
            <parameter name="count"><content type="integer" default="3"/></parameter>
            <parameter name="on"><content type='boolean' default="false"/></parameter>
            <parameter name="mode"><content type="select" default="a"><option value="a"/><option value="b"/></content></parameter>
            </parameters>
            <actions>
            <action name="start" timeout="20s"/><action name="monitor" timeout="2min" interval="10"/>
            </actions>
            </resource-agent>
            """
        let md = try OCFMetadata(xml: xml)
        #expect(md.name == "T" && md.shortDescription == "A & B" && md.parameters.count == 4)
        #expect(md.advisedTimeout(.start) == .seconds(20) && md.advisedTimeout(.status) == .seconds(120) && md.advisedTimeout(.stop) == nil)
        let r = ResourceSpec(agent: "ocf:x:T", arguments: ["count=many", "on=yes", "mode=c", "colour=red"])
        let p = md.problems(r)
        #expect(p.count == 4, "\(p)")
        #expect(p.contains { $0.contains("count=many: expected an integer") } && p.contains { $0.contains("mode=c: expected one of a, b") })
        #expect(p.contains { $0.contains("has no parameter colour") } && p.contains { $0.contains("needs parameter ip") })
        #expect(md.problems(ResourceSpec(agent: "ocf:x:T", arguments: ["ip=1", "count=2", "on=off", "mode=b"])).isEmpty)
        #expect(OCFMetadata.duration("0") == nil && OCFMetadata.duration("99999999999999h") == nil && OCFMetadata.duration("2d") == nil)
        #expect(OCFMetadata.duration("90") == .seconds(90) && OCFMetadata.duration("500ms") == .milliseconds(500))
        #expect(try OCFMetadata(xml: "\u{FEFF}<resource-agent name=\"B\"/>").name == "B")
        // Meta-data whose own default contradicts its declared type (pingd's dampen "5s", declared integer):
        // such values are warnings, not errors.
        let odd = try OCFMetadata(
            xml:
                #"<resource-agent name="P"><parameters><parameter name="dampen"><content type="integer" default="5s"/></parameter></parameters></resource-agent>"#
        )
        let dampen = ResourceSpec(agent: "ocf:x:P", arguments: ["dampen=10s"])
        #expect(odd.problems(dampen).isEmpty && odd.warnings(dampen).count == 1)
        for bad in ["", "<a>", "<a></b>", "<a x=1/>", "<a>&nope;</a>", "<other/>"] {
            #expect(throws: MiniXML.ParseError.self) { try OCFMetadata(xml: bad) }
        }
    }

    @Test func theRealDummyAgentsMetaDataFromDebiansPackage() throws {
        let runner = ResourceRunner(searchPath: AgentSearchPath())
        let md = try runner.ocfMetadata("ocf:heartbeat:Dummy")
        #expect(md.parameters.map(\.name).contains("state"))
        #expect(md.advisedTimeout(.start) != nil)
        let (groups, problems) = runner.withAdvisedTimeouts([
            GroupSpec(name: "g", resources: [ResourceSpec(agent: "ocf:heartbeat:Dummy"), ResourceSpec(agent: "ocf:heartbeat:Nope")])
        ])
        #expect(problems.count == 1 && problems[0].contains("not installed"))
        #expect(groups[0].timeout(for: .start, resource: 0) == md.advisedTimeout(.start))
        var set = groups[0]
        set.timeoutsSet = [.start]
        #expect(set.timeout(for: .start, resource: 0) == set.timeouts.start)
        #expect(groups[0].timeout(for: .start, resource: 1) == groups[0].timeouts.start)
    }
}
