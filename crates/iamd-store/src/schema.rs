//! The schema: versioned migrations, embedded as SQL text, shared by both backends.
//!
//! Each migration is written once, in the SQL that SQLite and PostgreSQL both accept.
//! The few spellings that differ are `__TOKENS__` listed side by side in [`DIALECT`]
//! and substituted by [`render`]. Migrations are applied at open, in one transaction,
//! and recorded in `schema_version (version, applied_at)`; a database whose version is
//! newer than [`LATEST`] is refused.
//!
//! Referential rules (see also the crate docs):
//! - Foreign keys are immediate and have no `ON DELETE` action (= restrict): the service
//!   deletes dependents explicitly, before their parent, in the same batch. A change
//!   that would leave a dangling reference fails with [`crate::StoreError::Reference`].
//!   Checked this way: `group_members.group_id → groups`, `group_members.user_id →
//!   users`, `access_keys.user_id → users`, `instance_profile_roles.profile_id →
//!   instance_profiles`, `instance_profile_roles.role_id → roles`.
//! - `key_usage → access_keys` is `ON DELETE CASCADE`: usage is bookkeeping of the key,
//!   and there is no change that deletes it.
//! - Tags and inline policies have polymorphic owners (`owner_kind`, `owner_id`), which
//!   SQL cannot reference. `DeleteUser` / `DeleteGroup` / `DeleteRole` /
//!   `DeleteInstanceProfile` delete the owner's tags, inline policies and policy
//!   attachments in the same transaction, so they never outlive their owner.
//!   `policy_versions.policy_id → managed_policies` is checked; `DeleteManagedPolicy`
//!   deletes the policy's tags and versions first.
//! - Names of users, groups, roles, instance profiles and managed policies are unique on
//!   `(account_id, lower(name))` (schema 5; ASCII case folding in
//!   SQLite; the database collation's in PostgreSQL: IAM names are ASCII).

/// `(token, SQLite, PostgreSQL)`: every spelling that differs between the engines.
pub(crate) const DIALECT: &[(&str, &str, &str)] = &[
    // Binary strings.
    ("__BYTES__", "BLOB", "BYTEA"),
    // Byte-order comparison of S3 keys and bucket names (S3 lists in UTF-8 byte order;
    // SQLite's default BINARY collation already is).
    ("__BINCOLL__", "", "COLLATE \"C\""),
    // The change log's notification (schema 8): PostgreSQL only.
    ("__NOTIFY_TRIGGER__", "", PG_NOTIFY_TRIGGER),
];

/// Notifies `iamd_changes` ([`crate::postgres::NOTIFY_CHANNEL`]) with the sequence of
/// every change-log entry; PostgreSQL delivers it when the writer commits.
const PG_NOTIFY_TRIGGER: &str = r#"
CREATE FUNCTION iamd_change_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('iamd_changes', NEW.seq::text);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    FOR EACH ROW EXECUTE FUNCTION iamd_change_notify();
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The engine's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One migration: its version (1, 2, ...) and its SQL (several statements).
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// The newest schema version this binary knows.
pub(crate) const LATEST: i64 = 9;

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: r#"
CREATE TABLE account (
    id        TEXT NOT NULL PRIMARY KEY,
    created   BIGINT NOT NULL,
    -- at most one row
    singleton INTEGER NOT NULL DEFAULT 1 CHECK (singleton = 1),
    CONSTRAINT account_singleton UNIQUE (singleton)
);

CREATE TABLE users (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL,
    created      BIGINT NOT NULL,
    boundary_arn TEXT
);
CREATE UNIQUE INDEX users_name_ci ON users (lower(name));

CREATE TABLE groups (
    id      TEXT NOT NULL PRIMARY KEY,
    name    TEXT NOT NULL,
    path    TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name_ci ON groups (lower(name));

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE inline_policies (
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'group', 'role', 'policy')),
    owner_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, name)
);

