-- The read benchmark's graph, written straight into the read models (the workers would take minutes to
-- project 100,000 instances; the read path does not care who wrote the rows): 100,000 nodes and 300,000
-- edges in database `bench`, every node with a document at its version.
--   Customer 20,000 (region r0..r99)  -placed->    Order 50,000 (order i belongs to customer i mod 20,000)
--   Order                             -contains->  Product 20,000 (4 per order: 200,000 edges)
--   Product 20,000                    -supplied_by-> Supplier 10,000
--   Customer                          -knows->     Customer (30,000 edges)
BEGIN;
INSERT INTO graph_nodes (database_name, class_id, instance_id, version, fields)
SELECT 'bench', 'Customer', 'c' || i, 1, jsonb_build_object('customer_id', 'c' || i, 'name', 'Customer ' || i, 'region', 'r' || (i % 100))
FROM generate_series(0, 19999) i
UNION ALL
SELECT 'bench', 'Order', 'o' || i, 1, jsonb_build_object('order_id', 'o' || i, 'total', (i % 997) + 0.5)
FROM generate_series(0, 49999) i
UNION ALL
SELECT 'bench', 'Product', 'p' || i, 1, jsonb_build_object('product_id', 'p' || i, 'name', 'Product ' || i, 'price', i % 500,
                                                         'supplied_by', 'Supplier/s' || (i % 10000))
FROM generate_series(0, 19999) i
UNION ALL
SELECT 'bench', 'Supplier', 's' || i, 1, jsonb_build_object('supplier_id', 's' || i, 'name', 'Supplier ' || i)
FROM generate_series(0, 9999) i;

INSERT INTO graph_edges (database_name, from_class, from_id, predicate, to_class, to_id, version)
SELECT 'bench', 'Customer', 'c' || (i % 20000), 'placed', 'Order', 'o' || i, 1 FROM generate_series(0, 49999) i
UNION ALL
SELECT 'bench', 'Order', 'o' || i, 'contains', 'Product', 'p' || ((i * 7 + k * 4999) % 20000), 1
FROM generate_series(0, 49999) i, generate_series(0, 3) k
UNION ALL
SELECT 'bench', 'Product', 'p' || i, 'supplied_by', 'Supplier', 's' || (i % 10000), 1 FROM generate_series(0, 19999) i
UNION ALL
SELECT 'bench', 'Customer', 'c' || (i % 20000), 'knows', 'Customer', 'c' || ((i * 7 + 1 + (i / 20000) * 13) % 20000), 1
FROM generate_series(0, 29999) i;

-- Documents: the graph's fields plus a description, so a document weighs what a small real one does.
INSERT INTO documents (database_name, class_id, instance_id, version, data, event_id, created_at, updated_at)
SELECT database_name, class_id, instance_id, version,
       fields || jsonb_build_object('description', repeat('Lorem ipsum dolor sit amet ', 4) || instance_id),
       md5(class_id || instance_id), '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'
FROM graph_nodes WHERE database_name = 'bench';
COMMIT;
-- A steady state, as autovacuum would leave it: statistics, and the GIN index's pending list merged.
VACUUM ANALYZE graph_nodes;
VACUUM ANALYZE graph_edges;
VACUUM ANALYZE documents;
SELECT (SELECT count(*) FROM graph_nodes WHERE database_name = 'bench') || ' nodes, '
    || (SELECT count(*) FROM graph_edges WHERE database_name = 'bench') || ' edges, '
    || (SELECT count(*) FROM documents WHERE database_name = 'bench') || ' documents';
