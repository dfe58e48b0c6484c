-- 0016: the commissioner role (issue 16): a council's Public Health team, made by the licensing
-- body, bound to one or more local authority districts (local_authority codes, migration 0014)
-- rather than to an organisation. Read-only: the router lets a commissioner reach only the
-- routes marked for it (server/router.c), and reports answer it with small numbers withheld.
ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE app_user DROP CONSTRAINT app_user_check;
ALTER TABLE app_user
    ADD COLUMN areas text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT app_user_role_check
        CHECK (role IN ('admin', 'org_admin', 'org_staff', 'commissioner')),
    ADD CONSTRAINT app_user_organisation_check
        CHECK ((role IN ('admin', 'commissioner')) = (organisation_id IS NULL)),
    ADD CONSTRAINT app_user_areas_check
        CHECK ((role = 'commissioner') = (cardinality(areas) > 0));
