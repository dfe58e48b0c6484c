-- 0013: what each programme run delivered, as aggregates only (no family's personal data), and the
-- reference data its breakdowns are counted by.
--
-- reference_item holds the licensing body's lists: where referrals came from, where families were
-- referred on to, carers' relationships, genders, children's age bands and the feedback
-- statements. A retired item (active false) is kept, so the records that counted by it still
-- read, but new records may no longer use it.
CREATE TABLE reference_item (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       text NOT NULL CHECK (kind IN ('referral_source', 'onward_referral',
                                             'carer_relationship', 'gender', 'age_band',
                                             'feedback_statement')),
    code       text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_]{0,39}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    position   integer NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    UNIQUE (kind, code)
);

INSERT INTO reference_item (kind, code, name, position)
SELECT v.kind, v.code, v.name, v.position
FROM (VALUES
  ('referral_source', 'self', 'Self', 1),
  ('referral_source', 'family_member', 'Family member', 2),
  ('referral_source', 'childrens_social_care', 'Children''s social care', 3),
  ('referral_source', 'child_protection_plan', 'Child protection or child in need plan', 4),
  ('referral_source', 'drug_alcohol_treatment', 'Drug and alcohol treatment', 5),
  ('referral_source', 'young_peoples_service', 'Young people''s service', 6),
  ('referral_source', 'school', 'School', 7),
  ('referral_source', 'health', 'Health (GP, health visitor)', 8),
  ('referral_source', 'criminal_justice', 'Criminal justice (police, probation, prison)', 9),
  ('referral_source', 'voluntary_organisation', 'Voluntary organisation', 10),
  ('referral_source', 'other', 'Other', 11),
  ('onward_referral', 'domestic_abuse', 'Domestic abuse service', 1),
  ('onward_referral', 'advice', 'Advice (e.g. Citizens Advice)', 2),
  ('onward_referral', 'counselling_trauma', 'Counselling or trauma support', 3),
  ('onward_referral', 'drug_alcohol_treatment', 'Drug and alcohol treatment', 4),
  ('onward_referral', 'mental_health', 'Mental health', 5),
  ('onward_referral', 'housing', 'Housing', 6),
  ('onward_referral', 'further_mpact', 'A further M-PACT programme', 7),
  ('onward_referral', 'other', 'Other', 8),
  ('carer_relationship', 'mother', 'Mother', 1),
  ('carer_relationship', 'father', 'Father', 2),
  ('carer_relationship', 'grandmother', 'Grandmother', 3),
  ('carer_relationship', 'grandfather', 'Grandfather', 4),
  ('carer_relationship', 'other_relative', 'Other relative (aunt, uncle, sibling)', 5),
  ('carer_relationship', 'step_parent_partner', 'Step-parent or partner', 6),
  ('carer_relationship', 'foster_kinship', 'Foster or kinship carer', 7),
  ('carer_relationship', 'other', 'Other', 8),
  ('gender', 'female', 'Female', 1),
  ('gender', 'male', 'Male', 2),
  ('gender', 'another', 'Another gender', 3),
  ('gender', 'not_given', 'Not given', 4),
  ('age_band', '8_11', '8 to 11', 1),
  ('age_band', '12_14', '12 to 14', 2),
  ('age_band', '15_17', '15 to 17', 3),
  ('feedback_statement', 'wellbeing_improved', 'My wellbeing has improved', 1),
  ('feedback_statement', 'more_able_to_parent', 'I feel more able to parent', 2),
  ('feedback_statement', 'child_understands_addiction', 'My child understands addiction better',
   3),
  ('feedback_statement', 'family_gets_on_better', 'Our family gets on better', 4),
  ('feedback_statement', 'would_recommend', 'I would recommend M-PACT', 5)
) AS v (kind, code, name, position);

-- The measures a run's before/after scores are given on. Data, not code: the licensing body adds
-- and retires them.
CREATE TABLE outcome_measure (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code             text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_]{0,39}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    respondent       text NOT NULL CHECK (respondent IN ('adult', 'child', 'family')),
    scale_min        double precision NOT NULL,
    scale_max        double precision NOT NULL,
    higher_is_better boolean NOT NULL,
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          integer NOT NULL DEFAULT 1,
    CHECK (scale_max > scale_min)
);

INSERT INTO outcome_measure (code, name, respondent, scale_min, scale_max, higher_is_better)
VALUES
  ('family_functioning', 'Family functioning (general functioning: 1 healthy to 4 unhealthy)',
   'family', 1, 4, false),
  ('problem_severity', 'Perceived severity of the problem (0 none to 10 severe)', 'adult', 0, 10,
   false),
  ('family_managing', 'How well the family feels it is managing (0 not at all to 10 very well)',
   'family', 0, 10, true),
  ('coping_efficacy', 'Coping efficacy (1 low to 5 high)', 'adult', 1, 5, true),
  ('parental_wellbeing', 'Parental wellbeing (WEMWBS, 14 to 70)', 'adult', 14, 70, true);

-- The delivery record of a run, beside the completion figures it already had (0002): families
-- referred and assessed, the cost, and the breakdowns, each a JSON object of counts keyed by a
-- reference_item code (adults_by_relationship and children_by_age_band: code -> gender -> count;
-- feedback: statement -> {agree, neither, disagree}). Checked by server/delivery.c.
ALTER TABLE programme_run
    ADD COLUMN families_referred      integer CHECK (families_referred >= 0),
    ADD COLUMN families_assessed      integer CHECK (families_assessed >= 0),
    ADD COLUMN delivery_cost_gbp      integer CHECK (delivery_cost_gbp >= 0),
    ADD COLUMN referrals_by_source    jsonb,
    ADD COLUMN onward_referrals       jsonb,
    ADD COLUMN adults_by_relationship jsonb,
    ADD COLUMN children_by_age_band   jsonb,
    ADD COLUMN feedback               jsonb;

-- One measure's scores of one run, as sufficient statistics only (server/stats.c): the pairs
-- themselves are never stored. d = after - before.
CREATE TABLE programme_outcome (
    run_id     uuid NOT NULL REFERENCES programme_run (id),
    measure_id uuid NOT NULL REFERENCES outcome_measure (id),
    n          integer NOT NULL CHECK (n >= 0),
    sum_pre    double precision NOT NULL,
    sum_post   double precision NOT NULL,
    sum_d      double precision NOT NULL,
    sum_d2     double precision NOT NULL CHECK (sum_d2 >= 0),
    pre_only   integer NOT NULL DEFAULT 0 CHECK (pre_only >= 0),
    post_only  integer NOT NULL DEFAULT 0 CHECK (post_only >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (run_id, measure_id)
);
CREATE INDEX programme_outcome_measure_idx ON programme_outcome (measure_id);
