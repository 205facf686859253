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

    /// Admin rights count only with a login token or an unrestricted API key: a key limited to
    /// one project is limited even for an admin, and a task token never has them.
    var actsAsAdmin: Bool {
        guard isAdmin else { return false }
        switch credential {
        case .accessToken, .apiKey(projectID: nil): return true
        case .apiKey, .task: return false
        }
    }

    /// Managing credentials (API keys) needs a person's login, not another credential.
    var isInteractiveLogin: Bool {
        if case .accessToken = credential { return true }
        return false
    }
}
