-- 0014: local areas. The local authority district (ONS GSS code, e.g. E06000035 Medway) and the
-- country of each postcode, the names of the districts, and the areas an organisation is
-- commissioned for.
--
-- `mpact-registry import-postcodes` fills postcode.oslaua and postcode.ctry from the ONSPD
-- (`oslaua`) or the NSPL (`laua`) and `ctry`; `mpact-registry import-areas` upserts the names
-- (server/postcodes.c). A location's local authority is read through its postcode on every read
-- (never stored with the location), so a new import corrects it. The postcode table is swapped
-- whole by the import (0003): nothing here refers to it by OID.
CREATE TABLE local_authority (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z][0-9]{8}$'),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200)
);

-- The import's postcode_new is made LIKE postcode INCLUDING CONSTRAINTS: these checks come along.
ALTER TABLE postcode
    ADD COLUMN oslaua text CHECK (oslaua ~ '^[A-Z][0-9]{8}$'),
    ADD COLUMN ctry text CHECK (ctry ~ '^[A-Z][0-9]{8}$');

-- The local authority districts the organisation is commissioned for (local_authority codes, no
-- repeats), set by the licensing body. A district is never deleted (import-areas only upserts),
-- so a code once checked stays known.
ALTER TABLE organisation ADD COLUMN serves_areas text[] NOT NULL DEFAULT '{}';
