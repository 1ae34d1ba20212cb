-- Admin tokens used to be named `<role>:<first 12 hex of sha256(token)>` in
-- config_versions.created_by, join_tokens.created_by and audit_events.actor:
-- part of an unsalted hash that a viewer could read and test guesses against
-- offline. The server now names a token by a MAC under a key it keeps
-- (`<role>:token-<16 hex>`). Rows written before keep a name, but one that
-- no longer derives from the token: each old name becomes
-- `<role>:legacy-<12 random hex>`, the same in all three tables, so the
-- rows one token wrote still read as one actor.
CREATE TEMPORARY TABLE legacy_actor_names ON COMMIT DROP AS
SELECT name, split_part(name, ':', 1) || ':legacy-' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12) AS redacted
FROM (
  SELECT created_by AS name FROM config_versions
  UNION SELECT created_by FROM join_tokens
  UNION SELECT actor FROM audit_events WHERE actor IS NOT NULL
) AS names
WHERE name ~ '^(admin|viewer):[0-9a-f]{12}$';

UPDATE config_versions SET created_by = l.redacted FROM legacy_actor_names l WHERE config_versions.created_by = l.name;
UPDATE join_tokens SET created_by = l.redacted FROM legacy_actor_names l WHERE join_tokens.created_by = l.name;
UPDATE audit_events SET actor = l.redacted FROM legacy_actor_names l WHERE audit_events.actor = l.name;
