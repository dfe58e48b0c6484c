-- 0005: helpers for the Open Referral UK feed (server/openreferral.c).

-- Stable identifiers for the feed's derived objects. The profile wants a UUID for every object,
-- and some of ours have no row of their own (the M-PACT service of an organisation, its
-- service-at-location links, addresses, contacts, phones): each gets a name-based UUID
-- (RFC 4122 version 3: MD5 of a fixed namespace and "<kind>:<registry uuid>"), so the same
-- registry row always publishes the same id and a consumer's updates line up.
-- The namespace below is ours; never change it, or every published id changes.
CREATE FUNCTION openreferral_uuid(kind text, id uuid) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (substr(h, 1, 12) || '3' || substr(h, 14, 3)
            || to_hex(((('x' || substr(h, 17, 1))::bit(4)::int) & 3) | 8)
            || substr(h, 18, 15))::uuid
    FROM (SELECT md5(decode('5a40c0959e4643cd816eaa0b2c6bc2a4', 'hex')
                     || convert_to(kind || ':' || id::text, 'UTF8')) AS h) s
$$;

-- GET /openreferral/services/{id} finds the organisation from its service id.
CREATE INDEX organisation_openreferral_service_idx
    ON organisation (openreferral_uuid('service', id));

