-- The settings a pairing's cursors were built under: when they change (type sets, windows, private
-- mode, default type), the next run lists both sides in full so entries the old settings skipped are
-- considered again.
ALTER TABLE sync_cursors ADD COLUMN settings_hash TEXT;
