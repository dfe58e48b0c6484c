-- 0035: the sites a family may see, kept current by triggers, with their earth point stored
-- (issue 19: provider search at the nearest-neighbour limit).
--
-- A site is listed by the provider search when it is active, public, not archived, not a prison
-- or school, has coordinates, and its organisation is not archived and holds a licence that is
-- active today and covers today (server/public.c). Every part of that but "today" is a fact about
-- rows, so it is kept here, one row per such site: the search walks this table's GiST index
-- nearest first and stops at the page, instead of fetching every site inside the radius and
-- rejecting most of them after joining their organisation and licences.
--
-- "Today" cannot be kept by a trigger (a licence lapses at midnight without any row changing), so
-- each row carries the window of its organisation's licence and the search checks it against
-- registry_today(). The licence counted is the one whose stored status is 'active': a licence
-- reads as active on a date exactly when its stored status is 'active', valid_until is not before
-- the date (licence_effective_status, 0001) and valid_from is not after it; and an organisation
-- has at most one licence in ('pending', 'active', 'suspended') (licence_one_open_idx), so at most
-- one such window.
CREATE TABLE public_site (
    location_id     uuid PRIMARY KEY REFERENCES location (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL,
    earth           public.earth NOT NULL, -- registry_earth(latitude, longitude), computed once
    licensed_from   date NOT NULL,
    licensed_until  date NOT NULL
);
CREATE INDEX public_site_earth_idx ON public_site USING gist (earth);
CREATE INDEX public_site_org_idx ON public_site (organisation_id);

-- The rows public_site should hold (the rule above, but for today's date): what the organisation
-- and licence triggers and the initial fill read. The site trigger applies the same rule to the
-- rows of its statement's transition table.
CREATE VIEW public_site_want AS
SELECT l.id AS location_id, l.organisation_id, registry_earth(l.latitude, l.longitude) AS earth,
       li.valid_from AS licensed_from, li.valid_until AS licensed_until
FROM location l
JOIN organisation o ON o.id = l.organisation_id
JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
WHERE l.active AND l.public AND l.archived_at IS NULL AND l.kind NOT IN ('prison', 'school')
  AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL AND o.archived_at IS NULL;

-- Brings public_site up to date for the sites of organisation `org`: removes those no longer
-- visible, adds or corrects the others. Rows that already hold the right values are left alone
-- (no dead tuples, no index churn, for an unrelated edit).
CREATE FUNCTION public_site_sync_org(org uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public_site p
    WHERE p.organisation_id = org
      AND NOT EXISTS (SELECT 1 FROM public_site_want w WHERE w.location_id = p.location_id);
    INSERT INTO public_site AS p (location_id, organisation_id, earth, licensed_from,
                                  licensed_until)
    SELECT w.location_id, w.organisation_id, w.earth, w.licensed_from, w.licensed_until
    FROM public_site_want w WHERE w.organisation_id = org
    ON CONFLICT (location_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, earth = EXCLUDED.earth,
            licensed_from = EXCLUDED.licensed_from, licensed_until = EXCLUDED.licensed_until
        WHERE (p.organisation_id, p.earth, p.licensed_from, p.licensed_until)
              IS DISTINCT FROM (EXCLUDED.organisation_id, EXCLUDED.earth, EXCLUDED.licensed_from,
                                EXCLUDED.licensed_until);
END
$$;

-- Sites: once per statement, for the rows it wrote, read from the statement's transition table
-- (a bulk load of 180,000 sites is one join, not one pass per site). A deleted site goes with its
-- row (ON DELETE CASCADE above).
CREATE FUNCTION public_site_location_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public_site p
    USING new_rows l
    WHERE p.location_id = l.id
      AND NOT (l.active AND l.public AND l.archived_at IS NULL
               AND l.kind NOT IN ('prison', 'school') AND l.latitude IS NOT NULL
               AND l.longitude IS NOT NULL
               AND EXISTS (SELECT 1 FROM organisation o
                           JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
                           WHERE o.id = l.organisation_id AND o.archived_at IS NULL));
    INSERT INTO public_site AS p (location_id, organisation_id, earth, licensed_from,
                                  licensed_until)
    SELECT l.id, l.organisation_id, registry_earth(l.latitude, l.longitude), li.valid_from,
           li.valid_until
    FROM new_rows l
    JOIN organisation o ON o.id = l.organisation_id
    JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
    WHERE l.active AND l.public AND l.archived_at IS NULL AND l.kind NOT IN ('prison', 'school')
      AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL AND o.archived_at IS NULL
    ON CONFLICT (location_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, earth = EXCLUDED.earth,
            licensed_from = EXCLUDED.licensed_from, licensed_until = EXCLUDED.licensed_until
        WHERE (p.organisation_id, p.earth, p.licensed_from, p.licensed_until)
              IS DISTINCT FROM (EXCLUDED.organisation_id, EXCLUDED.earth, EXCLUDED.licensed_from,
                                EXCLUDED.licensed_until);
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_location_ins AFTER INSERT ON location
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_location_trg();
CREATE TRIGGER public_site_location_upd AFTER UPDATE ON location
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_location_trg();

-- Organisations: archiving one (or bringing it back) hides (or shows) all its sites.
CREATE FUNCTION public_site_organisation_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_sync_org(NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_organisation AFTER UPDATE OF archived_at ON organisation
    FOR EACH ROW WHEN (OLD.archived_at IS DISTINCT FROM NEW.archived_at)
    EXECUTE FUNCTION public_site_organisation_trg();

-- Licences: issued, activated, suspended, revoked, expired, re-dated or removed: the
-- organisation's sites follow its licence.
CREATE FUNCTION public_site_licence_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM public_site_sync_org(NEW.organisation_id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM public_site_sync_org(OLD.organisation_id);
    ELSE
        PERFORM public_site_sync_org(OLD.organisation_id);
        IF NEW.organisation_id <> OLD.organisation_id THEN
            PERFORM public_site_sync_org(NEW.organisation_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_licence_ins AFTER INSERT OR DELETE ON licence
    FOR EACH ROW EXECUTE FUNCTION public_site_licence_trg();
CREATE TRIGGER public_site_licence_upd
    AFTER UPDATE OF status, valid_from, valid_until, organisation_id ON licence
    FOR EACH ROW EXECUTE FUNCTION public_site_licence_trg();

-- The sites visible now.
INSERT INTO public_site (location_id, organisation_id, earth, licensed_from, licensed_until)
SELECT location_id, organisation_id, earth, licensed_from, licensed_until FROM public_site_want;
ANALYZE public_site;
