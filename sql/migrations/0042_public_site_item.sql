-- 0042: each visible site's whole answer for today kept with it (issue 19: provider search at
-- half the nearest-neighbour ceiling).
--
-- Since 0040 a search builds each item from the site's card: the text of its upcoming runs is
-- computed at query time (upcoming, started, accepting_referrals depend on the date), an ARRAY()
-- subquery per site with runs. That text changes only on a few dates: a run's starts_on (it
-- becomes "started"), the day after (a run that is not running stops being upcoming) and the day
-- after its ends_on (a running run stops being upcoming; the at-risk test ends). So each row keeps
-- the item as it reads on the dates item_from..item_until, computed by the triggers that keep the
-- card (the date-dependent facts are the card's, 0040):
--
--   item_tail   card_head || ',"upcoming_runs":[' || the runs' text on those dates || ']}': the
--               item without its leading '{"distance_km":N,' (the only part that depends on the
--               search);
--   item_from   the date it was computed on (registry_today() then);
--   item_until  the last date on which it still reads the same (the day before the next of those
--               dates of any of the site's runs; 'infinity' when none is ahead).
--
-- The search (server/public.c) copies item_tail when today is within item_from..item_until and
-- otherwise computes the item from the card as before, so an answer never depends on when the
-- rows were last refreshed: public_site_items_refresh() recomputes the rows whose window has
-- passed (a daily job keeps the fast path for every site; without it a site whose window passed
-- is answered the slower way, the same answer).

ALTER TABLE public_site
    ADD COLUMN item_tail text,
    ADD COLUMN item_from date,
    ADD COLUMN item_until date;
-- A search reads item_tail of every site of its page: kept inline and uncompressed unless the row
-- cannot fit otherwise (the card's columns, read only when an item is stale, are compressed or
-- moved out of line first), so a search decompresses nothing.
ALTER TABLE public_site ALTER COLUMN item_tail SET STORAGE MAIN;

-- The text of the members of the upcoming_runs array of a site with run cards `runs` on date `d`
-- (no run filters): exactly what PUB_CARD_RUNS("NULL", "NULL") of server/public.c computes.
CREATE FUNCTION public_card_runs_text(runs public_run_card[], d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(runs) = 0 THEN ''
           ELSE array_to_string(ARRAY(
                    SELECT x.head || (x.starts_on <= d)::text || x.mid
                           || (x.accepting AND NOT (x.ends_on >= d AND x.at_risk))::text || x.tail
                    FROM unnest(runs) WITH ORDINALITY AS x
                    WHERE x.starts_on >= d OR (x.running AND x.ends_on >= d)
                    ORDER BY x.ordinality), ',') END
$$;

-- The last date from `d` on through which public_card_runs_text(runs, ...) stays what it is on
-- `d`: the day before the first date after `d` on which a run's "started" (starts_on), upcoming
-- (the day after starts_on; the day after ends_on) or at-risk test (the day after ends_on) can
-- change; 'infinity' when none is ahead.
CREATE FUNCTION public_card_runs_until(runs public_run_card[], d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(min(c) - 1, 'infinity'::date)
    FROM unnest(runs) x, LATERAL (VALUES (x.starts_on), (x.starts_on + 1), (x.ends_on + 1)) v(c)
    WHERE c > d
$$;

-- Brings the cards of the public_site rows of `ids` up to date (as 0040's), and their item:
-- recomputed when the card changed or its window does not hold today. Rows already right are
-- left alone.
CREATE OR REPLACE FUNCTION public_site_card_sync(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE public_site p
    SET card_head = w.card_head, runs = w.runs,
        item_tail = w.card_head || ',"upcoming_runs":['
                    || public_card_runs_text(w.runs, registry_today()) || ']}',
        item_from = registry_today(),
        item_until = public_card_runs_until(w.runs, registry_today())
    FROM public_card_want w
    WHERE p.location_id = ANY (ids) AND w.location_id = ANY (ids)
      AND w.location_id = p.location_id
      AND (p.card_head IS DISTINCT FROM w.card_head OR p.runs IS DISTINCT FROM w.runs
           OR p.item_tail IS NULL
           OR NOT (registry_today() BETWEEN p.item_from AND p.item_until))
$$;

-- Recomputes the items whose window does not hold today (and any without one). Returns how many.
-- For a daily job (after midnight, UK time): without it the search still answers every site
-- right, computing a stale site's item from its card.
CREATE FUNCTION public_site_items_refresh() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE public_site p
    SET item_tail = p.card_head || ',"upcoming_runs":['
                    || public_card_runs_text(p.runs, registry_today()) || ']}',
        item_from = registry_today(),
        item_until = public_card_runs_until(p.runs, registry_today())
    WHERE p.card_head IS NOT NULL
      AND (p.item_tail IS NULL OR NOT (registry_today() BETWEEN p.item_from AND p.item_until));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

SELECT public_site_items_refresh();
ANALYZE public_site;
