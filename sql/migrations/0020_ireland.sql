-- 0020: the Republic of Ireland. Organisations and sites have a country (GB, or IE; Northern
-- Ireland is GB with a BT postcode) and a postal code in that country's form: a UK postcode for
-- GB, an Eircode for IE (routing key and unique identifier, "D02 X285"). Irish sites record their
-- county (ISO 3166-2:IE code, the list seeded here), which stands where a UK site's local
-- authority district stands (its postcode's): in the site's local_authority, the locations list's
-- filter and the delivery report (server/locations.c, server/impact.c).
--
-- server/validate.c normalises both forms and server/organisations.c / locations.c check that the
-- form matches the country (422 naming the field); the checks below are the last word.

-- The 26 counties of the Republic of Ireland.
CREATE TABLE irish_county (
    code text PRIMARY KEY CHECK (code ~ '^IE-[A-Z]{1,2}$'),
    name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100)
);
INSERT INTO irish_county (code, name) VALUES
    ('IE-CW', 'Carlow'), ('IE-CN', 'Cavan'), ('IE-CE', 'Clare'), ('IE-CO', 'Cork'),
    ('IE-DL', 'Donegal'), ('IE-D', 'Dublin'), ('IE-G', 'Galway'), ('IE-KY', 'Kerry'),
    ('IE-KE', 'Kildare'), ('IE-KK', 'Kilkenny'), ('IE-LS', 'Laois'), ('IE-LM', 'Leitrim'),
    ('IE-LK', 'Limerick'), ('IE-LD', 'Longford'), ('IE-LH', 'Louth'), ('IE-MO', 'Mayo'),
    ('IE-MH', 'Meath'), ('IE-MN', 'Monaghan'), ('IE-OY', 'Offaly'), ('IE-RN', 'Roscommon'),
    ('IE-SO', 'Sligo'), ('IE-TA', 'Tipperary'), ('IE-WD', 'Waterford'), ('IE-WH', 'Westmeath'),
    ('IE-WX', 'Wexford'), ('IE-WW', 'Wicklow');

-- The postal code of each form, as validate.c writes it.
CREATE FUNCTION registry_postal_code_ok(country text, code text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE country
           WHEN 'GB' THEN code ~ '^([A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}|GIR 0AA)$'
           WHEN 'IE' THEN code ~ '^([ACDEFHKNPRTVWXY][0-9]{2}|D6W) [0-9ACDEFHKNPRTVWXY]{4}$'
           ELSE false END
$$;

ALTER TABLE organisation
    DROP CONSTRAINT organisation_postcode_check,
    ADD COLUMN country text NOT NULL DEFAULT 'GB' CHECK (country IN ('GB', 'IE')),
    ADD CONSTRAINT organisation_postal_code_check CHECK (registry_postal_code_ok(country, postcode));

ALTER TABLE location
    DROP CONSTRAINT location_postcode_check,
    ADD COLUMN country text NOT NULL DEFAULT 'GB' CHECK (country IN ('GB', 'IE')),
    ADD COLUMN county text REFERENCES irish_county (code),
    ADD CONSTRAINT location_postal_code_check CHECK (registry_postal_code_ok(country, postcode)),
    ADD CONSTRAINT location_county_check CHECK ((country = 'IE') = (county IS NOT NULL));

CREATE INDEX location_county_idx ON location (county) WHERE county IS NOT NULL;
