-- Every accepted command writes a status row and its first history entry, so each index and check on them
-- is paid per command (and per transition).
-- * Nothing reads commands by aggregate: the index only cost an insert.
-- * History entries are written only by statements that write their command's row in the same statement,
--   so the foreign key's per-entry lookup checked what cannot happen; expiry deletes a command's history
--   with the command (CommandStatusStore.deleteExpired) instead of by cascade.
DROP INDEX IF EXISTS commands_by_aggregate;
ALTER TABLE command_history DROP CONSTRAINT IF EXISTS command_history_command_id_fkey;
