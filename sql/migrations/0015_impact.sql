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

-- The licensing body's totals for the years before the registry (the public impact page shows
-- them beside the registry's own, marked as such), edited at /v1/settings/history. One row.
CREATE TABLE impact_history (
    id                    integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    since_year            integer NOT NULL CHECK (since_year BETWEEN 1990 AND 2100),
    as_of                 date NOT NULL,
    practitioners_trained integer NOT NULL CHECK (practitioners_trained >= 0),
    participants          integer NOT NULL CHECK (participants >= 0),
    families              integer NOT NULL CHECK (families >= 0),
    locations             integer NOT NULL CHECK (locations >= 0),
    note                  text NOT NULL CHECK (length(note) BETWEEN 1 AND 500),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               integer NOT NULL DEFAULT 1
);

INSERT INTO impact_history (since_year, as_of, practitioners_trained, participants, families,
                            locations, note)
VALUES (2006, DATE '2018-12-31', 446, 2500, 700, 50,
        'The licensing body''s records before the registry: practitioners trained by the end of'
        ' 2018, and participants, families and locations since 2006');