CREATE TABLE access_keys (
    id                TEXT NOT NULL PRIMARY KEY,
    user_id           TEXT REFERENCES users (id),
    status            TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    secret_ciphertext __BYTES__ NOT NULL,
    created           BIGINT NOT NULL
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE key_usage (
    access_key_id TEXT NOT NULL PRIMARY KEY REFERENCES access_keys (id) ON DELETE CASCADE,
    last_used     BIGINT NOT NULL,
    service       TEXT NOT NULL,
    region        TEXT NOT NULL
);

CREATE TABLE tags (
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'group', 'role', 'policy')),
    owner_id   TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, tag_key)
);
"#,
    },
    Migration {
        version: 2,
        sql: MIGRATION_2_S3,
    },
    Migration {
        version: 3,
        sql: MIGRATION_3_ROLES,
    },
    Migration {
        version: 4,
        sql: MIGRATION_4_MANAGED_POLICIES,
    },
    Migration {
        version: 5,
        sql: MIGRATION_5_ACCOUNTS,
    },
    Migration {
        version: 6,
        sql: MIGRATION_6_BUCKET_SETTINGS,
    },
    Migration {
        version: 7,
        sql: MIGRATION_7_S3_CHECKSUMS,
    },
    Migration {
        version: 8,
        sql: MIGRATION_8_CHANGE_LOG,
    },
    Migration {
        version: 9,
        sql: MIGRATION_9_S3_VERSIONS,
    },
];

/// The change log (`log.rs`): the last sequence (one row) and one entry per committed
/// write, with PostgreSQL's notification trigger.
const MIGRATION_8_CHANGE_LOG: &str = r#"
CREATE TABLE change_seq (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO change_seq (id, last) VALUES (1, 0);

CREATE TABLE change_log (
    seq     BIGINT NOT NULL PRIMARY KEY,
    account TEXT NOT NULL,
    node    TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('batch', 'bucket')),
    body    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
__NOTIFY_TRIGGER__
"#;

/// S3 bucket settings beside the policy (tagging, CORS, lifecycle, public access
/// block, ownership controls): one opaque document per (bucket, kind), deleted with
/// the bucket.
const MIGRATION_6_BUCKET_SETTINGS: &str = r#"
CREATE TABLE s3_bucket_settings (
    bucket   TEXT __BINCOLL__ NOT NULL REFERENCES s3_buckets (name),
    kind     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
);
"#;

/// S3 metadata (object bytes live in files named by `blob_id`, never by key).
/// Keys compare in byte order on both engines (`__BINCOLL__`).
const MIGRATION_2_S3: &str = r#"
CREATE TABLE s3_buckets (
    name          TEXT __BINCOLL__ NOT NULL PRIMARY KEY,
    owner_account TEXT NOT NULL,
    created       BIGINT NOT NULL
);

CREATE TABLE s3_bucket_policies (
    bucket   TEXT __BINCOLL__ NOT NULL PRIMARY KEY REFERENCES s3_buckets (name),
    document TEXT NOT NULL
);

CREATE TABLE s3_objects (
    bucket        TEXT __BINCOLL__ NOT NULL REFERENCES s3_buckets (name),
    object_key    TEXT __BINCOLL__ NOT NULL,
    blob_id       TEXT NOT NULL UNIQUE,
    size          BIGINT NOT NULL,
    etag          TEXT NOT NULL,
    content_type  TEXT,
    metadata      TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (bucket, object_key)
);

CREATE TABLE s3_object_tags (
    bucket     TEXT __BINCOLL__ NOT NULL,
    object_key TEXT __BINCOLL__ NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (bucket, object_key, tag_key),
    FOREIGN KEY (bucket, object_key) REFERENCES s3_objects (bucket, object_key) ON DELETE CASCADE
);

CREATE TABLE s3_uploads (
    upload_id    TEXT NOT NULL PRIMARY KEY,
    bucket       TEXT __BINCOLL__ NOT NULL REFERENCES s3_buckets (name),
    object_key   TEXT __BINCOLL__ NOT NULL,
    created      BIGINT NOT NULL,
    content_type TEXT,
    metadata     TEXT NOT NULL,
    tagging      TEXT
);
CREATE INDEX s3_uploads_bucket ON s3_uploads (bucket, object_key, upload_id);

CREATE TABLE s3_parts (
    upload_id     TEXT NOT NULL REFERENCES s3_uploads (upload_id),
    part_number   BIGINT NOT NULL,
    blob_id       TEXT NOT NULL UNIQUE,
    size          BIGINT NOT NULL,
    etag          TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
"#;

/// Roles, instance profiles (with their one role), service-linked role deletion
/// tasks; tags may be owned by instance profiles (a CHECK constraint cannot be
/// altered in SQLite, so `tags` is rebuilt with its rows).
const MIGRATION_3_ROLES: &str = r#"
CREATE TABLE roles (
    id                   TEXT NOT NULL PRIMARY KEY,
    name                 TEXT NOT NULL,
    path                 TEXT NOT NULL,
    created              BIGINT NOT NULL,
    trust_policy         TEXT NOT NULL,
    trust_bindings       TEXT NOT NULL,
    description          TEXT,
    max_session_duration BIGINT NOT NULL,
    boundary_arn         TEXT,
    service_linked       BIGINT NOT NULL CHECK (service_linked IN (0, 1)),
    last_used            BIGINT,
    last_used_region     TEXT
);
CREATE UNIQUE INDEX roles_name_ci ON roles (lower(name));

CREATE TABLE instance_profiles (
    id      TEXT NOT NULL PRIMARY KEY,
    name    TEXT NOT NULL,
    path    TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX instance_profiles_name_ci ON instance_profiles (lower(name));

CREATE TABLE instance_profile_roles (
    profile_id TEXT NOT NULL REFERENCES instance_profiles (id),
    role_id    TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (profile_id, role_id)
);
CREATE INDEX instance_profile_roles_role ON instance_profile_roles (role_id);

CREATE TABLE role_deletion_tasks (
    id      TEXT NOT NULL PRIMARY KEY,
    created BIGINT NOT NULL
);

CREATE TABLE tags_v3 (
    owner_kind TEXT NOT NULL
        CHECK (owner_kind IN ('user', 'group', 'role', 'policy', 'instance-profile')),
    owner_id   TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, tag_key)
);
INSERT INTO tags_v3 (owner_kind, owner_id, tag_key, tag_value)
    SELECT owner_kind, owner_id, tag_key, tag_value FROM tags;
DROP TABLE tags;
ALTER TABLE tags_v3 RENAME TO tags;
"#;

/// Customer-managed policies with their versions, and the managed policies (customer-
/// or AWS-managed, by ARN: AWS's have no row) attached to users, groups and roles.
const MIGRATION_4_MANAGED_POLICIES: &str = r#"
CREATE TABLE managed_policies (
    id              TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL,
    path            TEXT NOT NULL,
    created         BIGINT NOT NULL,
    description     TEXT,
    default_version TEXT NOT NULL,
    next_version    BIGINT NOT NULL
);
CREATE UNIQUE INDEX managed_policies_name_ci ON managed_policies (lower(name));

CREATE TABLE policy_versions (
    policy_id  TEXT NOT NULL REFERENCES managed_policies (id),
    version_id TEXT NOT NULL,
    document   TEXT NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version_id)
);

CREATE TABLE policy_attachments (
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'group', 'role')),
    owner_id   TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, policy_arn)
);
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_arn);
"#;

