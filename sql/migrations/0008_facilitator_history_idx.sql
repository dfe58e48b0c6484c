-- 0008: the employment history of one facilitator by index. The full record (GET
-- /v1/facilitators/{id} for the licensing body and the employer) aggregates every employment of
-- the facilitator; until now only the current one (facilitator_employment_current_idx, partial)
-- and the employer's (facilitator_employment_org_idx) were indexed, so the history read the
-- whole table (2.1 ms a record at 5,000 facilitators in the benchmark's data).
CREATE INDEX facilitator_employment_facilitator_idx
    ON facilitator_employment (facilitator_id, started_on);
