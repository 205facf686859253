import Foundation

/// The inline session policy sent with STS AssumeRole when a task mounts s3: the temporary
/// credentials it gets can touch only the objects below its mounts' placed prefixes (the
/// owner's `project_<p>/user_<u>/…`), write only where the mount is not read-only, and list
/// only those prefixes. AWS STS and MinIO grant the intersection of this and the role's own
/// policy, so the role may cover the whole bucket.
public enum S3SessionPolicy {
    static let readActions = ["s3:GetObject"]
    static let writeActions = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:PutObject"]

    /// IAM's policy grammar, whose keys are capitalised.
    struct Document: Encodable {
        var version = "2012-10-17"
        var statement: [Statement]

        enum CodingKeys: String, CodingKey { case version = "Version", statement = "Statement" }
    }

    struct Statement: Encodable {
        var effect = "Allow"
        var action: [String]
        var resource: [String]
        var condition: [String: [String: [String]]]?

        enum CodingKeys: String, CodingKey {
            case effect = "Effect", action = "Action", resource = "Resource", condition = "Condition"
        }
    }

    /// The policy JSON (compact, keys sorted) for `mounts`, which must all be placed s3 mounts.
    public static func json(for mounts: [PlacedMount]) throws(StorageError) -> String {
        var statements: [Statement] = []
        for mount in mounts {
            guard mount.spec.type == .s3 else { throw StorageError("mount \(mount.spec.name) is not an s3 mount") }
            let prefix = mount.subPath
            statements.append(Statement(
                action: mount.readOnly ? readActions : readActions + writeActions,
                resource: ["arn:aws:s3:::\(mount.root)/\(prefix)/*"]))
            statements.append(Statement(
                action: ["s3:ListBucket"], resource: ["arn:aws:s3:::\(mount.root)"],
                condition: ["StringLike": ["s3:prefix": [prefix, "\(prefix)/*"]]]))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(Document(statement: statements)), as: UTF8.self)
        } catch {
            throw StorageError("could not encode the s3 session policy: \(error)")
        }
    }
}
