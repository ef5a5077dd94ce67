import XCTest
@testable import Gateway

final class RouterTests: XCTestCase {
    private func ok(_ label: String) -> Handler { .inline { _ in .text(label) } }

    private func label(_ match: Router.Match) -> String? {
        guard case .found(let route, _) = match else { return nil }
        return route.pattern
    }

    func testLiteralBeatsParameterAndParametersAreCaptured() {
        let router = Router()
        router.get("/api/v1/databases/{db}", ok("db"))
        router.get("/api/v1/databases/list", ok("list"))
        router.post("/api/v1/instances/{db}/async/{class}/create", ok("create"))

        XCTAssertEqual(label(router.match(method: "GET", path: "/api/v1/databases/list")), "/api/v1/databases/list")
        guard case .found(let route, let parameters) = router.match(method: "GET", path: "/api/v1/databases/prod%20db") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(route.pattern, "/api/v1/databases/{db}")
        XCTAssertEqual(parameters, ["db": "prod db"])

        guard case .found(_, let more) = router.match(method: "POST", path: "/api/v1/instances/shop/async/Product/create") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(more, ["db": "shop", "class": "Product"])
    }

    func testBacktracksFromALiteralDeadEnd() {
        let router = Router()
        router.get("/a/b/c", ok("abc"))
        router.get("/a/{x}/d", ok("axd"))
        XCTAssertEqual(label(router.match(method: "GET", path: "/a/b/d")), "/a/{x}/d")
    }

    func testMethodNotAllowedListsAllowedMethods() {
        let router = Router()
        router.get("/thing", ok("get"))
        router.delete("/thing", ok("delete"))
        guard case .methodNotAllowed(let allowed) = router.match(method: "POST", path: "/thing") else {
            return XCTFail("expected 405")
        }
        XCTAssertEqual(allowed, ["DELETE", "GET", "HEAD", "OPTIONS"])
    }

    func testHeadFallsBackToGetAndUnknownPathsAre404() {
        let router = Router()
        router.get("/thing", ok("get"))
        XCTAssertEqual(label(router.match(method: "HEAD", path: "/thing")), "/thing")
        XCTAssertEqual(label(router.match(method: "GET", path: "/thing/")), "/thing", "a trailing slash is the same route")
        if case .notFound = router.match(method: "GET", path: "/other") {} else { XCTFail("expected 404") }
        if case .notFound = router.match(method: "GET", path: "/thing/extra") {} else { XCTFail("expected 404") }
        if case .notFound = router.match(method: "GET", path: "//thing") {} else { XCTFail("empty segments never match") }
    }

    func testEmptyParameterSegmentDoesNotMatch() {
        let router = Router()
        router.get("/db/{name}/x", ok("x"))
        if case .notFound = router.match(method: "GET", path: "/db//x") {} else { XCTFail("empty parameter must not match") }
    }
}
