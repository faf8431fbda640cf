-- What a Graph subscription watches: the paired calendar, or a mail folder automatic email tracking
-- follows (`inbox`, `sentitems`).
ALTER TABLE graph_subscriptions ADD COLUMN resource TEXT NOT NULL DEFAULT 'calendar';
