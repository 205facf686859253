import Foundation
import Testing
import TrainplatCore

@Suite("Permission matrix")
struct PermissionPolicyTests {
    /// (role, action, resource, allowed): the rows of docs/permissions.md.
    static let table: [(ProjectRole?, Action, ResourceKind, Bool)] = [
        (.viewer, .read, .pipeline, true), (.viewer, .create, .pipeline, false), (.viewer, .execute, .run, false),
        (.member, .create, .pipeline, true), (.member, .execute, .run, true), (.member, .delete, .pipeline, false),
        (.member, .create, .mount, true), (.member, .update, .mount, false), (.member, .execute, .featureSource, true), (.member, .update, .modelVersion, false),
        (.maintainer, .delete, .pipeline, true), (.maintainer, .create, .mount, true), (.maintainer, .update, .modelVersion, true),
        (.maintainer, .create, .membership, false), (.owner, .create, .membership, true), (.owner, .update, .project, true),
        (.owner, .delete, .project, false), (.owner, .read, .auditLog, false), (nil, .read, .pipeline, false),
    ]

    @Test(arguments: table.indices)
    func test_allows_matrixRow(row: Int) {
        let (role, action, resource, expected) = Self.table[row]
        #expect(PermissionPolicy.allows(Caller(isAdmin: false, role: role), action, resource) == expected, "\(String(describing: role)) \(action) \(resource)")
    }

    @Test func test_allows_adminMayDoEverything_andRolesAreMonotonic() {
        for resource in ResourceKind.allCases {
            for action in Action.allCases {
                #expect(PermissionPolicy.allows(Caller(isAdmin: true, role: nil), action, resource))
                let allowed = ProjectRole.allCases.map { PermissionPolicy.allows(Caller(isAdmin: false, role: $0), action, resource) }
                // Once a role may do something, every stronger role may too.
                #expect(allowed == allowed.sorted { !$0 && $1 }, "\(action) \(resource): \(allowed)")
            }
        }
    }
}

@Suite("Signed tokens")
struct TokenSignerTests {
    let signer: TokenSigner
    let claims = TokenClaims(sub: "user-1", kind: .access, issuedAt: Date(), lifetime: 60)

    init() throws {
        signer = try TokenSigner(secret: Data(String(repeating: "k", count: 32).utf8))
    }

    @Test func test_verify_roundTrip() throws {
        #expect(try signer.verify(signer.sign(claims)) == claims)
    }

    @Test func test_sign_usesOnlyTheBase64URLAlphabet_andEveryPaddingLengthRoundTrips() throws {
        // setup: subjects whose JSON encodes to '+' and '/' in standard base64, of every length mod 3
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        for length in 1...9 {
            let subject = String(repeating: "?>~ÿ", count: length).prefix(length + 2)
            let claims = TokenClaims(sub: String(subject), kind: .access, issuedAt: Date(), lifetime: 60)
            // act
            let token = signer.sign(claims)
            // check
            #expect(token.allSatisfy(allowed.contains), "\(token)")
            #expect(try signer.verify(token) == claims)
        }
    }

    @Test func test_verify_expired() {
        #expect(throws: TokenError.expired) { try signer.verify(signer.sign(claims), now: Date().addingTimeInterval(61)) }
    }

    @Test func test_verify_tamperedPayloadOrOtherKey_isRejected() throws {
        let token = signer.sign(claims)
        let parts = token.split(separator: ".").map(String.init)
        let forgedClaims = TokenClaims(sub: "admin", kind: .access, issuedAt: Date(), lifetime: 60)
        let forgedPayload = try #require(String(data: JSONEncoder().encode(forgedClaims), encoding: .utf8))
        let forged = [parts[0], Data(forgedPayload.utf8).base64EncodedString().replacingOccurrences(of: "=", with: ""), parts[2]].joined(separator: ".")
        #expect(throws: TokenError.badSignature) { try signer.verify(forged) }
        let other = try TokenSigner(secret: Data(String(repeating: "x", count: 32).utf8))
        #expect(throws: TokenError.badSignature) { try other.verify(token) }
    }

    @Test func test_verify_algNone_isRejected() {
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
        let token = signer.sign(claims).split(separator: ".").enumerated().map { $0.offset == 0 ? none : String($0.element) }.joined(separator: ".")
        #expect(throws: TokenError.malformed) { try signer.verify(token) }
    }

    @Test func test_init_shortKey_isRefused() {
        #expect(throws: TokenError.keyTooShort) { try TokenSigner(secret: Data("short".utf8)) }
    }
}

@Suite("Secrets at rest")
struct SecretBoxTests {
    let box: SecretBox

    init() throws {
        box = try SecretBox(keyMaterial: Data(String(repeating: "s", count: 32).utf8))
    }

    @Test func test_seal_roundTrips_andNeverContainsThePlaintext() throws {
        let sealed = box.seal("hunter2-but-longer")
        #expect(!sealed.contains("hunter2"))
        #expect(sealed != box.seal("hunter2-but-longer"), "nonces must differ")
        #expect(try box.open(sealed) == "hunter2-but-longer")
    }

    @Test func test_open_otherKeyOrTamperedValue_fails() throws {
        let sealed = box.seal("secret")
        let other = try SecretBox(keyMaterial: Data(String(repeating: "t", count: 32).utf8))
        #expect(throws: SecretBox.Failure.wrongKeyOrTampered) { try other.open(sealed) }
        var bytes = try #require(Data(base64Encoded: String(sealed.dropFirst("v1:".count))))
        bytes[bytes.count / 2] ^= 0x01
        #expect(throws: SecretBox.Failure.wrongKeyOrTampered) { try box.open("v1:" + bytes.base64EncodedString()) }
        #expect(throws: SecretBox.Failure.malformed) { try box.open("plain text") }
    }
}
