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

-- Brings public_site up to date for the sites of the organisations `orgs` and the sites `locs`
-- (either may be NULL): removes those no longer visible, adds or corrects the others. Rows that
-- already hold the right values are left alone (no dead tuples for an unrelated edit).
CREATE FUNCTION public_site_sync(orgs uuid[], locs uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public_site p
    WHERE (p.organisation_id = ANY (orgs) OR p.location_id = ANY (locs))
      AND NOT EXISTS (
          SELECT 1 FROM location l
          JOIN organisation o ON o.id = l.organisation_id
          JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
          WHERE l.id = p.location_id AND l.active AND l.public AND l.archived_at IS NULL
            AND l.kind NOT IN ('prison', 'school') AND l.latitude IS NOT NULL
            AND l.longitude IS NOT NULL AND o.archived_at IS NULL);
    INSERT INTO public_site AS p (location_id, organisation_id, earth, licensed_from,
                                  licensed_until)
    SELECT l.id, l.organisation_id, registry_earth(l.latitude, l.longitude), li.valid_from,
           li.valid_until
    FROM location l
    JOIN organisation o ON o.id = l.organisation_id
    JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
    WHERE (l.organisation_id = ANY (orgs) OR l.id = ANY (locs))
      AND l.active AND l.public AND l.archived_at IS NULL AND l.kind NOT IN ('prison', 'school')
      AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL AND o.archived_at IS NULL
    ON CONFLICT (location_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, earth = EXCLUDED.earth,
            licensed_from = EXCLUDED.licensed_from, licensed_until = EXCLUDED.licensed_until
        WHERE (p.organisation_id, p.earth, p.licensed_from, p.licensed_until)
              IS DISTINCT FROM (EXCLUDED.organisation_id, EXCLUDED.earth, EXCLUDED.licensed_from,
                                EXCLUDED.licensed_until);
END
$$;

-- Sites: once per statement, for every row it wrote (a bulk load is one pass). A deleted site
-- goes with its row (ON DELETE CASCADE above).
CREATE FUNCTION public_site_location_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_sync(NULL, (SELECT array_agg(id) FROM new_rows));
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
    PERFORM public_site_sync(ARRAY[NEW.id], NULL);
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
    IF TG_OP = 'DELETE' THEN
        PERFORM public_site_sync(ARRAY[OLD.organisation_id], NULL);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM public_site_sync(ARRAY[NEW.organisation_id], NULL);
    ELSE
        PERFORM public_site_sync(ARRAY[OLD.organisation_id, NEW.organisation_id], NULL);
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
SELECT public_site_sync((SELECT array_agg(id) FROM organisation), NULL);
ANALYZE public_site;
