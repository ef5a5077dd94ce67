-- The baseline: the benchmark's 3-hop traversal as one hand-written statement on the same tables —
-- 20 customers of region r7 (id order) -placed-> orders -contains-> products -supplied_by-> suppliers,
-- live nodes and current edges only, every node with its document, and the edges walked.
WITH s AS (
  SELECT class_id, instance_id, version FROM graph_nodes
  WHERE database_name = 'bench' AND class_id = 'Customer' AND NOT deleted AND fields @> '{"region": "r7"}'
  ORDER BY instance_id LIMIT 20
), e1 AS (
  SELECT e.from_class, e.from_id, e.predicate, e.to_class, e.to_id, n.version FROM s
  JOIN graph_edges e ON e.database_name = 'bench' AND e.from_class = s.class_id AND e.from_id = s.instance_id
                    AND e.predicate = 'placed' AND e.to_class = 'Order' AND e.version = s.version
  JOIN graph_nodes n ON n.database_name = 'bench' AND n.class_id = e.to_class AND n.instance_id = e.to_id AND NOT n.deleted
), n1 AS (
  SELECT DISTINCT to_class AS class_id, to_id AS instance_id, version FROM e1
), e2 AS (
  SELECT e.from_class, e.from_id, e.predicate, e.to_class, e.to_id, n.version FROM n1
  JOIN graph_edges e ON e.database_name = 'bench' AND e.from_class = n1.class_id AND e.from_id = n1.instance_id
                    AND e.predicate = 'contains' AND e.to_class = 'Product' AND e.version = n1.version
  JOIN graph_nodes n ON n.database_name = 'bench' AND n.class_id = e.to_class AND n.instance_id = e.to_id AND NOT n.deleted
), n2 AS (
  SELECT DISTINCT to_class AS class_id, to_id AS instance_id, version FROM e2
), e3 AS (
  SELECT e.from_class, e.from_id, e.predicate, e.to_class, e.to_id, n.version FROM n2
  JOIN graph_edges e ON e.database_name = 'bench' AND e.from_class = n2.class_id AND e.from_id = n2.instance_id
                    AND e.predicate = 'supplied_by' AND e.to_class = 'Supplier' AND e.version = n2.version
  JOIN graph_nodes n ON n.database_name = 'bench' AND n.class_id = e.to_class AND n.instance_id = e.to_id AND NOT n.deleted
), reached AS (
  SELECT * FROM s UNION SELECT * FROM n1 UNION SELECT * FROM n2 UNION SELECT class_id, instance_id, version FROM (SELECT DISTINCT to_class AS class_id, to_id AS instance_id, version FROM e3) n3
)
SELECT 'node' AS kind, r.class_id || '/' || r.instance_id AS a, NULL AS b, NULL AS c, r.version, d.version AS document_version, d.data
FROM reached r
LEFT JOIN documents d ON d.database_name = 'bench' AND d.class_id = r.class_id AND d.instance_id = r.instance_id AND NOT d.deleted
UNION ALL
SELECT 'edge', from_class || '/' || from_id, predicate, to_class || '/' || to_id, NULL, NULL, NULL
FROM (SELECT * FROM e1 UNION ALL SELECT * FROM e2 UNION ALL SELECT * FROM e3) walked;
