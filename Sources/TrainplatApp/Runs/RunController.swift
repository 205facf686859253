import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import TrainplatCore

/// `/api/v1/runs`: runs with their task states, attempts and logs.
struct RunController {
    let database: any Database
    let access: ProjectAccess
    let transitions: TaskTransitions
    let audit: AuditLog
    let wakeup: Wakeup
    /// Where attempts keep their logs: an attempt's row is written at its first tick, and its
    /// log is served from its known path before then.
    let runsDirectory: String
    /// Log tails returned by the API are capped; the full log stays on disk.
    static let maxLogBytes = 256 * 1024

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: get)
        group.get(":id/tasks/:task/attempts", use: attempts)
        group.get(":id/tasks/:task/log", use: log)
        group.post(":id/cancel", use: cancel)
        group.post(":id/retry", use: retry)
    }

    /// Stops a run: unfinished tasks are cancelled, running processes stopped.
    @Sendable func cancel(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        try await act(context, action: "run.cancel") { runID in
            try await RunService(database: database).cancel(runID: runID, transitions: transitions)
        }
    }

    /// Re-runs a failed or cancelled run from its unfinished tasks.
    @Sendable func retry(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        try await act(context, action: "run.retry") { runID in
            try await RunService(database: database, wakeup: wakeup).retry(runID: runID, transitions: transitions)
        }
    }

    /// Shared shape of cancel and retry: permission, the change, 409 when the run's state
    /// does not allow it, an audit event, the run as it is now.
    private func act(_ context: AppRequestContext, action: String, change: (UUID) async throws -> Bool) async throws -> JSONResponse<RunDTO> {
        let identity = try context.requireIdentity()
        let run = try await findRun(context)
        let runID = try run.requireID()
        try await access.require(identity, .execute, .run, in: run.$project.id, id: runID.uuidString)
        guard try await change(runID) else {
            throw Problem(status: .conflict, title: "Conflict", detail: "run \(runID) is \(run.status.rawValue); \(action) does not apply")
        }
        try await audit.record(actor: identity, action: action, resource: .init(kind: "run", id: runID.uuidString, projectID: run.$project.id))
        let current = try await PipelineRun.find(runID, on: database) ?? run
        return JSONResponse(RunDTO(current, tasks: try await TaskRunDTO.all(ofRun: runID, on: database)))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<RunDTO>> {
        let page = try await access.newest(
            PipelineRun.self, for: try context.requireIdentity(), project: \.$project.$id, createdAt: \.$createdAt, page: try PageRequest(request))
        return JSONResponse(page.map { RunDTO($0, tasks: nil) })
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        let run = try await findRun(context)
        let tasks = try await TaskRunDTO.all(ofRun: run.requireID(), on: database)
        return JSONResponse(RunDTO(run, tasks: tasks))
    }

    @Sendable func attempts(request: Request, context: AppRequestContext) async throws -> JSONResponse<[TaskAttemptDTO]> {
        let task = try await findTask(context)
        let attempts = try await TaskAttempt.query(on: database).filter(\.$task.$id == task.requireID()).sort(\.$number).all()
        return JSONResponse(attempts.map(TaskAttemptDTO.init))
    }

    /// An attempt's log (`?attempt=N`, default the latest): its last 256 KiB; with
    /// `?offset=N` the bytes from N on (at most 256 KiB); with `?follow=true` a stream from
    /// there that ends when the attempt does. `X-Log-Next-Offset` says where to continue,
    /// `X-Attempt-Finished` whether more can come.
    @Sendable func log(request: Request, context: AppRequestContext) async throws -> Response {
        let task = try await findTask(context)
        let number = try request.queryInteger("attempt", in: 1...Int.max) ?? task.attemptCount
        guard number >= 1, number <= task.attemptCount else {
            throw NotFound(resource: "log of task", id: "\(task.name) attempt \(number)")
        }
        let attempt = try await AttemptLog.find(task: task, number: number, runsDirectory: runsDirectory, on: database)
        let size = TaskLog.size(path: attempt.path)
        let offset = try request.queryInteger("offset", in: 0...Int.max) ?? max(0, size - Self.maxLogBytes)
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if request.uri.queryParameters.get("follow") == "true" {
            return Response(
                status: .ok, headers: headers,
                body: TaskLog.follow(path: attempt.path, from: offset) { try await attempt.hasEnded(on: database) })
        }
        let chunk = TaskLog.read(path: attempt.path, from: offset, maxBytes: Self.maxLogBytes)
        headers[.logNextOffset] = String(chunk.next)
        headers[.attemptFinished] = String(attempt.hadEnded)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: chunk.data)))
    }

    private func findRun(_ context: AppRequestContext) async throws -> PipelineRun {
        // Who first: an anonymous caller gets 401 whether or not the run exists.
        let identity = try context.requireIdentity()
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "run")
        guard let run = try await PipelineRun.find(id, on: database) else { throw NotFound(resource: "run", id: id.uuidString) }
        if case .task(let runID) = identity.credential {
            guard runID == id else { throw NotFound(resource: "run", id: id.uuidString) }
            return run
        }
        try await access.require(identity, .read, .run, in: run.$project.id, id: id.uuidString)
        return run
    }

    private func findTask(_ context: AppRequestContext) async throws -> TaskRun {
        let run = try await findRun(context)
        let name = context.parameters.get("task") ?? ""
        guard let task = try await TaskRun.query(on: database).filter(\.$run.$id == run.requireID()).filter(\.$name == name).first()
        else { throw NotFound(resource: "task", id: name) }
        return task
    }
}

extension HTTPField.Name {
    // Literal, valid header names: the initializer cannot fail for them.
    static let logNextOffset = HTTPField.Name("X-Log-Next-Offset")!
    static let attemptFinished = HTTPField.Name("X-Attempt-Finished")!
}
