import Foundation
import Testing
import TrainplatCore

@Suite("Run planning and task states")
struct RunPlannerTests {
    private func planner(rule: TriggerRule) throws -> RunPlanner {
        let text = "name: p\ntasks:\n  u1: {command: [x]}\n  u2: {command: [x]}\n  d: {command: [x], needs: [u1, u2], when: \(rule.rawValue)}\n"
        return RunPlanner(spec: try SpecParser.parse(text, knownPrograms: []))
    }

    @Test(arguments: [
        (TriggerRule.allSuccess, TaskState.succeeded, TaskState.succeeded, TaskState.ready),
        (.allSuccess, .succeeded, .failed, .upstreamFailed),
        (.allSuccess, .succeeded, .upstreamFailed, .upstreamFailed),
        (.allSuccess, .succeeded, .skipped, .skipped),
        (.allDone, .succeeded, .failed, .ready),
        (.oneFailed, .succeeded, .failed, .ready),
        (.oneFailed, .succeeded, .succeeded, .skipped),
    ])
    func test_decisions_triggerRules(rule: TriggerRule, first: TaskState, second: TaskState, expected: TaskState) throws {
        let decisions = try planner(rule: rule).decisions(states: ["u1": first, "u2": second, "d": .pending])
        #expect(decisions.map(\.task) == ["d"])
        #expect(decisions.first?.next == expected)
    }

    @Test func test_decisions_upstreamStillRunning_decidesNothing() throws {
        let decisions = try planner(rule: .allDone).decisions(states: ["u1": .succeeded, "u2": .running, "d": .pending])
        #expect(decisions.isEmpty)
    }

    @Test func test_decisionsAfterFinishedTasks_lookOnlyAtWhatNeedsThem() throws {
        let spec = try SpecParser.parse(
            "name: p\ntasks:\n  a: {command: [x]}\n  b: {command: [x], needs: [a]}\n  c: {command: [x], needs: [a]}\n  d: {command: [x]}\n",
            knownPrograms: [])
        let planner = RunPlanner(spec: spec)
        let states: [String: TaskState] = ["a": .succeeded, "b": .pending, "c": .pending, "d": .pending]
        #expect(planner.decisions(states: states).map(\.task) == ["b", "c", "d"])
        #expect(planner.decisions(states: states, after: ["a"]).map(\.task) == ["b", "c"])
        #expect(planner.decisions(states: states, after: []).isEmpty)
    }

    /// Passing the tasks that have finished decides everything a whole pass decides, but the
    /// tasks that need nothing (which a view's first, whole pass decides).
    @Test func test_decisionsAfterEveryFinishedTask_matchAWholePass_onGeneratedRuns() throws {
        var random = SpecFuzzTests.Generator(state: 61_206)
        let states = TaskState.allCases
        for _ in 0..<300 {
            let spec = try SpecParser.parse(SpecFuzzTests.validSpec(&random), knownPrograms: SpecFuzzTests.programs)
            let planner = RunPlanner(spec: spec)
            let current = Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.name, states.randomElement(using: &random) ?? .pending) })
            let finished = Set(current.filter(\.value.isTerminal).keys)
            let whole = planner.decisions(states: current).filter { decision in !(spec.task(named: decision.task)?.needs.isEmpty ?? true) }
            let after = planner.decisions(states: current, after: finished)
            #expect(after.map(\.task) == whole.map(\.task) && after.map(\.next) == whole.map(\.next))
        }
    }

    @Test func test_startingDecisions_matchAPassWithEveryTaskPending_onGeneratedRuns() throws {
        var random = SpecFuzzTests.Generator(state: 61_207)
        var decided = 0
        for _ in 0..<300 {
            let spec = try SpecParser.parse(SpecFuzzTests.validSpec(&random), knownPrograms: SpecFuzzTests.programs)
            let planner = RunPlanner(spec: spec)
            let whole = planner.decisions(states: Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.name, TaskState.pending) }))
            let starting = planner.startingDecisions()
            #expect(starting.map(\.task) == whole.map(\.task) && starting.map(\.next) == whole.map(\.next))
            decided += starting.count
        }
        #expect(decided > 300)
        // The generated specs' rules are all_success and all_done; a first task under
        // one_failed has nothing failed before it, so it is skipped.
        let spec = try SpecParser.parse("name: p\ntasks:\n  a: {command: [x], when: one_failed}\n  b: {command: [x], needs: [a]}\n", knownPrograms: [])
        let starting = RunPlanner(spec: spec).startingDecisions()
        #expect(starting.map(\.task) == ["a"] && starting.map(\.next) == [.skipped])
    }

    @Test func test_outcome_isFailedWhenAnyTaskFailed_andNilWhileRunning() {
        #expect(RunPlanner.outcome(states: [.succeeded, .skipped]) == .succeeded)
        #expect(RunPlanner.outcome(states: [.succeeded, .upstreamFailed]) == .failed)
        #expect(RunPlanner.outcome(states: [.succeeded, .cancelled]) == .cancelled)
        #expect(RunPlanner.outcome(states: [.succeeded, .retrying]) == nil)
    }

    @Test func test_taskStates_finishedStatesMoveOnlyBackToPendingOnRetry_successNever() {
        for state in TaskState.allCases where state.isTerminal {
            let next = TaskState.allCases.filter { state.canTransition(to: $0) }
            #expect(next == (state == .succeeded ? [] : [.pending]), "\(state) -> \(next)")
        }
        #expect(TaskState.ready.canTransition(to: .running))
        #expect(TaskState.pending.canTransition(to: .running), "claimed in the tick that finds it ready")
        #expect(!TaskState.retrying.canTransition(to: .running), "a retry waits out its backoff as ready first")
    }
}

