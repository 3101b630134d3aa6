-- 0003 on PostgreSQL: the key store is a database of its own (store_pg.c
-- creates keys.customer_keys there; docs/privacy.md says why), so the data
-- database keeps no customer key. A database created at version 0 has had
-- no customer yet: nothing to move.
DROP TABLE customer_keys;
