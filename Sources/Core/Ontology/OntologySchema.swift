/// All classes of one database (on one branch), by id, with inheritance resolved through `parentClass`.
/// Inheritance walks are cycle-guarded: a cycle (possible only in stored data that bypassed the linter) ends the walk.
public struct OntologySchema: Sendable, Hashable {
    public private(set) var classes: [String: OntologyClass]

    public init(classes: [OntologyClass] = []) {
        var byId: [String: OntologyClass] = [:]
        for ontologyClass in classes { byId[ontologyClass.id] = ontologyClass }
        self.classes = byId
    }

    public subscript(classId: String) -> OntologyClass? { classes[classId] }

    public mutating func upsert(_ ontologyClass: OntologyClass) { classes[ontologyClass.id] = ontologyClass }
    public mutating func remove(_ classId: String) { classes[classId] = nil }

    public func upserting(_ ontologyClass: OntologyClass) -> OntologySchema {
        var copy = self
        copy.upsert(ontologyClass)
        return copy
    }

    /// The ancestors of a class, nearest first (its parent, the parent's parent, …), stopping at an unknown class
    /// or a cycle.
    public func ancestors(of classId: String) -> [String] {
        var result: [String] = []
        var visited: Set<String> = [classId]
        var current = classes[classId]?.parentClass
        while let id = current, !visited.contains(id) {
            result.append(id)
            visited.insert(id)
            current = classes[id]?.parentClass
        }
        return result
    }

    /// Whether following `parentClass` from `classId` comes back to a class already seen.
    public func hasInheritanceCycle(from classId: String) -> Bool {
        var visited: Set<String> = [classId]
        var current = classes[classId]?.parentClass
        while let id = current {
            if visited.contains(id) { return true }
            visited.insert(id)
            current = classes[id]?.parentClass
        }
        return false
    }

    /// The first ancestor named as a parent but not defined, if any.
    public func missingAncestor(of classId: String) -> String? {
        let chain = [classId] + ancestors(of: classId)
        for id in chain {
            if let parent = classes[id]?.parentClass, classes[parent] == nil { return parent }
        }
        return nil
    }

    /// Whether `classId` is `ancestor` or inherits from it.
    public func isSubclass(_ classId: String, of ancestor: String) -> Bool {
        classId == ancestor || ancestors(of: classId).contains(ancestor)
    }

    /// The classes that inherit (directly or not) from `classId`, sorted by id.
    public func subclasses(of classId: String) -> [String] {
        classes.keys.filter { $0 != classId && isSubclass($0, of: classId) }.sorted()
    }

    /// A class's properties including inherited ones: the root ancestor's first; a redefinition in a subclass
    /// replaces the inherited property in place.
    public func properties(of classId: String) -> [Property] {
        var result: [Property] = []
        for id in ([classId] + ancestors(of: classId)).reversed() {
            for property in classes[id]?.properties ?? [] {
                if let index = result.firstIndex(where: { $0.name == property.name }) { result[index] = property } else { result.append(property) }
            }
        }
        return result
    }

    /// A class's relationships including inherited ones (same rules as `properties(of:)`).
    public func relationships(of classId: String) -> [Relationship] {
        var result: [Relationship] = []
        for id in ([classId] + ancestors(of: classId)).reversed() {
            for relationship in classes[id]?.relationships ?? [] {
                if let index = result.firstIndex(where: { $0.predicate == relationship.predicate }) {
                    result[index] = relationship
                } else {
                    result.append(relationship)
                }
            }
        }
        return result
    }

    /// The primary-key property of a class, inherited ones included (see `OntologyClass.primaryKey(among:classId:)`).
    public func primaryKey(of classId: String) -> Property? {
        OntologyClass.primaryKey(among: properties(of: classId), classId: classId)
    }

    /// The classes as a JSON array sorted by id.
    public var json: JSONValue { .array(classes.keys.sorted().map { classes[$0]!.json }) }
}