@Suite("Quantities and cron")
struct QuantitiesTests {
    @Test(arguments: [("30s", 30.0), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)])
    func test_duration_valid(text: String, seconds: Double) {
        #expect(Quantities.durationSeconds(text) == seconds)
    }

    @Test(arguments: ["", "0s", "5", "s", "1.5h", "-1m", "1w"])
    func test_duration_invalid(text: String) {
        #expect(Quantities.durationSeconds(text) == nil)
    }

    @Test func test_bytesAndCPU() {
        #expect(Quantities.bytes("512Mi") == 512 << 20)
        #expect(Quantities.bytes("1G") == 1_000_000_000)
        #expect(Quantities.bytes("99999999999Ti") == nil)
        #expect(Quantities.cpuCores("250m") == 0.25)
        #expect(Quantities.cpuCores("-1") == nil)
    }

    @Test func test_cron() {
        #expect(CronExpression.problem(in: "*/15 2-4 1,15 * 1-5") == nil)
        #expect(CronExpression.problem(in: "0 24 * * *")?.contains("hour") == true)
        #expect(CronExpression.problem(in: "0 2 * *")?.contains("5 fields") == true)
    }
}

@Suite("Fair share of task slots")
struct FairShareTests {
    private func candidates(_ user: String, _ count: Int, pipeline: String? = nil, limit: Int? = nil, from start: Double = 0) -> [FairShare.Candidate] {
        (0..<count).map { FairShare.Candidate(id: "\(user)-\($0)", user: user, pipeline: pipeline ?? user, pipelineLimit: limit, readySince: start + Double($0)) }
    }

    @Test func test_pick_smallRunIsNotStarvedByAnOlderHugeOne() {
        // big's 1,000 tasks have all waited longer than small's 3
        let ready = candidates("big", 1000) + candidates("small", 3, from: 5000)
        let running = [FairShare.Occupant(user: "big", pipeline: "big")]
        let picked = FairShare.pick(ready: ready, running: running, served: ["big": 40], globalLimit: 4, perUserLimit: nil)
        // small catches up on running tasks first; then big, which has fewer running, gets one
        #expect(picked == ["small-0", "small-1", "big-0"])
    }

    @Test func test_pick_equalUsers_alternateOldestFirst() {
        let ready = candidates("a", 3) + candidates("b", 3, from: 0.5)
        let picked = FairShare.pick(ready: ready, running: [], globalLimit: 4, perUserLimit: nil)
        #expect(picked == ["a-0", "b-0", "a-1", "b-1"])
    }

    @Test func test_pick_respectsPerUserAndPipelineLimits() {
        let ready = candidates("a", 5, pipeline: "p", limit: 2) + candidates("b", 5, from: 10)
        let picked = FairShare.pick(ready: ready, running: [], globalLimit: 10, perUserLimit: 3)
        #expect(picked.filter { $0.hasPrefix("a") }.count == 2)
        #expect(picked.filter { $0.hasPrefix("b") }.count == 3)
    }

    @Test func test_pick_noFreeSlots_picksNothing() {
        let running = Array(repeating: FairShare.Occupant(user: "a", pipeline: "p"), count: 2)
        #expect(FairShare.pick(ready: candidates("b", 3), running: running, globalLimit: 2, perUserLimit: nil).isEmpty)
    }
}

@Suite("Promotion gates")
struct PromotionGateTests {
    let rules = [
        GateRule(metric: "evaluation.auc", kind: .beatsIncumbentBy, threshold: 0),
        GateRule(metric: "evaluation.earlier.auc", kind: .dropsAtMost, threshold: 0.02),
        GateRule(metric: "evaluation.auc", kind: .atLeast, threshold: 0.6),
    ]

    private func metrics(newest: Double, earlier: Double) -> [String: JSONValue] {
        ["evaluation": .object(["auc": .double(newest), "earlier": .object(["auc": .double(earlier)])])]
    }

    @Test func test_failures_betterOnNewestWithinForgettingBudget_passes() {
        #expect(PromotionGate.failures(rules: rules, candidate: metrics(newest: 0.80, earlier: 0.74), incumbent: metrics(newest: 0.78, earlier: 0.75)).isEmpty)
    }

