-- 0015: the parameters of the impact report's SROI estimate (server/impact.c), edited by the
-- licensing body at /v1/settings/sroi. One row.
CREATE TABLE sroi_setting (
    id                     integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    savings_per_family_gbp integer NOT NULL CHECK (savings_per_family_gbp >= 0),
    source                 text NOT NULL CHECK (length(source) BETWEEN 1 AND 500),
    year                   integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1
);

INSERT INTO sroi_setting (savings_per_family_gbp, source, year)
VALUES (2213, 'M-PACT independent social return on investment study: £2,213 of savings per family'
              ' against a cost of £802', 2014);

CREATE INDEX programme_run_ends_idx ON programme_run (ends_on) WHERE status IN ('running', 'completed');
