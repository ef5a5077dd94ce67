import Foundation
import XCTest

/// openapi/openapi.yaml is the contract: it must be valid OpenAPI 3.1 and describe the routes we serve.
final class OpenAPITests: XCTestCase {
    func testSpecIsValidAndListsTheServedRoutes() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("openapi/openapi.yaml").path
        let check = """
        import sys, yaml
        from openapi_spec_validator import validate
        spec = yaml.safe_load(open(sys.argv[1]))
        validate(spec)
        print(" ".join(sorted(spec["paths"])))
        """
        let result = try Command.run("python3", ["-c", check, spec])
        XCTAssertEqual(result.status, 0, result.stderr)
        let paths = Set(result.output.split(whereSeparator: \.isWhitespace).map(String.init))
        XCTAssertTrue(paths.isSuperset(of: ["/healthz", "/readyz", "/metrics"]), result.output)
    }
}