    @Test func test_failures_tooMuchForgetting_saysWhy() {
        let failures = PromotionGate.failures(rules: rules, candidate: metrics(newest: 0.81, earlier: 0.70), incumbent: metrics(newest: 0.78, earlier: 0.75))
        #expect(failures == ["evaluation.earlier.auc dropped from 0.7500 to 0.7000, more than the allowed 0.0200"])
    }

    @Test func test_failures_firstPromotion_needsOnlyAbsoluteRules() {
        #expect(PromotionGate.failures(rules: rules, candidate: metrics(newest: 0.61, earlier: 0.1), incumbent: nil).isEmpty)
        #expect(PromotionGate.failures(rules: rules, candidate: metrics(newest: 0.55, earlier: 0.1), incumbent: nil).count == 1)
    }

    @Test func test_failures_atMost_forForgetting() {
        let gate = [GateRule(metric: "evaluation.forgetting_auc", kind: .atMost, threshold: 0.02)]
        #expect(PromotionGate.failures(rules: gate, candidate: ["evaluation": .object(["forgetting_auc": .double(0.01)])], incumbent: nil).isEmpty)
        #expect(PromotionGate.failures(rules: gate, candidate: ["evaluation": .object(["forgetting_auc": .double(0.05)])], incumbent: nil)
            == ["evaluation.forgetting_auc is 0.0500, above the allowed 0.0200"])
    }

    @Test func test_failures_missingMetric_isAFailureNotACrash() {
        #expect(PromotionGate.failures(rules: rules, candidate: [:], incumbent: nil).count == 3)
    }
}

@Suite("Cron schedules")
struct CronScheduleTests {
    private func date(_ text: String) -> Date {
        ParamValues.parseTimestamp(text) ?? .distantPast
    }

    @Test(arguments: [
        ("0 2 * * *", "2026-11-29T01:59:00Z", "2026-11-29T02:00:00Z"),
        ("* * * * *", "2026-11-29T10:00:30Z", "2026-11-29T10:01:00Z"),
        ("0 2 * * *", "2026-11-29T02:00:00Z", "2026-11-30T02:00:00Z"),
        ("*/15 * * * *", "2026-11-29T10:07:30Z", "2026-11-29T10:15:00Z"),
        ("30 9 1 * *", "2026-11-29T00:00:00Z", "2026-12-01T09:30:00Z"),
        ("0 0 * * 1", "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"),  // 29 Nov 2026 is a Sunday
        ("0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    ])
    func test_next_firingTime(expression: String, after: String, expected: String) throws {
        let schedule = try #require(CronSchedule(expression))
        #expect(schedule.next(after: date(after)) == date(expected))
    }
}

@Suite("Best training-set version")
struct TrainingSetSelectionTests {
    private func candidate(_ id: String, score: Double?, end: Double, created: Double = 0, checks: [String: Bool] = [:], minority: Double? = 0.4) -> TrainingSetSelection.Candidate {
        TrainingSetSelection.Candidate(
            id: id, score: score, timeStart: Date(timeIntervalSince1970: end - 100), timeEnd: Date(timeIntervalSince1970: end),
            createdAt: Date(timeIntervalSince1970: created), checks: checks, minorityShare: minority)
    }

    @Test func test_best_ranksEligibleByScoreThenRecency_andSaysWhyOthersLost() {
        // setup
        let candidates = [
            candidate("low", score: 0.6, end: 500),
            candidate("good-old", score: 0.9, end: 300, checks: ["label_balance": true]),
            candidate("good-new", score: 0.9, end: 400, checks: ["label_balance": true]),
            candidate("unbalanced", score: 0.95, end: 450, checks: ["label_balance": false], minority: 0.02),
            candidate("outside", score: 0.99, end: 2000, checks: ["label_balance": true]),
        ]
        let criteria = TrainingSetSelection.Criteria(minScore: 0.8, to: Date(timeIntervalSince1970: 1000), requiredChecks: ["label_balance"], minMinorityShare: 0.1)
        // act
        let choice = TrainingSetSelection.best(candidates, criteria: criteria)
        // check
        #expect(choice.winner?.id == "good-new")
        #expect(choice.reason.contains("highest quality score (0.90) of 2 eligible versions"))
        #expect(choice.reason.contains("more recent data"))
        let reasons = Dictionary(uniqueKeysWithValues: choice.rejected.map { ($0.id, $0.reasons) })
        #expect(reasons["low"]?.first?.contains("below 0.8") == true)
        #expect(reasons["unbalanced"] == ["check label_balance failed", "minority label share 0.020 is below 0.1"])
        #expect(reasons["outside"] == ["its data ends after the window"])
    }

    @Test func test_best_noneEligible_hasNoWinnerAndListsEveryRejection() {
        let choice = TrainingSetSelection.best([candidate("a", score: nil, end: 1)], criteria: .init(minScore: 0.5))
        #expect(choice.winner == nil)
        #expect(choice.rejected.map(\.id) == ["a"])
        #expect(choice.rejected.first?.reasons == ["quality score none is below 0.5"])
    }
}
