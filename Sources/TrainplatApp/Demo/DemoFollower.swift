import FluentKit
import Foundation
import ServiceLifecycle
import TrainplatCore

/// Follows the demo run: prints each task's state and progress as it changes, then the
/// summary. As a service it ends when the run does, which (with `--exit`) stops the server.
struct DemoFollower: Service {
    let database: any Database
    let runID: UUID
    let apiURL: @Sendable () -> String
    let say: @Sendable (String) -> Void
    let outcome: DemoOutcome

    func run() async throws {
        let started = Date()
        var lastLines: [String: String] = [:]
        while !Task.isCancelled {
            guard let run = try await PipelineRun.find(runID, on: database) else { return }
            let tasks = try await TaskRun.query(on: database).filter(\.$run.$id == runID).sort(\.$createdAt).all()
            for task in tasks {
                let line = Self.describe(task)
                if lastLines[task.name] != line {
                    lastLines[task.name] = line
                    say(String(format: "[%5.1fs] ", Date().timeIntervalSince(started)) + line)
                }
            }
            if run.status.isTerminal {
                try await printSummary(run: run, tasks: tasks, seconds: Date().timeIntervalSince(started))
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func describe(_ task: TaskRun) -> String {
        var line = "\(task.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(task.status.rawValue)"
        if task.status == .running {
            line += String(format: " %3.0f%%", task.progress * 100)
            if let message = task.progressMessage { line += " \(message)" }
        }
        if task.attemptCount > 1 { line += " (attempt \(task.attemptCount))" }
        if let reason = task.reason, task.status != .succeeded { line += " — \(reason)" }
        return line
    }

    private func printSummary(run: PipelineRun, tasks: [TaskRun], seconds: Double) async throws {
        let base = apiURL()
        let outputs = Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, $0.outputs ?? [:]) })
        let runID = try run.requireID()
        say("")
        say("run \(runID.uuidString.lowercased()) \(run.status.rawValue) in \(String(format: "%.1f", seconds))s")
        say("  rows extracted:        train \(outputs["extract_train"]?["rows"]?.templateText ?? "-"), eval \(outputs["extract_eval"]?["rows"]?.templateText ?? "-")")
        if let trainingSet = try await TrainingSetVersion.query(on: database).filter(\.$run.$id == runID).filter(\.$task.$id == tasks.first { $0.name == "training_set" }?.id ?? UUID()).first() {
            say("  training-set version:  \(trainingSet.versionID) (\(trainingSet.rowCount) rows)")
            say("                         \(base)/api/v1/training-set-versions/\(trainingSet.versionID)")
        }
        if let model = try await ModelVersion.query(on: database).filter(\.$run.$id == runID).first(), let modelID = model.id {
            let evaluation = model.metrics["evaluation"]?.objectValue ?? [:]
            let auc = evaluation["auc"]?.doubleValue.map { String(format: "%.3f", $0) } ?? "-"
            say("  model version:         \(modelID.uuidString.lowercased()) (\(model.modelName) v\(model.number)), AUC on the later window \(auc)")
            say("                         \(base)/api/v1/model-versions/\(modelID.uuidString.lowercased())")
        }
        for task in tasks where task.status != .succeeded {
            say("  \(task.name): \(task.status.rawValue)\(task.reason.map { " — \($0)" } ?? "")")
        }
        say("  API:                   \(base)  (runs: \(base)/api/v1/runs/\(runID.uuidString.lowercased()), metrics: \(base)/metrics)")
        outcome.set(run.status)
    }
}

/// The demo run's final state, read by the command to pick its exit code.
final class DemoOutcome: @unchecked Sendable {
    private var state: RunState?
    private let lock = NSLock()

    func set(_ value: RunState) { lock.withLock { state = value } }
    var value: RunState? { lock.withLock { state } }
}
