import Testing

@testable import VigilCore

/// The coordinator's pure target choice (`ClusterNode.chooseTarget`): facts in, a target out.
@Suite struct TargetChoiceTests {
    static func facts(
        eligible: Set<String> = ["a", "b", "c"], running: [String] = [], owner: String = "", inherited: Bool = false,
        preferred: String = "", home: String? = nil, autoFailback: Bool = false, load: [String: Int] = [:]
    ) -> PlacementFacts {
        PlacementFacts(
            nodes: ["a", "b", "c"], eligible: eligible, running: running, active: running, owner: owner, inherited: inherited,
            preferred: preferred, home: home, autoFailback: autoFailback, load: load)
    }

    /// A restarting owner (`vigil restart`) keeps its group, pinned elsewhere or not eligible (it left), with the
    /// assignment's `stay` as it was, so no new epoch is made.
    @Test func aRestartingOwnerKeepsItsGroup() {
        var f = Self.facts(eligible: ["b", "c"], owner: "a", preferred: "c", home: "b", autoFailback: true)
        f.restarting = ["a"]
        #expect(ClusterNode.chooseTarget(f) == TargetChoice(target: "a", note: .restarting(on: "a")))
        f.ownerStays = true
        #expect(ClusterNode.chooseTarget(f) == TargetChoice(target: "a", stay: true, note: .restarting(on: "a")))
        // Another node restarting changes nothing for this group.
        f.restarting = ["b"]
        #expect(ClusterNode.chooseTarget(f).target == "c")
    }

    /// `vigil disable`: nowhere, whatever else holds.
    @Test func aDisabledGroupGoesNowhere() {
        var f = Self.facts(running: ["a"], owner: "a", preferred: "b", home: "a", autoFailback: true)
        f.disabled = true
        f.restarting = ["a"]
        #expect(ClusterNode.chooseTarget(f) == TargetChoice(target: "", note: .disabled))
    }

    @Test func theOrderOfPreference() {
        // The pin beats everything, if eligible.
        #expect(
            ClusterNode.chooseTarget(Self.facts(owner: "a", preferred: "c", home: "b", autoFailback: true))
                == TargetChoice(target: "c", note: .pinned(to: "c")))
        // Home with auto_failback beats the current owner.
        #expect(
            ClusterNode.chooseTarget(Self.facts(owner: "a", home: "b", autoFailback: true))
                == TargetChoice(target: "b", note: .home("b", failback: true)))
        // Without auto_failback the group stays with its owner.
        #expect(ClusterNode.chooseTarget(Self.facts(owner: "a", home: "b")) == TargetChoice(target: "a"))
        // An ineligible owner: where it runs, then home, then the least loaded (ties in configuration order).
        #expect(ClusterNode.chooseTarget(Self.facts(eligible: ["b", "c"], running: ["c"], owner: "a")) == TargetChoice(target: "c"))
        #expect(
            ClusterNode.chooseTarget(Self.facts(eligible: ["b", "c"], owner: "a", home: "c"))
                == TargetChoice(target: "c", note: .home("c", failback: false)))
        #expect(ClusterNode.chooseTarget(Self.facts(eligible: ["b", "c"], owner: "a", load: ["b": 2, "c": 1])) == TargetChoice(target: "c"))
        #expect(ClusterNode.chooseTarget(Self.facts(eligible: ["b", "c"], owner: "a", load: ["b": 1, "c": 1])) == TargetChoice(target: "b"))
    }

    @Test func aNewTermStartsFromWhereTheGroupRuns() {
        // Inherited from an earlier term: the one node it runs on counts as the owner.
        #expect(ClusterNode.chooseTarget(Self.facts(running: ["b"], owner: "a", inherited: true)) == TargetChoice(target: "b"))
        #expect(ClusterNode.chooseTarget(Self.facts(running: ["b"], owner: "a", inherited: false)) == TargetChoice(target: "a"))
    }

    @Test func withNoEligibleNodeItStaysWhereItRunsOrGoesNowhere() {
        #expect(
            ClusterNode.chooseTarget(Self.facts(eligible: [], running: ["b"], owner: "b"))
                == TargetChoice(target: "b", stay: true, note: .stays(on: "b")))
        // Running somewhere the current assignment does not name (and not a new term): nowhere.
        #expect(ClusterNode.chooseTarget(Self.facts(eligible: [], running: ["b"], owner: "a")) == TargetChoice(target: ""))
        #expect(ClusterNode.chooseTarget(Self.facts(eligible: [])) == TargetChoice(target: ""))
    }
}
