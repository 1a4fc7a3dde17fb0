//! Test support (feature `testing`): fixtures, and a throwaway PostgreSQL cluster
//! ([`PgCluster`]) shared by this crate's tests and the server's end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::*;

/// The cluster script, embedded so that any crate's tests can run it.
pub const PG_TEST_CLUSTER_SH: &str = include_str!("../pg-test-cluster.sh");

/// Set to a PostgreSQL URL (of a database the tests may create databases from) to use
/// an existing server instead of starting a throwaway cluster.
pub const PG_URL_ENV: &str = "IAMD_TEST_PG_URL";

/// A PostgreSQL server for tests: either a throwaway cluster (initdb + pg_ctl in a
/// temporary directory, run as the `postgres` OS user when the tests run as root, on a
/// free loopback port, fsync on) or the server named by `$IAMD_TEST_PG_URL`.
///
/// Use [`PgCluster::shared`] (one cluster per test process) and give every test its own
/// database with [`PgCluster::create_database`]:
///
/// ```no_run
/// # async fn t() -> Result<(), String> {
/// let url = iamd_store::testing::PgCluster::shared()?.create_database().await?;
/// let store = iamd_store::AnyStore::open(&url).await.map_err(|e| e.to_string())?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug)]
pub struct PgCluster {
    /// `postgres://user@host:port` (no database).
    base: String,
    /// The cluster's directory, if this value started it.
    dir: Option<PathBuf>,
    /// This value started the cluster with [`PgCluster::start`]: it stops it when
    /// dropped. (The shared one lives in a static and is stopped by its watchdog.)
    owned: bool,
}

static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

impl PgCluster {
    /// The cluster of this test run, started on first use, and stopped (its directory
    /// removed) by a detached watchdog once the run is over, however it ends (normally,
    /// by a panic, or killed). "The run" is this process under `cargo test`, and the
    /// whole `cargo nextest run` under nextest (which runs each test in its own
    /// process: they share one cluster, keyed by `$NEXTEST_RUN_ID`, until the nextest
    /// runner exits). With `$IAMD_TEST_PG_URL` set, that server is used instead.
    /// Fails (it never skips) when PostgreSQL is not installed.
    pub fn shared() -> Result<&'static PgCluster, String> {
        SHARED
            .get_or_init(|| {
                if let Ok(url) = std::env::var(PG_URL_ENV) {
                    return PgCluster::existing(&url);
                }
                let (dir, owner_pid) = match std::env::var("NEXTEST_RUN_ID") {
                    Ok(run) => {
                        let run: String = run
                            .chars()
                            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .collect();
                        (
                            std::env::temp_dir().join(format!("iamd-pg-nextest-{run}")),
                            std::os::unix::process::parent_id(),
                        )
                    }
                    Err(_) => (
                        std::env::temp_dir().join(format!(
                            "iamd-pg-{}-{}",
                            std::process::id(),
                            unique()
                        )),
                        std::process::id(),
                    ),
                };
                let out = script(&["ensure", &dir.display().to_string(), &owner_pid.to_string()])?;
                let mut cluster = PgCluster::from_url(out.trim())?;
                cluster.dir = Some(dir);
                Ok(cluster)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts a cluster in `dir` (created if missing; reused if one already runs
    /// there). It is stopped, and `dir` removed, when the value is dropped, or by a
    /// watchdog if this process dies first.
    pub fn start(dir: &Path) -> Result<PgCluster, String> {
        let out = script(&[
            "ensure",
            &dir.display().to_string(),
            &std::process::id().to_string(),
        ])?;
        let mut cluster = PgCluster::from_url(out.trim())?;
        cluster.dir = Some(dir.to_owned());
        cluster.owned = true;
        Ok(cluster)
    }

    /// The script's `postgres://user@host:port/postgres`.
    fn from_url(url: &str) -> Result<PgCluster, String> {
        let base = url
            .strip_suffix("/postgres")
            .ok_or_else(|| format!("pg-test-cluster.sh printed an unexpected url: {url:?}"))?;
        Ok(PgCluster {
            base: base.to_owned(),
            dir: None,
            owned: false,
        })
    }

    fn existing(url: &str) -> Result<PgCluster, String> {
        // postgres://user@host:port/db -> postgres://user@host:port
        let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match url[scheme_end..].find('/') {
            Some(i) => &url[..scheme_end + i],
            None => url,
        };
        Ok(PgCluster {
            base: base.to_owned(),
            dir: None,
            owned: false,
        })
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("{}/{db}", self.base)
    }

    /// The cluster's directory (`None` for `$IAMD_TEST_PG_URL`).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Creates a fresh, empty database `t_<unique>` and returns its URL.
    pub async fn create_database(&self) -> Result<String, String> {
        use sqlx::Connection;
        let name = format!("t_{}_{}", std::process::id(), unique());
        let admin = self.url("postgres");
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|e| format!("connecting to {admin}: {e}"))?;
        let sql = format!("CREATE DATABASE {name}");
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
        let _ = conn.close().await;
        Ok(self.url(&name))
    }

    /// Stops a cluster made by [`PgCluster::start`] now and removes its directory
    /// (no-op for the shared cluster and for an existing server).
    pub fn stop(&self) -> Result<(), String> {
        match &self.dir {
            Some(dir) if self.owned => script(&["stop", &dir.display().to_string()]).map(drop),
            _ => Ok(()),
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.stop();
        }
    }
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Runs the embedded script with `args`; returns its stdout, or its stderr as the error.
fn script(args: &[&str]) -> Result<String, String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(PG_TEST_CLUSTER_SH)
        .arg("pg-test-cluster.sh")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running bash pg-test-cluster.sh: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "pg-test-cluster.sh {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The SQL of the migrations up to `version` (inclusive) for SQLite (`postgres` false)
/// or PostgreSQL, with the statements that record them: a database of an older schema,
/// for migration tests.
pub fn schema_up_to(version: i64, postgres: bool) -> Vec<String> {
    let backend = if postgres {
        crate::schema::Backend::Postgres
    } else {
        crate::schema::Backend::Sqlite
    };
    let mut out = vec![crate::schema::CREATE_SCHEMA_VERSION.to_string()];
    for m in crate::schema::MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
    {
        out.push(crate::schema::render(m.sql, backend));
        out.push(format!(
            "INSERT INTO schema_version (version, applied_at) VALUES ({}, 0)",
            m.version
        ));
    }
    out
}

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

/// A user record with the given id and name.
pub fn user(id: &str, name: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_000,
        boundary_arn: None,
    }
}

/// A group record with the given id and name.
pub fn group(id: &str, name: &str) -> GroupRecord {
    GroupRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_001,
    }
}

/// A role record with the given id and name (trust policy allowing EC2).
pub fn role(id: &str, name: &str) -> RoleRecord {
    RoleRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_002,
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
        trust_bindings: Vec::new(),
        description: None,
        max_session_duration: 3600,
        boundary_arn: None,
        service_linked: false,
        last_used: None,
        last_used_region: None,
    }
}

