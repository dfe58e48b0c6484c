-- 0018: the delivery report's national figures kept summed by day and variant (issue 16,
-- "Performance": a national report over 30,000 runs in under 100 ms).
--
-- Every additive figure of a completed run is a cell (figure, k1, k2, n): its totals, each
-- breakdown's counts and its outcome measures' sufficient statistics. delivery_cube holds the
-- cells of all completed runs summed by the day (and by the month) the run ended and its
-- variant, with the number of runs behind each cell (a cell is in a report when at least one run
-- has it, as when the runs are summed one by one). Counts are whole numbers, held exactly in
-- double precision like the outcome sums of programme_outcome. Triggers keep it current on every
-- change of a run or of its outcomes, so a report with no organisation or area filter reads a
-- few hundred rows a month (and the days of the months at its ends) instead of every run
-- (server/impact.c, imp_cube_*). Reports filtered by organisation or area sum their runs' cells,
-- kept in run_cell by the same triggers.

-- The cells of run `p` (its outcome measures' cells from programme_outcome as it is now).
CREATE FUNCTION registry_run_cells(p programme_run)
RETURNS TABLE (figure text, k1 text, k2 text, n double precision)
LANGUAGE sql STABLE AS $$
    SELECT 'total', v.k, '', v.n
    FROM (VALUES ('runs', 1::float8),
                 ('referred', p.families_referred),
                 ('assessed', p.families_assessed),
                 ('started', p.families_started),
                 ('completed', p.families_completed),
                 ('capacity', p.capacity_families),
                 ('adults', p.adults),
                 ('children', p.children),
                 ('sessions_delivered', p.sessions_delivered),
                 ('sessions_planned', p.sessions_planned),
                 ('review_held', CASE WHEN p.review_held THEN 1 END),
                 ('reunion_held', CASE WHEN p.reunion_held THEN 1 END),
                 ('cost_gbp', p.delivery_cost_gbp),
                 ('costed_runs', CASE WHEN p.delivery_cost_gbp IS NOT NULL THEN 1 END),
                 ('costed_started', CASE WHEN p.delivery_cost_gbp IS NOT NULL
                                         THEN p.families_started END),
                 ('costed_completed', CASE WHEN p.delivery_cost_gbp IS NOT NULL
                                           THEN p.families_completed END)) v (k, n)
    WHERE v.n IS NOT NULL
    UNION ALL
    SELECT b.figure, e.key, '', e.value::float8
    FROM (VALUES ('referrals_by_source', p.referrals_by_source),
                 ('onward_referrals', p.onward_referrals)) b (figure, j),
         jsonb_each_text(b.j) e
    WHERE jsonb_typeof(b.j) = 'object'
    UNION ALL
    SELECT b.figure, a.key, e.key, e.value::float8
    FROM (VALUES ('adults_by_relationship', p.adults_by_relationship),
                 ('children_by_age_band', p.children_by_age_band),
                 ('feedback', p.feedback)) b (figure, j),
         jsonb_each(b.j) a, jsonb_each_text(a.value) e
    WHERE jsonb_typeof(b.j) = 'object' AND jsonb_typeof(a.value) = 'object'
    UNION ALL
    SELECT 'outcome', o.measure_id::text, v.k, v.n
    FROM programme_outcome o,
         LATERAL (VALUES ('runs', 1::float8), ('n', o.n), ('pre', o.sum_pre::float8),
                         ('post', o.sum_post::float8), ('d', o.sum_d::float8),
                         ('d2', o.sum_d2::float8), ('pre_only', o.pre_only),
                         ('post_only', o.post_only)) v (k, n)
    WHERE o.run_id = p.id
$$;

-- grain 'd': the cells of the runs that ended on day `ends_on`; grain 'm': of the runs that
-- ended in the month starting on `ends_on` (a report reads whole months, and days at its ends).
CREATE TABLE delivery_cube (
    grain   "char"  NOT NULL CHECK (grain IN ('d', 'm')),
    ends_on date    NOT NULL,
    variant text    NOT NULL,
    figure  text    NOT NULL,
    k1      text    NOT NULL,
    k2      text    NOT NULL,
    n       double precision NOT NULL,
    runs    integer NOT NULL,
    PRIMARY KEY (grain, ends_on, variant, figure, k1, k2)
);

-- Adds the cells of `add` and takes away those of `sub` (either NULL), at both grains, in one
-- statement whose rows are locked in key order (two writers never wait for each other
-- crosswise).
CREATE FUNCTION registry_cube_move(sub programme_run, add programme_run)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO delivery_cube AS c (grain, ends_on, variant, figure, k1, k2, n, runs)
    SELECT g.grain, CASE g.grain WHEN 'd' THEN d.ends_on
                    ELSE date_trunc('month', d.ends_on::timestamp)::date END,
           d.variant, d.figure, d.k1, d.k2, sum(d.n), sum(d.r)
    FROM (SELECT sub.ends_on, sub.variant, x.figure, x.k1, x.k2, -x.n AS n, -1 AS r
          FROM registry_run_cells(sub) x WHERE sub.id IS NOT NULL
          UNION ALL
          SELECT add.ends_on, add.variant, x.figure, x.k1, x.k2, x.n, 1
          FROM registry_run_cells(add) x WHERE add.id IS NOT NULL) d,
         (VALUES ('d'::"char"), ('m'::"char")) g (grain)
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(d.n) <> 0 OR sum(d.r) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grain, ends_on, variant, figure, k1, k2)
    DO UPDATE SET n = c.n + excluded.n, runs = c.runs + excluded.runs
$$;

