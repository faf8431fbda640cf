-- The worker's fencing token. Every claim of a job writes a fresh `lease_id`; heartbeats, completion,
-- failure and release only touch the row while it still carries the token they claimed it with. A worker
-- whose lease expired and was taken over therefore can never clobber the new holder's lease, even if its
-- own late write arrives afterwards (a timestamp such as `locked_until` changes on every heartbeat and so
-- cannot serve as the token).
ALTER TABLE jobs ADD COLUMN lease_id UUID;

-- Claims look for due, unleased rows in `run_at` order; `jobs_due (run_at)` from 0001 serves them.
