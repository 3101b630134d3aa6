-- 0013 on PostgreSQL: the triggers that fill the outbox (0013_outbox.sql).
--
-- changes_note records one change, once per transaction (leaving a brand
-- deletes several grant rows: one row says it). `SET LOCAL
-- shopkeeper.outbox = off` turns it off for a transaction: migrate-data
-- copies rows that are not changes.
CREATE FUNCTION changes_note(p_what TEXT, p_customer TEXT, p_brand TEXT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    x BIGINT := pg_current_xact_id()::text::bigint;
BEGIN
    IF coalesce(current_setting('shopkeeper.outbox', true), '') = 'off' THEN
        RETURN;
    END IF;
    INSERT INTO changes (tx, at, what, customer_id, brand_id)
    SELECT x, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           p_what, p_customer, p_brand
    WHERE NOT EXISTS (SELECT 1 FROM changes WHERE tx = x AND what = p_what
                      AND customer_id = p_customer AND brand_id IS NOT DISTINCT FROM p_brand);
END $$;

-- A row of a table with customer_id (and brand_id, where it has one)
-- changed: TG_ARGV[0] says what to tell the nodes.
CREATE FUNCTION changes_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r JSONB;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := to_jsonb(OLD);
    ELSE
        r := to_jsonb(NEW);
    END IF;
    PERFORM changes_note(TG_ARGV[0], r->>'customer_id', r->>'brand_id');
    RETURN NULL;
END $$;

-- devices: registered or deleted (a node reloads the customer's devices)
CREATE TRIGGER devices_changes AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION changes_row('devices');
-- the current grants (membership_put, membership_leave by cascade), the
-- membership itself (leaving), the answers and don't-list shown on a card
CREATE TRIGGER membership_purposes_changes AFTER INSERT OR UPDATE OR DELETE
    ON membership_purposes FOR EACH ROW EXECUTE FUNCTION changes_row('changed');
CREATE TRIGGER memberships_changes AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION changes_row('changed');
CREATE TRIGGER preferences_changes AFTER INSERT OR UPDATE OR DELETE ON preferences
    FOR EACH ROW EXECUTE FUNCTION changes_row('changed');

-- the name on the card
CREATE FUNCTION changes_customer_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM changes_note('changed', NEW.id, NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER customers_changes_renamed AFTER UPDATE OF name_enc ON customers
    FOR EACH ROW WHEN (OLD.name_enc IS DISTINCT FROM NEW.name_enc)
    EXECUTE FUNCTION changes_customer_renamed();

-- Erasure (customer_erase deletes the customer row last): the rows this
-- transaction wrote with the id (its devices, its grants) go, and one row
-- tells the nodes, by the id's SHA-256, to drop whatever they hold of the
-- customer. No row keeps the id of an erased customer.
CREATE FUNCTION changes_customer_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM changes WHERE customer_id = OLD.id;
    PERFORM changes_note('erased', encode(sha256(convert_to(OLD.id, 'UTF8')), 'hex'), NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER customers_changes_erased AFTER DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION changes_customer_erased();
