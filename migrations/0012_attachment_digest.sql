-- An attachment counts as already uploaded with a saved email when a file with the same name, size and
-- content (SHA-256 of its bytes, lower-case hex) was uploaded for that message: name and size alone let
-- a different file of the same size pass as uploaded. Rows from before this column have '' (content
-- not known): such a row matches its name and size once and then takes the digest of the file seen.
ALTER TABLE saved_email_files ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE saved_email_files ALTER COLUMN content_sha256 DROP DEFAULT;
ALTER TABLE saved_email_files DROP CONSTRAINT saved_email_files_pkey,
    ADD PRIMARY KEY (pairing_id, internet_message_id, attachment_key, content_sha256);
