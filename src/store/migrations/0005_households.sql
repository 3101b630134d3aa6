-- Households (issue 5): the people a customer shops for, and links between
-- adults with their own accounts who accepted to be one household.
--
-- Everything a customer typed about the people they shop for is sealed with
-- the customer's data key (AES-256-GCM, bound to customer, person and
-- field); only ids and times are in clear.
CREATE TABLE people (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    label_enc     BLOB NOT NULL,
    likes_enc     BLOB NOT NULL,
    dislikes_enc  BLOB NOT NULL,
    occasions_enc BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX people_customer ON people(customer_id, id);

-- An invitation to be one household. The invitee is kept only as the keyed
-- hash of the email (as for logins); the email as typed is sealed with the
-- inviter's key, for the inviter's own view. Accepted invitations become
-- two household_members rows and are deleted.
CREATE TABLE household_invitations (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    invitee_hash TEXT NOT NULL,
    email_enc    BLOB NOT NULL,
    status       TEXT NOT NULL,          -- pending | declined
    created_at   TEXT NOT NULL,
    answered_at  TEXT,
    UNIQUE (customer_id, invitee_hash)
);
CREATE INDEX household_invitations_invitee ON household_invitations(invitee_hash);

-- A link, one row per side, so each side's rows carry its customer_id.
CREATE TABLE household_members (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    since       TEXT NOT NULL,
    PRIMARY KEY (customer_id, member_id)
);
CREATE INDEX household_members_member ON household_members(member_id);

-- Erasure of an account also removes invitations addressed to it and the
-- other side of its links.
-- sqlite-only begin (PostgreSQL: 0005_households.pg.sql)
CREATE TRIGGER customers_erase_household AFTER DELETE ON customers BEGIN
    DELETE FROM household_invitations WHERE invitee_hash = OLD.email_hash;
    DELETE FROM household_members WHERE member_id = OLD.id;
END;
-- sqlite-only end