-- The cells of each completed run, kept beside the cube: a report of some districts or of one
-- organisation sums its runs' rows here instead of expanding their records again.
CREATE TABLE run_cell (
    run_id uuid             NOT NULL REFERENCES programme_run (id) ON DELETE CASCADE,
    figure text             NOT NULL,
    k1     text             NOT NULL,
    k2     text             NOT NULL,
    n      double precision NOT NULL,
    PRIMARY KEY (run_id, figure, k1, k2)
);

CREATE FUNCTION registry_cube_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_cube_move(
        CASE WHEN TG_OP <> 'INSERT' AND OLD.status = 'completed' THEN OLD END,
        CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'completed' THEN NEW END);
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM run_cell WHERE run_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'completed' THEN
        INSERT INTO run_cell (run_id, figure, k1, k2, n)
        SELECT NEW.id, x.figure, x.k1, x.k2, x.n FROM registry_run_cells(NEW) x;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER programme_run_cube_insert AFTER INSERT ON programme_run
    FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION registry_cube_run();
CREATE TRIGGER programme_run_cube_update AFTER UPDATE ON programme_run
    FOR EACH ROW WHEN (OLD.status = 'completed' OR NEW.status = 'completed')
    EXECUTE FUNCTION registry_cube_run();
CREATE TRIGGER programme_run_cube_delete AFTER DELETE ON programme_run
    FOR EACH ROW WHEN (OLD.status = 'completed') EXECUTE FUNCTION registry_cube_run();

-- An outcome row changed: its run's cells without the old row, then with the new one. The
-- run's cells are read with programme_outcome as it is now (after the change), so the old
-- row's cells are taken away by hand.
CREATE FUNCTION registry_cube_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    run programme_run;
BEGIN
    SELECT * INTO run FROM programme_run
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.run_id ELSE NEW.run_id END
      AND status = 'completed';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    DELETE FROM run_cell WHERE run_id = run.id AND figure = 'outcome';
    INSERT INTO run_cell (run_id, figure, k1, k2, n)
    SELECT run.id, x.figure, x.k1, x.k2, x.n FROM registry_run_cells(run) x
    WHERE x.figure = 'outcome';
    INSERT INTO delivery_cube AS c (grain, ends_on, variant, figure, k1, k2, n, runs)
    SELECT g.grain, CASE g.grain WHEN 'd' THEN run.ends_on
                    ELSE date_trunc('month', run.ends_on::timestamp)::date END,
           run.variant, 'outcome', d.m, d.k, sum(d.n), sum(d.r)
    FROM (SELECT OLD.measure_id::text AS m, v.k, -v.n AS n, -1 AS r
          FROM (VALUES ('runs', 1::float8), ('n', OLD.n), ('pre', OLD.sum_pre),
                       ('post', OLD.sum_post), ('d', OLD.sum_d), ('d2', OLD.sum_d2),
                       ('pre_only', OLD.pre_only), ('post_only', OLD.post_only)) v (k, n)
          WHERE TG_OP <> 'INSERT'
          UNION ALL
          SELECT NEW.measure_id::text, v.k, v.n, 1
          FROM (VALUES ('runs', 1::float8), ('n', NEW.n), ('pre', NEW.sum_pre),
                       ('post', NEW.sum_post), ('d', NEW.sum_d), ('d2', NEW.sum_d2),
                       ('pre_only', NEW.pre_only), ('post_only', NEW.post_only)) v (k, n)
          WHERE TG_OP <> 'DELETE') d,
         (VALUES ('d'::"char"), ('m'::"char")) g (grain)
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(d.n) <> 0 OR sum(d.r) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grain, ends_on, variant, figure, k1, k2)
    DO UPDATE SET n = c.n + excluded.n, runs = c.runs + excluded.runs;
    RETURN NULL;
END
$$;

CREATE TRIGGER programme_outcome_cube AFTER INSERT OR UPDATE OR DELETE ON programme_outcome
    FOR EACH ROW EXECUTE FUNCTION registry_cube_outcome();

-- Summed again from the runs: at this migration, and after a TRUNCATE (which fires no row
-- trigger).
CREATE FUNCTION registry_cube_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM run_cell;
    INSERT INTO run_cell (run_id, figure, k1, k2, n)
    SELECT p.id, x.figure, x.k1, x.k2, x.n
    FROM programme_run p, registry_run_cells(p) x
    WHERE p.status = 'completed';
    DELETE FROM delivery_cube;
    INSERT INTO delivery_cube (grain, ends_on, variant, figure, k1, k2, n, runs)
    SELECT g.grain, CASE g.grain WHEN 'd' THEN p.ends_on
                    ELSE date_trunc('month', p.ends_on::timestamp)::date END,
           p.variant, x.figure, x.k1, x.k2, sum(x.n), count(*)
    FROM programme_run p, registry_run_cells(p) x, (VALUES ('d'::"char"), ('m'::"char")) g (grain)
    WHERE p.status = 'completed'
    GROUP BY 1, 2, 3, 4, 5, 6;
$$;

CREATE FUNCTION registry_cube_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_cube_rebuild();
    RETURN NULL;
END
$$;

CREATE TRIGGER programme_run_cube_truncate AFTER TRUNCATE ON programme_run
    FOR EACH STATEMENT EXECUTE FUNCTION registry_cube_truncated();
CREATE TRIGGER programme_outcome_cube_truncate AFTER TRUNCATE ON programme_outcome
    FOR EACH STATEMENT EXECUTE FUNCTION registry_cube_truncated();

-- The runs in progress of a period (the report counts them beside the cube's figures).
CREATE INDEX programme_run_running_ends_idx ON programme_run (ends_on) WHERE status = 'running';

SELECT registry_cube_rebuild();
