import Foundation

/// An authenticated caller and the credential it used.
struct Identity: Sendable, Equatable {
    enum Credential: Sendable, Equatable {
        case accessToken
        /// An API key, optionally limited to one project.
        case apiKey(projectID: UUID?)
        /// A running task's token: it may act on its own run only.
        case task(runID: UUID)
    }

    var userID: UUID
    var username: String
    var isAdmin: Bool
    var credential: Credential
}
