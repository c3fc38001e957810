import Testing
import VigilCore
import VigilSimulation

/// Seeded whole-cluster simulations. A failing seed is printed and can be rerun alone with
/// `vigil simulate --seed N` (or `VIGIL_SIM_SEEDS=N swift test --filter SimulationTests`).
@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        if let env = ProcessInfoShim.environment("VIGIL_SIM_SEEDS") {
            return env.split(separator: ",").compactMap { UInt64($0) }
        }
        return Array(1...1000)
    }

    @Test func randomSchedulesKeepElectionSafeAndConverge() {
        var failures: [String] = []
        var worst: Duration = .zero
        for seed in Self.seeds {
            var sim = Simulation(SimulationParameters(seed: seed))
            let r = sim.run()
            if !r.ok { failures.append(r.description) }
            if let c = r.convergence { worst = max(worst, c) }
        }
        print("simulation: \(Self.seeds.count) seeds, \(failures.count) failed, slowest convergence \(Int(worst.milliseconds)) ms")
        #expect(failures.isEmpty, "\(failures.count) seeds failed; first: \(failures.first ?? "")")
    }

    /// Groups, admin requests, resource failures and node faults: no group is ever active on two nodes, and
    /// after the heal every group runs exactly once.
    @Test(arguments: [FencingPolicy.required, .none])
    func placementNeverRunsAGroupTwice(fencing: FencingPolicy) {
        var failures: [String] = []
        let seeds = Self.seeds.prefix(fencing == .required ? 600 : 300)
        for seed in seeds {
            var sim = Simulation(SimulationParameters.withGroups(seed: seed, fencing: fencing))
            let r = sim.run()
            if !r.ok { failures.append(r.description) }
        }
        print("placement simulation (fencing \(fencing.rawValue)): \(seeds.count) seeds, \(failures.count) failed")
        #expect(failures.isEmpty, "\(failures.count) seeds failed; first: \(failures.first ?? "")")
    }

    /// Shared storage: LAN partitions, storage path cuts, dead devices and frozen agents; vanished nodes are
    /// fenced by poison pill (acknowledged or msgwait), two-node clusters break ties on disk. No group is ever
    /// active on two nodes.
    @Test func storageFencingNeverRunsAGroupTwice() {
        var failures: [String] = []
        let seeds = Self.seeds.prefix(1000)
        for seed in seeds {
            var sim = Simulation(SimulationParameters.withStorage(seed: seed))
            let r = sim.run()
            if !r.ok { failures.append(r.description) }
        }
        print("storage simulation: \(seeds.count) seeds, \(failures.count) failed")
        #expect(failures.isEmpty, "\(failures.count) seeds failed; first: \(failures.first ?? "")")
    }

    @Test func newCoordinatorWithinDeadtimePlusOneInterval() {
        let timing = SimulationParameters.defaultTiming
        var worst: Duration = .zero
        for seed in UInt64(1)...200 {
            let (elapsed, problem) = Simulation.measureFailover(seed: seed, nodeCount: 3 + Int(seed % 6), timing: timing)
            #expect(problem == nil, "seed \(seed): \(problem ?? "")")
            guard let e = elapsed else { continue }
            worst = max(worst, e)
            // Network delay in this scenario is at most 0.5 ms per hop; an election needs two hops.
            #expect(e <= timing.deadtime + timing.interval + .milliseconds(1), "seed \(seed): \(Int(e.milliseconds)) ms")
        }
        print("failover: slowest new coordinator after \(worst.milliseconds) ms (bound \(timing.deadtime.compactDescription) + \(timing.interval.compactDescription))")
    }
}
