#!/usr/bin/env python3
"""Reads a spice GraphQL schema the way standard tools do, with an independent implementation
(graphql-core): POSTs the standard introspection query, builds a client schema from the answer,
validates a query against it, and prints what the test checks as one JSON object.

    python3 graphql_introspect.py URL QUERY TYPE...
"""
import json
import sys
import urllib.request

from graphql import build_client_schema, get_introspection_query, parse, print_schema, validate


def main():
    url, query, type_names = sys.argv[1], sys.argv[2], sys.argv[3:]
    introspection = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True)
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": introspection}).encode(),
        headers={"content-type": "application/json", "accept": "application/graphql-response+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if body.get("errors"):
        raise SystemExit("introspection failed: %s" % body["errors"])
    schema = build_client_schema(body["data"])  # raises if the introspection result is not a valid schema
    fields = {}
    for name in type_names:
        named = schema.get_type(name)
        members = getattr(named, "fields", None) or {}
        fields[name] = {field: str(definition.type) for field, definition in members.items()}
    print(json.dumps({
        "types": sorted(name for name in schema.type_map if not name.startswith("__")),
        "fields": fields,
        "queryErrors": [error.message for error in validate(schema, parse(query))],
        "sdlLines": len(print_schema(schema).splitlines()),
    }))


if __name__ == "__main__":
    main()
