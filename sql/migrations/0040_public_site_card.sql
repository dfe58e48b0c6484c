-- 0040: each visible site's answer kept with it in public_site (issue 19: provider search at
-- half the nearest-neighbour ceiling).
--
-- A provider search answers, per site of the page, the site, its organisation's public face and
-- the site's upcoming runs. Built at query time that was a join of location and organisation and
-- a json_agg over the site's runs with the at-risk test per run: about 1 ms for a page of 20,
-- against 0.16 ms for the bare KNN scan (bench/README.md). Every part of it but "today" is a fact
-- about rows, so it is kept here, as JSON text, by triggers on every table it reads:
--
--   card_head  '"organisation":{...},"site":{...}', the text of the two objects the answer shows
--              (the expressions server/public.c used, json_build_object's own output);
--   runs       the site's runs that may be upcoming (planned, recruiting or running), in the
--              answer's order (starts_on, start_time NULLS LAST, id), each as the text of its
--              JSON object cut where a date-dependent value goes, with the facts those values
--              are computed from.
--
-- What depends on the date is computed by the search from a run's card, exactly as before:
-- upcoming (starts today or later, or running and not ended), "started" (starts_on <= today),
-- accepting_referrals (accepting and not at risk: not "not ended and a facilitator suspended or
-- withdrawn"), and the run filters (self_referral, starting_within_days). The licence window is
-- public_site's own (0035). The server copies the text into its answer without parsing it.
CREATE TYPE public_run_card AS (
    starts_on     date,
    ends_on       date,
    running       boolean, -- status = 'running'
    self_referral boolean, -- self_referral_allowed
    accepting     boolean, -- accepting_referrals as stored
    at_risk       boolean, -- a facilitator of the run suspended or withdrawn (0010)
    head          text,    -- '{"id":...,"status":...,"started":'
    mid           text,    -- ',"starts_on":...,"capacity_families":N,"accepting_referrals":'
    tail          text     -- ',"self_referral_allowed":...}'
);

ALTER TABLE public_site
    ADD COLUMN card_head text,
    ADD COLUMN runs public_run_card[] NOT NULL DEFAULT '{}';

-- JSON text of a value, null for NULL (to_json alone gives SQL NULL, which would void the text).
CREATE FUNCTION public_card_json(v anyelement) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(to_json(v)::text, 'null')
$$;

-- The card every location would have, visible or not (public_site_card_sync keeps only those in
-- public_site).
CREATE VIEW public_card_want AS
SELECT l.id AS location_id,
       '"organisation":'
       || (CASE WHEN o.public_contact
                THEN json_build_object('name', o.name, 'phone', o.phone, 'email', o.email,
                                       'website', o.website)
                ELSE json_build_object('name', o.name) END)::text
       || ',"site":'
       || json_build_object('id', l.id, 'name', l.name, 'address_lines', l.address_lines,
                            'town', l.town, 'postcode', l.postcode,
                            'accessibility', l.accessibility,
                            'takes_enquiries', o.enquiries_enabled AND o.enquiry_email IS NOT NULL)::text
           AS card_head,
       coalesce((SELECT array_agg(ROW(
                    r.starts_on, r.ends_on, r.status = 'running', r.self_referral_allowed,
                    r.accepting_referrals,
                    EXISTS (SELECT 1 FROM programme_facilitator pf
                            JOIN facilitator f ON f.id = pf.facilitator_id
                            WHERE pf.run_id = r.id AND f.status IN ('suspended', 'withdrawn')),
                    '{"id":' || public_card_json(r.id) || ',"status":' || public_card_json(r.status)
                    || ',"started":',
                    ',"starts_on":' || public_card_json(r.starts_on) || ',"variant":'
                    || public_card_json(r.variant) || ',"weekday":' || public_card_json(r.weekday)
                    || ',"start_time":' || public_card_json(to_char(r.start_time, 'HH24:MI'))
                    || ',"places_left":'
                    || public_card_json(greatest(r.capacity_families - r.families_enrolled, 0))
                    || ',"capacity_families":' || public_card_json(r.capacity_families)
                    || ',"accepting_referrals":',
                    ',"self_referral_allowed":' || public_card_json(r.self_referral_allowed) || '}'
                  )::public_run_card ORDER BY r.starts_on, r.start_time NULLS LAST, r.id)
                 FROM programme_run r
                 WHERE r.location_id = l.id AND r.status IN ('planned', 'recruiting', 'running')),
                '{}') AS runs
FROM location l
JOIN organisation o ON o.id = l.organisation_id;

-- Brings the cards of the public_site rows of `ids` up to date; rows already right are left
-- alone (no dead tuples for an unrelated edit).
CREATE FUNCTION public_site_card_sync(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE public_site p SET card_head = w.card_head, runs = w.runs
    FROM public_card_want w
    WHERE p.location_id = ANY (ids) AND w.location_id = ANY (ids)
      AND w.location_id = p.location_id
      AND (p.card_head IS DISTINCT FROM w.card_head OR p.runs IS DISTINCT FROM w.runs)
$$;

-- A site that becomes visible (0035's triggers insert it) gets its card in the same statement.
CREATE FUNCTION public_site_card_new_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_card_sync(ARRAY(SELECT location_id FROM new_rows));
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_new AFTER INSERT ON public_site
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_new_trg();

-- Sites: a change of name, address, town, postcode, accessibility or organisation.
CREATE FUNCTION public_site_card_location_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_card_sync(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_location AFTER UPDATE ON location
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_location_trg();

-- Organisations: the public face (name, contact details and whether they are shown, enquiries).
CREATE FUNCTION public_site_card_organisation_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_card_sync(ARRAY(SELECT location_id FROM public_site
                                        WHERE organisation_id = NEW.id));
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_organisation
    AFTER UPDATE OF name, phone, email, website, public_contact, enquiries_enabled,
                    enquiry_email ON organisation
    FOR EACH ROW
    WHEN ((OLD.name, OLD.phone, OLD.email, OLD.website, OLD.public_contact,
           OLD.enquiries_enabled, OLD.enquiry_email)
          IS DISTINCT FROM (NEW.name, NEW.phone, NEW.email, NEW.website, NEW.public_contact,
                            NEW.enquiries_enabled, NEW.enquiry_email))
    EXECUTE FUNCTION public_site_card_organisation_trg();

-- Runs: created, changed (status, dates, times, places, flags, or moved to another site) or
-- removed; once per statement, for the sites of the rows it wrote.
CREATE FUNCTION public_site_card_run_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM public_site_card_sync(ARRAY(SELECT DISTINCT location_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM public_site_card_sync(ARRAY(SELECT DISTINCT location_id FROM old_rows));
    ELSE
        PERFORM public_site_card_sync(ARRAY(SELECT location_id FROM new_rows
                                            UNION SELECT location_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_run_ins AFTER INSERT ON programme_run
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_trg();
CREATE TRIGGER public_site_card_run_upd AFTER UPDATE ON programme_run
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_trg();
CREATE TRIGGER public_site_card_run_del AFTER DELETE ON programme_run
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_trg();

-- A run's facilitators: added, removed or replaced (the at-risk test).
CREATE FUNCTION public_site_card_run_facilitator_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM public_site_card_sync(ARRAY(SELECT DISTINCT r.location_id FROM programme_run r
                                            JOIN new_rows n ON n.run_id = r.id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM public_site_card_sync(ARRAY(SELECT DISTINCT r.location_id FROM programme_run r
                                            JOIN old_rows n ON n.run_id = r.id));
    ELSE
        PERFORM public_site_card_sync(ARRAY(SELECT r.location_id FROM programme_run r
                                            WHERE r.id IN (SELECT run_id FROM new_rows
                                                           UNION SELECT run_id FROM old_rows)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_pf_ins AFTER INSERT ON programme_facilitator
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_facilitator_trg();
CREATE TRIGGER public_site_card_pf_upd AFTER UPDATE ON programme_facilitator
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_facilitator_trg();
CREATE TRIGGER public_site_card_pf_del AFTER DELETE ON programme_facilitator
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public_site_card_run_facilitator_trg();

-- Facilitators: suspended, withdrawn, or back (the at-risk test of every run they are on that
-- may be upcoming).
CREATE FUNCTION public_site_card_facilitator_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public_site_card_sync(ARRAY(
        SELECT DISTINCT r.location_id FROM programme_facilitator pf
        JOIN programme_run r ON r.id = pf.run_id
        WHERE pf.facilitator_id = NEW.id AND r.status IN ('planned', 'recruiting', 'running')));
    RETURN NULL;
END
$$;
CREATE TRIGGER public_site_card_facilitator AFTER UPDATE OF status ON facilitator
    FOR EACH ROW
    WHEN ((OLD.status IN ('suspended', 'withdrawn')) IS DISTINCT FROM
          (NEW.status IN ('suspended', 'withdrawn')))
    EXECUTE FUNCTION public_site_card_facilitator_trg();

-- The cards of the sites visible now.
UPDATE public_site p SET card_head = w.card_head, runs = w.runs
FROM public_card_want w WHERE w.location_id = p.location_id;
ANALYZE public_site;
