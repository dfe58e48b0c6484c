-- 0010: programme runs follow the calendar and the facilitators' standing.
--
-- facilitator_ineligible_from answers on which date in a run a facilitator stops being eligible
-- to deliver it for the run's organisation; programme_at_risk names the facilitators of a run
-- that has not ended whose stored status is suspended or withdrawn. Both are read by the
-- programme room, the public finder, the expiring report and the webhook enqueue, so they ask
-- the same question the same way.

-- The first date in [from_date, to_date] on which facilitator `fid` is not eligible
-- (facilitator_eligibility) to deliver for organisation `org`, with the reason codes
-- (employed_by_another_organisation when eligible for someone else); NULLs when eligible on
-- every day. Eligibility only changes on the dates its records name, so only those dates (and
-- from_date) are read, however long the run.
CREATE FUNCTION facilitator_ineligible_from(fid uuid, org uuid, from_date date, to_date date,
                                            OUT on_date date, OUT reasons text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d date;
    e record;
BEGIN
    FOR d IN
        SELECT c.d FROM (
            SELECT from_date AS d
            UNION SELECT h.effective_on FROM facilitator_status_history h
                  WHERE h.facilitator_id = fid
            UNION SELECT h.accredited_on FROM facilitator_status_history h
                  WHERE h.facilitator_id = fid AND h.accredited_on IS NOT NULL
            UNION SELECT h.accredited_until + 1 FROM facilitator_status_history h
                  WHERE h.facilitator_id = fid AND h.accredited_until IS NOT NULL
            UNION SELECT m.started_on FROM facilitator_employment m WHERE m.facilitator_id = fid
            UNION SELECT m.ended_on + 1 FROM facilitator_employment m
                  WHERE m.facilitator_id = fid AND m.ended_on IS NOT NULL
            UNION SELECT x.d FROM facilitator_employment m
                  JOIN licence l ON l.organisation_id = m.organisation_id
                  JOIN licence_status_history lh ON lh.licence_id = l.id
                  CROSS JOIN LATERAL (VALUES (lh.valid_from), (lh.valid_until + 1),
                                             ((lh.changed_at AT TIME ZONE 'Europe/London')::date))
                                     AS x (d)
                  WHERE m.facilitator_id = fid
        ) c
        WHERE c.d BETWEEN from_date AND to_date
        ORDER BY c.d
    LOOP
        SELECT * INTO e FROM facilitator_eligibility(fid, d);
        reasons := e.reasons;
        IF e.organisation_id IS NOT NULL AND e.organisation_id <> org THEN
            reasons := array_append(reasons, 'employed_by_another_organisation');
        END IF;
        IF cardinality(reasons) > 0 THEN
            on_date := d;
            RETURN;
        END IF;
    END LOOP;
    reasons := NULL;
END
$$;

-- The facilitators who put run `run` at risk: [{facilitator, reason}] for each of its
-- facilitators whose stored status is suspended or withdrawn, while the run is planned,
-- recruiting or running and has not ended (UK calendar); [] otherwise. Computed on read, so it
-- clears itself when the facilitator is replaced, reinstated or the run cancelled.
CREATE FUNCTION programme_at_risk(run uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('facilitator', f.registration_number,
                                                 'reason', f.status)
                              ORDER BY f.registration_number), '[]'::jsonb)
    FROM programme_run r
    JOIN programme_facilitator pf ON pf.run_id = r.id
    JOIN facilitator f ON f.id = pf.facilitator_id
    WHERE r.id = run
      AND r.status IN ('planned', 'recruiting', 'running')
      AND r.ends_on >= registry_today()
      AND f.status IN ('suspended', 'withdrawn')
$$;

-- Why a run's status was changed ahead of the calendar by the licensing body (NULL otherwise).
ALTER TABLE programme_run ADD COLUMN status_reason text
    CHECK (status_reason IS NULL OR char_length(status_reason) BETWEEN 1 AND 500);
