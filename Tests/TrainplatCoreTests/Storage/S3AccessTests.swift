import Foundation
import Testing
import TrainplatCore

@Suite("SigV4 signing and s3 session policies")
struct S3AccessTests {
    static let credentials = AWSSignatureV4.Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    /// 2026-11-29T13:05:47Z
    static let date = Date(timeIntervalSince1970: 1_795_957_547)

    // The expected signatures come from botocore (S3SigV4Auth and SigV4Auth, botocore 1.40)
    // signing the same requests at the same instant: an independent implementation.
    @Test func test_sign_s3ListWithEncodedQuery_matchesBotocore() throws {
        // setup
        let signer = AWSSignatureV4(credentials: Self.credentials, region: "eu-central-1", service: "s3")
        let request = AWSSignatureV4.Request(
            method: "GET", endpoint: "http://127.0.0.1:9000", path: "/training-data",
            query: [("list-type", "2"), ("prefix", "project_a/user_b/"), ("continuation-token", "ab+/=")])
        // act
        let (url, headers) = try signer.sign(request, at: Self.date)
        // check
        #expect(url == "http://127.0.0.1:9000/training-data?continuation-token=ab%2B%2F%3D&list-type=2&prefix=project_a%2Fuser_b%2F")
        #expect(headers["x-amz-date"] == "20261129T130547Z")
        #expect(headers["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(headers["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-central-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=b30845df8c5393bba1f14707d88c89b4bf46295859caa1b23ecda2b743d20d6d")
    }

    @Test func test_sign_stsPostWithSessionToken_matchesBotocore() throws {
        // setup
        var credentials = Self.credentials
        credentials.sessionToken = "session-token-1"
        let signer = AWSSignatureV4(credentials: credentials, region: "us-east-1", service: "sts")
        let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ftasks"
        let request = AWSSignatureV4.Request(
            method: "POST", endpoint: "http://127.0.0.1:9000", headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
            body: Data(body.utf8))
        // act
        let (url, headers) = try signer.sign(request, at: Self.date)
        // check
        #expect(url == "http://127.0.0.1:9000/")
        #expect(headers["x-amz-security-token"] == "session-token-1")
        #expect(headers["x-amz-content-sha256"] == nil)
        #expect(headers["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/sts/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=54b1fe0b07cfadcefb5eee0b7610989f9c208ae3be3cf03d016c3bd0d0baba44")
    }

    @Test(arguments: ["not a url", "http://", "http://127.0.0.1:9000/some/path"])
    func test_sign_badEndpoint_namesIt(endpoint: String) {
        let signer = AWSSignatureV4(credentials: Self.credentials, region: "us-east-1", service: "s3")
        #expect(throws: StorageError("S3 endpoint '\(endpoint)' is not a URL such as http://127.0.0.1:9000")) {
            try signer.sign(.init(method: "GET", endpoint: endpoint), at: Self.date)
        }
    }

    @Test func test_sessionPolicy_coversOnlyEachMountsPrefix_andWritesOnlyWhereWritable() throws {
        // setup: one writable and one read-only mount of the same owner
        let owner = MountOwner(userID: "U1", projectID: "P1")
        let policy = StoragePolicy(s3Buckets: ["sets", "models"])
        let mounts = try MountParser.parse(document: "sets/daily(s3):/mnt/sets,models(s3):/mnt/models:ro")
            .map { try MountPlacement.place($0, owner: owner, policy: policy) }
        // act
        let json = try S3SessionPolicy.json(for: mounts)
        // check
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let statements = try #require(document["Statement"] as? [[String: Any]])
        #expect(statements.count == 4)
        #expect(statements[0]["Resource"] as? [String] == ["arn:aws:s3:::sets/project_p1/user_u1/daily/*"])
        #expect((statements[0]["Action"] as? [String])?.contains("s3:PutObject") == true)
        #expect(statements[1]["Resource"] as? [String] == ["arn:aws:s3:::sets"])
        let listed = (statements[1]["Condition"] as? [String: [String: [String]]])?["StringLike"]?["s3:prefix"]
        #expect(listed == ["project_p1/user_u1/daily", "project_p1/user_u1/daily/*"])
        #expect(statements[2]["Resource"] as? [String] == ["arn:aws:s3:::models/project_p1/user_u1/*"])
        #expect(statements[2]["Action"] as? [String] == ["s3:GetObject"])
        #expect(!json.contains("\\/"))
    }

    @Test func test_sessionPolicy_nonS3Mount_isRefused() throws {
        let mount = try MountPlacement.place(
            try MountParser.parse(entry: "work(pvc):/mnt/work"), owner: MountOwner(userID: "U1", projectID: "P1"), policy: StoragePolicy())
        #expect(throws: StorageError("mount WORK is not an s3 mount")) { try S3SessionPolicy.json(for: [mount]) }
    }
}
