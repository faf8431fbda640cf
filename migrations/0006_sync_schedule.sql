-- When the CRM's id listing was last scanned for deletions (it is not needed every cycle), and a
-- pending "sync now" that must run even when automatic sync is off.
ALTER TABLE sync_cursors ADD COLUMN last_id_scan_at TIMESTAMPTZ;
ALTER TABLE sync_cursors ADD COLUMN manual_requested_at TIMESTAMPTZ;