/// An instance profile record with the given id and name.
pub fn instance_profile(id: &str, name: &str) -> InstanceProfileRecord {
    InstanceProfileRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_003,
    }
}

/// One change of every variant, in an order that applies cleanly to an empty store,
/// and leaves something of every table behind (the deletes remove extra rows).
pub fn every_change() -> Vec<Change> {
    let melvins = UserRecord {
        id: "AIDAMELVINS0000000001".into(),
        name: "melvins".into(),
        path: "/partners/".into(),
        created: 1_700_000_000_123,
        boundary_arn: Some("arn:aws:iam::123456789012:policy/ci/ci-deploy".into()),
    };
    let lorax = user("AIDALORAX000000000002", "lorax");
    let admins = GroupRecord {
        id: "AGPAADMINS0000000001".into(),
        name: "admins".into(),
        path: "/staff/".into(),
        created: 1_700_000_000_456,
    };
    let temp = group("AGPATEMP000000000002", "temp");
    vec![
        Change::PutAccount(AccountRecord {
            id: "123456789012".into(),
            created: 1_699_999_999_999,
        }),
        Change::PutUser(melvins.clone()),
        Change::PutUser(lorax.clone()),
        Change::PutGroup(admins.clone()),
        Change::PutGroup(temp.clone()),
        Change::PutMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: melvins.id.clone(),
        }),
        Change::PutMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: lorax.id.clone(),
        }),
        Change::DeleteMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: lorax.id.clone(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            name: "houdini-only".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}"#.into(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            name: "all".into(),
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#.into(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAEXAMPLE000000001".into(),
            name: "gone".into(),
            document: "{}".into(),
        }),
        Change::DeleteInlinePolicy {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAEXAMPLE000000001".into(),
            name: "gone".into(),
        },
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIAMELVINS000000001".into(),
            user_id: Some(melvins.id.clone()),
            status: KeyStatus::Active,
            secret_ciphertext: vec![0, 1, 2, 254, 255, 0x53, 0x45, 0x43],
            created: 1_700_000_001_000,
        }),
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIAROOT000000000001".into(),
            user_id: None,
            status: KeyStatus::Inactive,
            secret_ciphertext: vec![9; 56],
            created: 1_700_000_002_000,
        }),
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIALORAX00000000001".into(),
            user_id: Some(lorax.id.clone()),
            status: KeyStatus::Active,
            secret_ciphertext: vec![7; 56],
            created: 1_700_000_003_000,
        }),
        Change::PutKeyUsage(KeyUsageRecord {
            access_key_id: "AKIALORAX00000000001".into(),
            last_used: 1_700_000_004_000,
            service: "s3".into(),
            region: "us-east-1".into(),
        }),
        Change::DeleteAccessKey {
            id: "AKIALORAX00000000001".into(),
        },
        Change::PutKeyUsage(KeyUsageRecord {
            access_key_id: "AKIAMELVINS000000001".into(),
            last_used: 1_700_000_005_000,
            service: "s3".into(),
            region: "us-east-1".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            key: "team".into(),
            value: "partners".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            key: "Team".into(),
            value: "case-sensitive key".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            key: "scratch".into(),
            value: "x".into(),
        }),
        Change::DeleteTag {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            key: "scratch".into(),
        },
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: lorax.id.clone(),
            key: "leaving".into(),
            value: "yes".into(),
        }),
        Change::DeleteUser { id: lorax.id },
        Change::DeleteGroup { id: temp.id },
        Change::PutRole(RoleRecord {
            id: "AROAHOUDINI000000001".into(),
            name: "houdini-writer".into(),
            path: "/partners/".into(),
            created: 1_700_000_006_000,
            trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/partners/melvins"},"Action":"sts:AssumeRole"}]}"#.into(),
            trust_bindings: vec![TrustBinding {
                arn: "arn:aws:iam::123456789012:user/partners/melvins".into(),
                id: melvins.id.clone(),
            }],
            description: Some("writes to houdini".into()),
            max_session_duration: 43200,
            boundary_arn: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            service_linked: false,
            last_used: Some(1_700_000_007_000),
            last_used_region: Some("eu-west-1".into()),
        }),
        Change::PutRole(RoleRecord {
            service_linked: true,
            path: "/aws-service-role/elasticbeanstalk.amazonaws.com/".into(),
            ..role("AROASLR0000000000001", "AWSServiceRoleForElasticBeanstalk")
        }),
        Change::PutRole(role("AROAGONE000000000001", "gone-role")),
        Change::PutInstanceProfile(InstanceProfileRecord {
            id: "AIPAWEB0000000000001".into(),
            name: "web".into(),
            path: "/web/".into(),
            created: 1_700_000_008_000,
        }),
        Change::PutInstanceProfile(instance_profile("AIPAGONE000000000001", "gone-profile")),
        Change::PutInstanceProfileRole(InstanceProfileRoleRecord {
            profile_id: "AIPAWEB0000000000001".into(),
            role_id: "AROAHOUDINI000000001".into(),
        }),
        Change::PutInstanceProfileRole(InstanceProfileRoleRecord {
            profile_id: "AIPAGONE000000000001".into(),
            role_id: "AROAGONE000000000001".into(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAHOUDINI000000001".into(),
            name: "write".into(),
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::houdini/*"}}"#.into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAHOUDINI000000001".into(),
            key: "team".into(),
            value: "partners".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::InstanceProfile,
            owner_id: "AIPAWEB0000000000001".into(),
            key: "tier".into(),
            value: "web".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::InstanceProfile,
            owner_id: "AIPAGONE000000000001".into(),
            key: "leaving".into(),
            value: "yes".into(),
        }),
        Change::DeleteInstanceProfileRole(InstanceProfileRoleRecord {
            profile_id: "AIPAGONE000000000001".into(),
            role_id: "AROAGONE000000000001".into(),
        }),
        Change::DeleteInstanceProfile {
            id: "AIPAGONE000000000001".into(),
        },
        Change::DeleteRole {
            id: "AROAGONE000000000001".into(),
        },
        Change::PutDeletionTask(DeletionTaskRecord {
            id: "task/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk_old/0f2a4b6c-0000-4000-8000-000000000001".into(),
            created: 1_700_000_009_000,
        }),
        Change::PutManagedPolicy(ManagedPolicyRecord {
            id: "ANPADEPLOY0000000001".into(),
            name: "ci-deploy".into(),
            path: "/ci/".into(),
            created: 1_700_000_010_000,
            description: Some("deploys".into()),
            default_version: "v2".into(),
            next_version: 4,
        }),
        Change::PutPolicyVersion(PolicyVersionRecord {
            policy_id: "ANPADEPLOY0000000001".into(),
            version_id: "v1".into(),
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#.into(),
            created: 1_700_000_010_000,
        }),
        Change::PutPolicyVersion(PolicyVersionRecord {
            policy_id: "ANPADEPLOY0000000001".into(),
            version_id: "v2".into(),
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#.into(),
            created: 1_700_000_011_000,
        }),
        Change::PutPolicyVersion(PolicyVersionRecord {
            policy_id: "ANPADEPLOY0000000001".into(),
            version_id: "v3".into(),
            document: "{}".into(),
            created: 1_700_000_012_000,
        }),
        Change::DeletePolicyVersion {
            policy_id: "ANPADEPLOY0000000001".into(),
            version_id: "v3".into(),
        },
        Change::PutManagedPolicy(ManagedPolicyRecord {
            id: "ANPAGONE000000000001".into(),
            name: "gone-policy".into(),
            path: "/".into(),
            created: 1_700_000_013_000,
            description: None,
            default_version: "v1".into(),
            next_version: 2,
        }),
        Change::PutPolicyVersion(PolicyVersionRecord {
            policy_id: "ANPAGONE000000000001".into(),
            version_id: "v1".into(),
            document: "{}".into(),
            created: 1_700_000_013_000,
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::Policy,
            owner_id: "ANPADEPLOY0000000001".into(),
            key: "team".into(),
            value: "ci".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::Policy,
            owner_id: "ANPAGONE000000000001".into(),
            key: "leaving".into(),
            value: "yes".into(),
        }),
        Change::DeleteManagedPolicy {
            id: "ANPAGONE000000000001".into(),
        },
        Change::PutAttachment(AttachmentRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            policy_arn: "arn:aws:iam::123456789012:policy/ci/ci-deploy".into(),
        }),
        Change::PutAttachment(AttachmentRecord {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        }),
        Change::PutAttachment(AttachmentRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAHOUDINI000000001".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        }),
        Change::PutAttachment(AttachmentRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAHOUDINI000000001".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        }),
        Change::DeleteAttachment(AttachmentRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAHOUDINI000000001".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        }),
    ]
}

/// The snapshot that [`every_change`] leaves on an empty store.
pub fn every_change_snapshot() -> Snapshot {
    let changes = every_change();
    let find = |pred: &dyn Fn(&Change) -> bool| changes.iter().find(|c| pred(c)).cloned();
    let mut s = Snapshot::default();
    if let Some(Change::PutAccount(a)) = find(&|c| matches!(c, Change::PutAccount(_))) {
        s.account = Some(a);
    }
    for c in &changes {
        match c {
            Change::PutUser(u) if u.name == "melvins" => s.users.push(u.clone()),
            Change::PutGroup(g) if g.name == "admins" => s.groups.push(g.clone()),
            Change::PutMembership(m) if m.user_id.starts_with("AIDAMELVINS") => {
                s.memberships.push(m.clone())
            }
            Change::PutInlinePolicy(p) if p.name != "gone" => s.inline_policies.push(p.clone()),
            Change::PutAccessKey(k) if !k.id.starts_with("AKIALORAX") => {
                s.access_keys.push(k.clone())
            }
            Change::PutKeyUsage(u) if u.access_key_id.starts_with("AKIAMELVINS") => {
                s.key_usage.push(u.clone())
            }
            Change::PutTag(t)
                if !t.owner_id.contains("GONE")
                    && !t.owner_id.starts_with("AIDALORAX")
                    && t.key != "scratch" =>
            {
                s.tags.push(t.clone())
            }
            Change::PutRole(r) if !r.id.contains("GONE") => s.roles.push(r.clone()),
            Change::PutInstanceProfile(p) if !p.id.contains("GONE") => {
                s.instance_profiles.push(p.clone())
            }
            Change::PutInstanceProfileRole(m) if !m.profile_id.contains("GONE") => {
                s.instance_profile_roles.push(m.clone())
            }
            Change::PutDeletionTask(t) => s.deletion_tasks.push(t.clone()),
            Change::PutManagedPolicy(p) if !p.id.contains("GONE") => {
                s.managed_policies.push(p.clone())
            }
            Change::PutPolicyVersion(v)
                if !v.policy_id.contains("GONE") && v.version_id != "v3" =>
            {
                s.policy_versions.push(v.clone())
            }
            Change::PutAttachment(a) if !a.policy_arn.ends_with("AdministratorAccess") => {
                s.attachments.push(a.clone())
            }
            _ => {}
        }
    }
    s.sort();
    s
}
