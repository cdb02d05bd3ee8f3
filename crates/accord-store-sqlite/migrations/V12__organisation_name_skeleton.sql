-- What an organisation's name looks like (its UTS #39 skeleton, `Name::skeleton`): a name that
-- looks like another's is refused. Filled in by the store, in Rust, for names stored before; two
-- old names that look alike both stay, the later one without a skeleton (NULLs are not equal).
ALTER TABLE organisation ADD COLUMN name_skeleton TEXT;
CREATE UNIQUE INDEX organisation_name_skeleton ON organisation (name_skeleton);
