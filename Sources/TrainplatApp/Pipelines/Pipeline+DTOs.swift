import Foundation
import TrainplatCore

struct PipelineDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var name: String
    var latestVersion: String
    var status: String
    var createdAt: Date?

    init(_ pipeline: Pipeline) {
        id = pipeline.id
        projectID = pipeline.$project.id
        name = pipeline.name
        latestVersion = pipeline.version
        status = pipeline.status
        createdAt = pipeline.createdAt
    }
}

struct PipelineVersionDTO: Encodable, Sendable {
    var id: UUID?
    var pipelineID: UUID
    var number: Int
    var specHash: String
    var spec: JSONValue?
    var createdAt: Date?

    init(_ version: PipelineVersion, includeSpec: Bool) {
        id = version.id
        pipelineID = version.$pipeline.id
        number = version.number
        specHash = version.specHash
        spec = includeSpec ? try? JSONValue.parse(json: version.spec) : nil
        createdAt = version.createdAt
    }
}

struct PipelineDetailDTO: Encodable, Sendable {
    var pipeline: PipelineDTO
    var versions: [PipelineVersionDTO]
}

struct StartRunRequest: Decodable {
    var version: Int?
    var params: [String: JSONValue]?
    var logicalTime: Date?
}

struct SpecValidationDTO: Encodable, Sendable {
    var valid: Bool
    var name: String
    var tasks: Int
    var specHash: String
}

struct SpecDiffDTO: Encodable, Sendable {
    var from: Int
    var to: Int
    var fromHash: String
    var toHash: String
    var changes: [SpecChange]
}
