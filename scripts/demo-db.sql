-- catalog-sync demo database: a retail bank (schema bank) and a web shop
-- (schema shop), generated entirely in SQL, deterministic (setseed), no
-- download.  Load into an empty database:
--   psql -v ON_ERROR_STOP=1 -d demo -f scripts/demo-db.sql
--
-- Primary keys are declared; foreign keys are NOT (finding them is the
-- job of the fk pass), including role-named ones: employees.manager_id ->
-- employees.id, transactions.counterparty_account_id -> accounts.id,
-- shipments.ship_via -> carriers.id.
--
-- Facts the tests rely on:
--   * planted PII (must never appear in logs or non-raw aspects), on
--     bank.customers.id = 1777 and its account/card (both id 1777):
--       email  planted.canary.7731@example.org
--       phone  +33 6 12 34 56 78
--       card   4539148803436467            (Luhn-valid Visa)
--       IBAN   FR7630006000011234567890189  (mod-97 valid)
--   * bank.customers.national_id is NULL in exactly 25 % of the rows
--     (id % 4 = 0: 750 of 3000).
--   * shop.shipments.delivered_at is NULL in exactly 10 % (id % 10 = 0).
--   * row counts: bank.branches 40, employees 400, customers 3000,
--     accounts 4000, cards 3500, transactions 20000; shop.suppliers 60,
--     products 800, carriers 8, customers 2500, orders 6000,
--     order_items 15000, shipments 5500, reviews 2000.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0; -- keep random() order stable
SET TIME ZONE 'UTC';

DROP SCHEMA IF EXISTS bank CASCADE;
DROP SCHEMA IF EXISTS shop CASCADE;
DROP SCHEMA IF EXISTS demo_gen CASCADE;
CREATE SCHEMA bank;
CREATE SCHEMA shop;
CREATE SCHEMA demo_gen; -- generator helpers, dropped at the end

SELECT setseed(0.42) AS seeded \gset

-- ---------------------------------------------------------------- helpers
CREATE FUNCTION demo_gen.pick(a text[]) RETURNS text
LANGUAGE sql VOLATILE AS $$ SELECT a[1 + floor(random() * array_length(a, 1))::int] $$;

CREATE FUNCTION demo_gen.digits(n int) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE s text := '';
BEGIN
  FOR i IN 1..n LOOP s := s || floor(random() * 10)::int::text; END LOOP;
  RETURN s;
END $$;