/// Several accounts. The first account stays the one row of `account`; the others are
/// rows of `accounts`. Every table whose rows belong to an account directly (users,
/// groups, roles, instance profiles, customer-managed policies, access keys, deletion
/// tasks) gets `account_id`: `''` for the first account (so every row written before
/// this version keeps its meaning without a rewrite), the account's id otherwise. The
/// other tables belong to an account through their owner. Names are unique per account.
const MIGRATION_5_ACCOUNTS: &str = r#"
CREATE TABLE accounts (
    id      TEXT NOT NULL PRIMARY KEY,
    created BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instance_profiles ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE managed_policies ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE role_deletion_tasks ADD COLUMN account_id TEXT NOT NULL DEFAULT '';

DROP INDEX users_name_ci;
CREATE UNIQUE INDEX users_name_ci ON users (account_id, lower(name));
DROP INDEX groups_name_ci;
CREATE UNIQUE INDEX groups_name_ci ON groups (account_id, lower(name));
DROP INDEX roles_name_ci;
CREATE UNIQUE INDEX roles_name_ci ON roles (account_id, lower(name));
DROP INDEX instance_profiles_name_ci;
CREATE UNIQUE INDEX instance_profiles_name_ci ON instance_profiles (account_id, lower(name));
DROP INDEX managed_policies_name_ci;
CREATE UNIQUE INDEX managed_policies_name_ci ON managed_policies (account_id, lower(name));
CREATE INDEX access_keys_account ON access_keys (account_id);
"#;

/// S3 additional checksums of multipart uploads: the algorithm and type chosen at
/// CreateMultipartUpload (`CRC32`…, `COMPOSITE` / `FULL_OBJECT`; NULL for uploads
/// started before this version, which complete without a checksum) and each part's
/// checksum (base64, in the upload's algorithm). An object's own checksum lives in its
/// opaque `metadata`.
const MIGRATION_7_S3_CHECKSUMS: &str = r#"
ALTER TABLE s3_uploads ADD COLUMN checksum_algorithm TEXT;
ALTER TABLE s3_uploads ADD COLUMN checksum_type TEXT;
ALTER TABLE s3_parts ADD COLUMN checksum TEXT;
"#;

/// S3 versioning. A bucket's state: `versioning` NULL (never versioned), `Enabled` or
/// `Suspended`. `s3_objects` holds every version of a key (rebuilt: its key becomes
/// (bucket, key, version id)): `version_id` (`null` for the null version: every row
/// written before this version), `seq` orders a key's versions (higher: newer),
/// `latest` marks the current one (at most one per key: a partial unique index, which
/// also serves the listing of current objects), and a delete marker is a version
/// without a blob. Object tags belong to a version.
const MIGRATION_9_S3_VERSIONS: &str = r#"
ALTER TABLE s3_buckets ADD COLUMN versioning TEXT;

CREATE TABLE s3_objects_v9 (
    bucket        TEXT __BINCOLL__ NOT NULL REFERENCES s3_buckets (name),
    object_key    TEXT __BINCOLL__ NOT NULL,
    version_id    TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    latest        BIGINT NOT NULL CHECK (latest IN (0, 1)),
    blob_id       TEXT UNIQUE,
    size          BIGINT NOT NULL,
    etag          TEXT NOT NULL,
    content_type  TEXT,
    metadata      TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (bucket, object_key, version_id),
    UNIQUE (bucket, object_key, seq)
);
INSERT INTO s3_objects_v9 (bucket, object_key, version_id, seq, latest, blob_id, size, etag,
                           content_type, metadata, last_modified)
    SELECT bucket, object_key, 'null', 1, 1, blob_id, size, etag, content_type, metadata,
           last_modified
    FROM s3_objects;

CREATE TABLE s3_object_tags_v9 (
    bucket     TEXT __BINCOLL__ NOT NULL,
    object_key TEXT __BINCOLL__ NOT NULL,
    version_id TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (bucket, object_key, version_id, tag_key),
    FOREIGN KEY (bucket, object_key, version_id)
        REFERENCES s3_objects_v9 (bucket, object_key, version_id) ON DELETE CASCADE
);
INSERT INTO s3_object_tags_v9 (bucket, object_key, version_id, tag_key, tag_value)
    SELECT bucket, object_key, 'null', tag_key, tag_value FROM s3_object_tags;

DROP TABLE s3_object_tags;
DROP TABLE s3_objects;
ALTER TABLE s3_objects_v9 RENAME TO s3_objects;
ALTER TABLE s3_object_tags_v9 RENAME TO s3_object_tags;
CREATE UNIQUE INDEX s3_objects_current ON s3_objects (bucket, object_key) WHERE latest = 1;
"#;

/// The table that records applied migrations (created outside the migrations).
pub(crate) const CREATE_SCHEMA_VERSION: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version    BIGINT NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";
pub(crate) const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
pub(crate) const RECORD_VERSION: &str =
    "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)";

/// The migration's SQL for `backend`.
pub(crate) fn render(sql: &str, backend: Backend) -> String {
    let mut out = sql.to_owned();
    for (token, sqlite, postgres) in DIALECT {
        let with = match backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        out = out.replace(token, with);
    }
    out
}

/// The migrations to run on a database at `current` version, or an error if the
/// database is newer than this binary.
pub(crate) fn pending(current: i64) -> Result<&'static [Migration], crate::StoreError> {
    if current > LATEST {
        return Err(crate::StoreError::Migration(format!(
            "database schema version {current} is newer than this binary's {LATEST}"
        )));
    }
    let start = MIGRATIONS
        .iter()
        .position(|m| m.version > current)
        .unwrap_or(MIGRATIONS.len());
    Ok(&MIGRATIONS[start..])
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_latest_is_last() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }

    #[test]
    fn render_leaves_no_token() {
        for m in MIGRATIONS {
            for b in [Backend::Sqlite, Backend::Postgres] {
                let sql = render(m.sql, b);
                assert!(!sql.contains("__"), "unsubstituted token in {b:?}: {sql}");
            }
        }
        assert!(render(MIGRATIONS[0].sql, Backend::Postgres).contains("BYTEA"));
        assert!(render(MIGRATIONS[0].sql, Backend::Sqlite).contains("BLOB"));
    }

    #[test]
    fn pending_migrations() {
        assert_eq!(pending(0).map(|m| m.len()).ok(), Some(MIGRATIONS.len()));
        assert_eq!(pending(LATEST).map(|m| m.len()).ok(), Some(0));
        assert!(matches!(
            pending(LATEST + 1),
            Err(crate::StoreError::Migration(_))
        ));
    }
}
