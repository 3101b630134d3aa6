-- 0005 on PostgreSQL: the trigger of 0005_households.sql, which SQLite
-- writes inline; PostgreSQL's runs a function.
CREATE FUNCTION customers_erase_household() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM household_invitations WHERE invitee_hash = OLD.email_hash;
    DELETE FROM household_members WHERE member_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER customers_erase_household AFTER DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_erase_household();