-- IBAN from country code and BBAN: ISO 13616 check digits (mod 97).
CREATE FUNCTION demo_gen.iban(cc text, bban text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE s text := upper(bban || cc || '00'); n text := ''; ch text;
BEGIN
  FOREACH ch IN ARRAY regexp_split_to_array(s, '') LOOP
    n := n || CASE WHEN ch ~ '[0-9]' THEN ch ELSE (ascii(ch) - 55)::text END;
  END LOOP;
  RETURN cc || lpad((98 - (n::numeric % 97))::int::text, 2, '0') || bban;
END $$;

-- A random valid BBAN for one of FR, DE, ES, IT, NL, BE.
CREATE FUNCTION demo_gen.bban(cc text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE acct text;
BEGIN
  CASE cc
  WHEN 'FR' THEN RETURN demo_gen.pick(ARRAY['30006','30004','10207','20041','30003'])
                  || demo_gen.digits(5) || demo_gen.digits(11) || demo_gen.digits(2);
  WHEN 'DE' THEN RETURN demo_gen.pick(ARRAY['37040044','50010517','10070000','20050550'])
                  || demo_gen.digits(10);
  WHEN 'ES' THEN RETURN demo_gen.pick(ARRAY['2100','0049','0182','2038'])
                  || demo_gen.digits(4) || demo_gen.digits(2) || demo_gen.digits(10);
  WHEN 'IT' THEN RETURN chr(65 + floor(random() * 26)::int)
                  || demo_gen.pick(ARRAY['03069','02008','05034','03062'])
                  || demo_gen.digits(5) || demo_gen.digits(12);
  WHEN 'NL' THEN RETURN demo_gen.pick(ARRAY['ABNA','INGB','RABO','SNSB']) || demo_gen.digits(10);
  ELSE -- BE: 3 bank + 7 account digits + national mod-97 check
    acct := demo_gen.pick(ARRAY['001','068','310','363']) || demo_gen.digits(7);
    RETURN acct || lpad(coalesce(nullif(acct::bigint % 97, 0), 97)::text, 2, '0');
  END CASE;
END $$;

-- Completes a card number with its Luhn check digit.
CREATE FUNCTION demo_gen.luhn(partial text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE total int := 0; d int; len int := length(partial);
BEGIN
  FOR i IN 1..len LOOP
    d := substr(partial, len - i + 1, 1)::int;
    IF i % 2 = 1 THEN d := d * 2; IF d > 9 THEN d := d - 9; END IF; END IF;
    total := total + d;
  END LOOP;
  RETURN partial || ((10 - total % 10) % 10)::text;
END $$;

-- Mobile numbers: about 70 % E.164, the rest in national format.
CREATE FUNCTION demo_gen.phone(cc text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE e164 boolean := random() < 0.7; d text := demo_gen.digits(10);
BEGIN
  CASE cc
  WHEN 'FR' THEN RETURN CASE WHEN e164 THEN '+33 6 ' ELSE '06 ' END
      || substr(d,1,2) || ' ' || substr(d,3,2) || ' ' || substr(d,5,2) || ' ' || substr(d,7,2);
  WHEN 'DE' THEN RETURN CASE WHEN e164 THEN '+49 151 ' ELSE '0151 ' END || substr(d,1,8);
  WHEN 'ES' THEN RETURN CASE WHEN e164 THEN '+34 6' ELSE '6' END
      || substr(d,1,2) || ' ' || substr(d,3,3) || ' ' || substr(d,6,3);
  WHEN 'IT' THEN RETURN CASE WHEN e164 THEN '+39 3' ELSE '3' END
      || substr(d,1,2) || ' ' || substr(d,3,3) || ' ' || substr(d,6,4);
  WHEN 'NL' THEN RETURN CASE WHEN e164 THEN '+31 6 ' ELSE '06-' END || substr(d,1,8);
  WHEN 'BE' THEN RETURN CASE WHEN e164 THEN '+32 47' ELSE '047' END
      || substr(d,1,1) || ' ' || substr(d,2,2) || ' ' || substr(d,4,2) || ' ' || substr(d,6,2);
  WHEN 'GB' THEN RETURN CASE WHEN e164 THEN '+44 7700 ' ELSE '07700 ' END || substr(d,1,6);
  ELSE RETURN CASE WHEN e164 THEN '+1 ' || (200 + substr(d,1,3)::int % 800)::text || '-555-' || substr(d,4,4)
                   ELSE '(' || (200 + substr(d,1,3)::int % 800)::text || ') 555-' || substr(d,4,4) END;
  END CASE;
END $$;

CREATE FUNCTION demo_gen.city(cc text) RETURNS text
LANGUAGE sql VOLATILE AS $$
SELECT demo_gen.pick(CASE cc
  WHEN 'FR' THEN ARRAY['Paris','Lyon','Marseille','Toulouse','Nantes','Lille','Bordeaux']
  WHEN 'DE' THEN ARRAY['Berlin','München','Hamburg','Köln','Frankfurt am Main','Leipzig']
  WHEN 'ES' THEN ARRAY['Madrid','Barcelona','Valencia','Sevilla','Málaga','Bilbao']
  WHEN 'IT' THEN ARRAY['Roma','Milano','Napoli','Torino','Bologna','Firenze']
  WHEN 'NL' THEN ARRAY['Amsterdam','Rotterdam','Utrecht','Den Haag','Eindhoven']
  WHEN 'BE' THEN ARRAY['Bruxelles','Antwerpen','Gent','Liège','Brugge']
  WHEN 'GB' THEN ARRAY['London','Manchester','Bristol','Leeds','Edinburgh']
  ELSE ARRAY['New York','San Francisco','Chicago','Austin','Boston','Seattle'] END) $$;

CREATE FUNCTION demo_gen.postcode(cc text) RETURNS text
LANGUAGE sql VOLATILE AS $$
SELECT CASE cc
  WHEN 'NL' THEN demo_gen.digits(4) || ' ' || chr(65 + floor(random()*26)::int) || chr(65 + floor(random()*26)::int)
  WHEN 'BE' THEN (1000 + floor(random() * 8999)::int)::text
  WHEN 'GB' THEN demo_gen.pick(ARRAY['SW1A','EC2V','M1','BS1','LS2','EH1']) || ' '
                 || demo_gen.digits(1) || chr(65 + floor(random()*26)::int) || chr(65 + floor(random()*26)::int)
  ELSE lpad((1000 + floor(random() * 98000)::int)::text, 5, '0') END $$;

CREATE FUNCTION demo_gen.street(cc text) RETURNS text
LANGUAGE sql VOLATILE AS $$
SELECT CASE WHEN cc IN ('FR','BE') THEN (1 + floor(random()*120)::int)::text || ' '
              || demo_gen.pick(ARRAY['rue de la Paix','avenue Victor Hugo','rue Neuve','boulevard Voltaire','place du Marché'])
            WHEN cc IN ('DE','NL') THEN demo_gen.pick(ARRAY['Hauptstraße','Bahnhofstraße','Kerkstraat','Schulweg','Dorpsstraat'])
              || ' ' || (1 + floor(random()*120)::int)::text
            WHEN cc IN ('ES','IT') THEN demo_gen.pick(ARRAY['Calle Mayor','Via Roma','Gran Vía','Via Garibaldi','Calle de Alcalá'])
              || ', ' || (1 + floor(random()*120)::int)::text
            ELSE (1 + floor(random()*2000)::int)::text || ' '
              || demo_gen.pick(ARRAY['High Street','Main Street','Oak Avenue','Station Road','Park Lane']) END $$;

CREATE FUNCTION demo_gen.national_id(cc text) RETURNS text
LANGUAGE sql VOLATILE AS $$
SELECT CASE cc
  WHEN 'FR' THEN demo_gen.pick(ARRAY['1','2']) || demo_gen.digits(14)
  WHEN 'ES' THEN demo_gen.digits(8) || chr(65 + floor(random()*26)::int)
  WHEN 'US' THEN demo_gen.digits(3) || '-' || demo_gen.digits(2) || '-' || demo_gen.digits(4)
  WHEN 'GB' THEN 'QQ' || demo_gen.digits(6) || 'C'
  ELSE cc || demo_gen.digits(9) END $$;

CREATE FUNCTION demo_gen.ascii_name(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT translate(lower(s), 'éèëêàâäöüïîôçñßøåáíóú ''', 'eeeeaaaouiiocnsoaaiou') $$;

CREATE TABLE demo_gen.first_names AS SELECT unnest(ARRAY[
  'Camille','Louis','Chloé','Hugo','Léa','Jules','Manon','Lucas','Élodie','Théo',
  'Lukas','Anna','Jonas','Lea','Felix','Marie','Jürgen','Sophie','Maximilian','Hannah',
  'Lucía','Hugo','Martina','Pablo','Sofía','Álvaro','Carmen','Javier',
  'Giulia','Francesco','Chiara','Alessandro','Sofia','Lorenzo','Giorgia',
  'Daan','Emma','Sem','Julia','Bram','Tess','Noah','Olivia','Liam','Amelia',
  'James','Isla','Oliver','Ava','Ethan','Mia','Mason','Zoë','Søren','Anaïs']) AS v;
CREATE TABLE demo_gen.last_names AS SELECT unnest(ARRAY[
  'Martin','Bernard','Dubois','Thomas','Robert','Richard','Petit','Durand','Lefèvre','Moreau',
  'Müller','Schmidt','Schneider','Fischer','Weber','Meyer','Wagner','Becker','Schäfer',
  'García','Fernández','González','Rodríguez','López','Martínez','Sánchez','Pérez',
  'Rossi','Russo','Ferrari','Esposito','Bianchi','Romano','Colombo','Ricci',
  'de Jong','Jansen','de Vries','van den Berg','Bakker','Visser','Peeters','Janssens','Maes',
  'Smith','Jones','Williams','Brown','Taylor','Johnson','Miller','Davis','O''Brien']) AS v;
CREATE FUNCTION demo_gen.first_name() RETURNS text LANGUAGE sql VOLATILE AS
$$ SELECT demo_gen.pick((SELECT array_agg(v ORDER BY v) FROM demo_gen.first_names)) $$;
CREATE FUNCTION demo_gen.last_name() RETURNS text LANGUAGE sql VOLATILE AS
$$ SELECT demo_gen.pick((SELECT array_agg(v ORDER BY v) FROM demo_gen.last_names)) $$;

-- ------------------------------------------------------------------ bank
CREATE TABLE bank.branches (
  id          integer PRIMARY KEY,
  code        varchar(8) NOT NULL UNIQUE,
  name        text NOT NULL,
  address     text,
  postcode    varchar(10),
  city        text NOT NULL,
  country     char(2) NOT NULL,
  opened_on   date NOT NULL
);
COMMENT ON TABLE bank.branches IS 'Physical bank branches';
COMMENT ON COLUMN bank.branches.code IS 'Internal branch code';

INSERT INTO bank.branches
SELECT g, 'BR' || lpad(g::text, 4, '0'), 'Agence ' || c.city, demo_gen.street(c.cc),
       demo_gen.postcode(c.cc), c.city, c.cc, date '1970-01-01' + floor(random() * 18000)::int
FROM generate_series(1, 40) g
CROSS JOIN LATERAL (SELECT cc, demo_gen.city(cc) AS city FROM (SELECT
  (ARRAY['FR','DE','ES','IT','NL','BE'])[1 + g % 6] AS cc) x OFFSET 0) c;

CREATE TABLE bank.employees (
  id          integer PRIMARY KEY,
  first_name  text NOT NULL,
  last_name   text NOT NULL,
  email       text NOT NULL,
  job_title   text NOT NULL,
  manager_id  integer,          -- role-named reference to employees.id
  branch_id   integer NOT NULL,
  hired_on    date NOT NULL,
  salary      numeric(10,2) NOT NULL
);
COMMENT ON TABLE bank.employees IS 'Bank staff and their reporting line';
COMMENT ON COLUMN bank.employees.manager_id IS 'The employee this one reports to';

INSERT INTO bank.employees
SELECT g, fn, ln, demo_gen.ascii_name(fn) || '.' || demo_gen.ascii_name(ln) || g || '@bank.example',
       CASE WHEN g = 1 THEN 'Chief Executive Officer' WHEN g <= 40 THEN 'Branch Manager'
            ELSE demo_gen.pick(ARRAY['Teller','Advisor','Loan Officer','Analyst','Compliance Officer']) END,
       CASE WHEN g = 1 THEN NULL WHEN g <= 40 THEN 1 ELSE 2 + g % 39 END,
       1 + (g - 1) % 40,
       date '2000-01-01' + floor(random() * 8500)::int,
       round((28000 + random() * 90000)::numeric, 2)
FROM (SELECT g, demo_gen.first_name() AS fn, demo_gen.last_name() AS ln
      FROM generate_series(1, 400) g OFFSET 0) s;

CREATE TABLE bank.customers (
  id            integer PRIMARY KEY,
  first_name    text NOT NULL,
  last_name     text NOT NULL,
  email         text,
  phone         text,
  date_of_birth date NOT NULL,
  address       text,
  postcode      varchar(10),
  city          text,
  country       char(2) NOT NULL,
  national_id   text,
  created_at    timestamptz NOT NULL
);
COMMENT ON TABLE bank.customers IS 'Retail banking customers';
COMMENT ON COLUMN bank.customers.national_id IS 'National identity number, when collected';

INSERT INTO bank.customers
SELECT g, fn, ln,
       demo_gen.ascii_name(fn) || '.' || demo_gen.ascii_name(ln) || (g % 97)::text || '@'
         || demo_gen.pick(ARRAY['gmail.com','yahoo.fr','web.de','outlook.com','libero.it','telefonica.net','ziggo.nl','example.org']),
       demo_gen.phone(cc),
       date '1940-01-01' + floor(random() * 23000)::int,
       demo_gen.street(cc), demo_gen.postcode(cc), demo_gen.city(cc), cc,
       CASE WHEN g % 4 = 0 THEN NULL ELSE demo_gen.national_id(cc) END,
       timestamptz '2015-01-01 00:00:00+00' + random() * interval '3650 days'
FROM (SELECT g, demo_gen.pick(ARRAY['FR','FR','DE','DE','ES','IT','NL','BE','GB','US']) AS cc,
             demo_gen.first_name() AS fn, demo_gen.last_name() AS ln
      FROM generate_series(1, 3000) g OFFSET 0) s;

CREATE TABLE bank.accounts (
  id            integer PRIMARY KEY,
  customer_id   integer NOT NULL,
  branch_id     integer NOT NULL,
  iban          varchar(34) NOT NULL UNIQUE,
  account_type  text NOT NULL,
  currency      char(3) NOT NULL,
  balance       numeric(14,2) NOT NULL,
  opened_at     timestamptz NOT NULL,
  closed_at     timestamptz
);
COMMENT ON TABLE bank.accounts IS 'Customer accounts with their IBAN';

INSERT INTO bank.accounts
SELECT g, CASE WHEN g <= 3000 THEN g ELSE 1 + floor(random() * 3000)::int END,
       1 + floor(random() * 40)::int,
       demo_gen.iban(cc, demo_gen.bban(cc)),
       demo_gen.pick(ARRAY['checking','checking','savings','joint','business']),
       'EUR', round((random() * 25000 - 2000)::numeric, 2),
       timestamptz '2015-01-01 00:00:00+00' + random() * interval '3000 days',
       CASE WHEN random() < 0.05 THEN timestamptz '2024-01-01 00:00:00+00' + random() * interval '300 days' END
FROM (SELECT g, demo_gen.pick(ARRAY['FR','DE','ES','IT','NL','BE']) AS cc
      FROM generate_series(1, 4000) g OFFSET 0) s;

CREATE TABLE bank.cards (
  id            integer PRIMARY KEY,
  account_id    integer NOT NULL,
  card_number   varchar(19) NOT NULL UNIQUE,
  network       text NOT NULL,
  expiry        char(5) NOT NULL,     -- MM/YY
  status        text NOT NULL
);
COMMENT ON TABLE bank.cards IS 'Payment cards issued on accounts';

INSERT INTO bank.cards
SELECT g, CASE WHEN g <= 3500 THEN g END, -- one card per account 1..3500
       CASE WHEN visa THEN demo_gen.luhn('4' || demo_gen.digits(14))
            ELSE demo_gen.luhn('5' || (1 + floor(random() * 5)::int)::text || demo_gen.digits(13)) END,
       CASE WHEN visa THEN 'VISA' ELSE 'MASTERCARD' END,
       lpad((1 + floor(random() * 12)::int)::text, 2, '0') || '/' || (25 + floor(random() * 5)::int)::text,
       demo_gen.pick(ARRAY['active','active','active','blocked','expired'])
FROM (SELECT g, random() < 0.6 AS visa FROM generate_series(1, 3500) g OFFSET 0) s;

CREATE TABLE bank.transactions (
  id                       bigint PRIMARY KEY,
  account_id               integer NOT NULL,
  counterparty_account_id  integer,   -- role-named reference to accounts.id
  amount                   numeric(12,2) NOT NULL,
  currency                 char(3) NOT NULL,
  booked_at                timestamptz NOT NULL,
  description              text
);
COMMENT ON TABLE bank.transactions IS 'Booked account transactions';
COMMENT ON COLUMN bank.transactions.counterparty_account_id IS 'Internal counterparty account, for transfers';

INSERT INTO bank.transactions
SELECT g, 1 + floor(random() * 4000)::int,
       CASE WHEN kind = 'transfer' THEN 1 + floor(random() * 4000)::int END,
       round(((random() * 480 + 1) * CASE WHEN kind = 'salary' THEN 8 ELSE 1 END
              * CASE WHEN kind IN ('card','transfer','fee') THEN -1 ELSE 1 END)::numeric, 2),
       'EUR',
       timestamptz '2023-01-01 00:00:00+00' + random() * interval '730 days',
       CASE kind
         WHEN 'card' THEN 'CB ' || demo_gen.pick(ARRAY['CARREFOUR','LIDL','SNCF','AMAZON EU','REWE','MERCADONA','ESSELUNGA','ALBERT HEIJN'])
         WHEN 'transfer' THEN CASE WHEN random() < 0.15
              THEN 'Virement pour ' || demo_gen.ascii_name(demo_gen.first_name()) || '.' || demo_gen.ascii_name(demo_gen.last_name()) || '@gmail.com'
              ELSE 'Transfer ' || demo_gen.pick(ARRAY['rent','loan','gift','refund','savings']) END
         WHEN 'salary' THEN 'SALARY ' || demo_gen.pick(ARRAY['ACME SA','GLOBEX GMBH','INITECH SL','UMBRELLA SRL'])
         WHEN 'fee' THEN 'Account fee'
         ELSE NULL END
FROM (SELECT g, demo_gen.pick(ARRAY['card','card','card','card','transfer','transfer','salary','fee','other']) AS kind
      FROM generate_series(1, 20000) g OFFSET 0) s;

-- Planted PII on customer 1777, its account 1777 and card 1777.
UPDATE bank.customers SET email = 'planted.canary.7731@example.org',
       phone = '+33 6 12 34 56 78', country = 'FR', address = '12 rue de la Paix',
       postcode = '75002', city = 'Paris', national_id = '184127512345678' WHERE id = 1777;
UPDATE bank.accounts SET iban = 'FR7630006000011234567890189' WHERE id = 1777;
UPDATE bank.cards SET card_number = '4539148803436467', network = 'VISA' WHERE id = 1777;

-- ------------------------------------------------------------------ shop
CREATE TABLE shop.suppliers (
  id            integer PRIMARY KEY,
  name          text NOT NULL,
  contact_email text,
  country       char(2) NOT NULL,
  vat_number    text
);
COMMENT ON TABLE shop.suppliers IS 'Product suppliers';

INSERT INTO shop.suppliers
SELECT g, n || ' ' || demo_gen.pick(ARRAY['SA','GmbH','SL','Srl','BV','Ltd','Inc']),
       'sales@' || demo_gen.ascii_name(n) || g || '.example.com', cc,
       cc || demo_gen.digits(10)
FROM (SELECT g, demo_gen.pick(ARRAY['FR','DE','ES','IT','NL','BE','GB','US']) AS cc,
             demo_gen.pick(ARRAY['Nordwind','Solaris','Atlas','Bellavista','Kestrel','Oranje','Tramontana','Lumière']) AS n
      FROM generate_series(1, 60) g OFFSET 0) s;

CREATE TABLE shop.products (
  id            integer PRIMARY KEY,
  sku           varchar(12) NOT NULL UNIQUE,
  name          text NOT NULL,
  category      text NOT NULL,
  supplier_id   integer NOT NULL,
  unit_price    numeric(10,2) NOT NULL,
  weight_kg     double precision,
  active        boolean NOT NULL
);
COMMENT ON TABLE shop.products IS 'Catalogue of products for sale';

INSERT INTO shop.products
SELECT g, 'SKU-' || lpad(g::text, 6, '0'),
       demo_gen.pick(ARRAY['Wireless','Organic','Classic','Compact','Premium','Eco']) || ' ' || c,
       c, 1 + floor(random() * 60)::int, round((2 + random() * 400)::numeric, 2),
       CASE WHEN random() < 0.1 THEN NULL ELSE round((0.05 + random() * 20)::numeric, 3)::float8 END,
       random() < 0.9
FROM (SELECT g, demo_gen.pick(ARRAY['headphones','coffee','backpack','lamp','kettle','sneakers','notebook','blender']) AS c
      FROM generate_series(1, 800) g OFFSET 0) s;

CREATE TABLE shop.carriers (
  id    integer PRIMARY KEY,
  name  text NOT NULL,
  phone text
);
COMMENT ON TABLE shop.carriers IS 'Shipping companies';
INSERT INTO shop.carriers VALUES
  (1, 'La Poste Colissimo', '+33 1 23 45 67 89'), (2, 'DHL Paket', '+49 228 4333112'),
  (3, 'Correos Express', '+34 910 123 456'), (4, 'BRT', '+39 051 123 4567'),
  (5, 'PostNL', '+31 88 868 6868'), (6, 'bpost', '+32 2 201 23 45'),
  (7, 'Royal Mail', '+44 3457 740740'), (8, 'UPS', '+1 800-742-5877');

CREATE TABLE shop.customers (
  id          integer PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  full_name   text NOT NULL,
  phone       text,
  country     char(2) NOT NULL,
  signed_up   timestamptz NOT NULL,
  newsletter  boolean NOT NULL
);
COMMENT ON TABLE shop.customers IS 'Web shop accounts';

INSERT INTO shop.customers
SELECT g, demo_gen.ascii_name(fn) || '_' || demo_gen.ascii_name(ln) || g || '@'
            || demo_gen.pick(ARRAY['gmail.com','hotmail.com','gmx.de','orange.fr','icloud.com']),
       fn || ' ' || ln, CASE WHEN random() < 0.2 THEN NULL ELSE demo_gen.phone(cc) END, cc,
       timestamptz '2019-01-01 00:00:00+00' + random() * interval '2000 days', random() < 0.35
FROM (SELECT g, demo_gen.pick(ARRAY['FR','DE','ES','IT','NL','BE','GB','US']) AS cc,
             demo_gen.first_name() AS fn, demo_gen.last_name() AS ln
      FROM generate_series(1, 2500) g OFFSET 0) s;

CREATE TABLE shop.orders (
  id           integer PRIMARY KEY,
  customer_id  integer NOT NULL,
  ordered_at   timestamptz NOT NULL,
  status       text NOT NULL,
  total        numeric(12,2) NOT NULL
);
COMMENT ON TABLE shop.orders IS 'Customer orders';
INSERT INTO shop.orders
SELECT g, 1 + floor(random() * 2500)::int,
       timestamptz '2022-01-01 00:00:00+00' + random() * interval '1000 days',
       demo_gen.pick(ARRAY['delivered','delivered','delivered','shipped','paid','cancelled','returned']),
       0
FROM generate_series(1, 6000) g;

CREATE TABLE shop.order_items (
  id          integer PRIMARY KEY,
  order_id    integer NOT NULL,
  product_id  integer NOT NULL,
  quantity    smallint NOT NULL,
  unit_price  numeric(10,2) NOT NULL
);
COMMENT ON TABLE shop.order_items IS 'Lines of an order';
INSERT INTO shop.order_items
SELECT g, 1 + (g - 1) % 6000, p.id, 1 + floor(random() * 4)::int, p.unit_price
FROM (SELECT g, 1 + floor(random() * 800)::int AS pid FROM generate_series(1, 15000) g OFFSET 0) s
JOIN shop.products p ON p.id = s.pid;
UPDATE shop.orders o SET total = t.s
FROM (SELECT order_id, sum(quantity * unit_price) AS s FROM shop.order_items GROUP BY order_id) t
WHERE t.order_id = o.id;

CREATE TABLE shop.shipments (
  id               integer PRIMARY KEY,
  order_id         integer NOT NULL,
  ship_via         integer NOT NULL,  -- role-named reference to carriers.id
  tracking_number  text NOT NULL,
  shipped_at       timestamptz NOT NULL,
  delivered_at     timestamptz
);
COMMENT ON TABLE shop.shipments IS 'Parcels sent for orders';
COMMENT ON COLUMN shop.shipments.ship_via IS 'Carrier that ships the parcel';
INSERT INTO shop.shipments
SELECT g, g, v, CASE v WHEN 7 THEN 'RM' || demo_gen.digits(9) || 'GB'
                       WHEN 8 THEN '1Z' || upper(substr(md5(g::text), 1, 16))
                       ELSE upper(substr(md5(g::text || 'x'), 1, 4)) || demo_gen.digits(10) END,
       ts, CASE WHEN g % 10 = 0 THEN NULL ELSE ts + (1 + random() * 6) * interval '1 day' END
FROM (SELECT g, 1 + floor(random() * 8)::int AS v,
             timestamptz '2022-01-02 00:00:00+00' + random() * interval '1000 days' AS ts
      FROM generate_series(1, 5500) g OFFSET 0) s;

CREATE TABLE shop.reviews (
  id           integer PRIMARY KEY,
  product_id   integer NOT NULL,
  customer_id  integer NOT NULL,
  rating       smallint NOT NULL,
  comment      text,
  created_at   timestamptz NOT NULL
);
COMMENT ON TABLE shop.reviews IS 'Product reviews written by customers';
INSERT INTO shop.reviews
SELECT g, 1 + floor(random() * 800)::int, 1 + floor(random() * 2500)::int, r,
       CASE WHEN random() < 0.1 THEN NULL
            ELSE demo_gen.pick(CASE WHEN r >= 4 THEN ARRAY['Great product, works as described.',
                   'Arrived quickly, very happy.','Excellent qualité, je recommande !','Sehr gut, gerne wieder.',
                   'Perfecto, llegó antes de lo previsto.']
                 ELSE ARRAY['Broke after two weeks.','Not as pictured.','Colis arrivé abîmé.',
                   'Leider zu klein.','Contact me at ' || demo_gen.ascii_name(demo_gen.first_name()) || '@yahoo.com for details.'] END) END,
       timestamptz '2022-02-01 00:00:00+00' + random() * interval '900 days'
FROM (SELECT g, 1 + floor(random() * 5)::int AS r FROM generate_series(1, 2000) g OFFSET 0) s;

DROP SCHEMA demo_gen CASCADE;
ANALYZE;
