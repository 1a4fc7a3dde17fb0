//! Rows → records, shared by both backends through the small [`Cells`] trait.

use crate::*;

/// Typed access to a row's columns by position, with errors as [`StoreError::Corrupt`].
pub(crate) trait Cells {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
}

macro_rules! impl_cells {
    ($row:ty) => {
        impl Cells for $row {
            fn text(&self, i: usize) -> Result<String, StoreError> {
                sqlx::Row::try_get(self, i).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
                sqlx::Row::try_get(self, i).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                sqlx::Row::try_get(self, i).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                sqlx::Row::try_get(self, i).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
                sqlx::Row::try_get(self, i).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
        }
    };
}
impl_cells!(sqlx::sqlite::SqliteRow);
impl_cells!(sqlx::postgres::PgRow);

fn owner_kind(s: &str, table: &str) -> Result<OwnerKind, StoreError> {
    OwnerKind::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("{table}: unknown owner_kind {s:?}")))
}

pub(crate) fn account(r: &impl Cells) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        id: r.text(0)?,
        created: r.int(1)?,
    })
}

pub(crate) fn user(r: &impl Cells) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        path: r.text(2)?,
        created: r.int(3)?,
        boundary_arn: r.opt_text(4)?,
    })
}

pub(crate) fn group(r: &impl Cells) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        path: r.text(2)?,
        created: r.int(3)?,
    })
}

pub(crate) fn membership(r: &impl Cells) -> Result<MembershipRecord, StoreError> {
    Ok(MembershipRecord {
        group_id: r.text(0)?,
        user_id: r.text(1)?,
    })
}

pub(crate) fn inline_policy(r: &impl Cells) -> Result<InlinePolicyRecord, StoreError> {
    Ok(InlinePolicyRecord {
        owner_kind: owner_kind(&r.text(0)?, "inline_policies")?,
        owner_id: r.text(1)?,
        name: r.text(2)?,
        document: r.text(3)?,
    })
}

pub(crate) fn access_key(r: &impl Cells) -> Result<AccessKeyRecord, StoreError> {
    let status = r.text(2)?;
    Ok(AccessKeyRecord {
        id: r.text(0)?,
        user_id: r.opt_text(1)?,
        status: KeyStatus::parse(&status).ok_or_else(|| {
            StoreError::Corrupt(format!("access_keys: unknown status {status:?}"))
        })?,
        secret_ciphertext: r.bytes(3)?,
        created: r.int(4)?,
    })
}

pub(crate) fn key_usage(r: &impl Cells) -> Result<KeyUsageRecord, StoreError> {
    Ok(KeyUsageRecord {
        access_key_id: r.text(0)?,
        last_used: r.int(1)?,
        service: r.text(2)?,
        region: r.text(3)?,
    })
}

pub(crate) fn tag(r: &impl Cells) -> Result<TagRecord, StoreError> {
    Ok(TagRecord {
        owner_kind: owner_kind(&r.text(0)?, "tags")?,
        owner_id: r.text(1)?,
        key: r.text(2)?,
        value: r.text(3)?,
    })
}

pub(crate) fn role(r: &impl Cells) -> Result<RoleRecord, StoreError> {
    let id = r.text(0)?;
    let bindings = r.text(5)?;
    let trust_bindings = decode_bindings(&bindings)
        .ok_or_else(|| StoreError::Corrupt(format!("roles: bad trust_bindings of {id}")))?;
    let service_linked = match r.int(9)? {
        0 => false,
        1 => true,
        other => {
            return Err(StoreError::Corrupt(format!(
                "roles: service_linked {other} of {id}"
            )))
        }
    };
    Ok(RoleRecord {
        name: r.text(1)?,
        path: r.text(2)?,
        created: r.int(3)?,
        trust_policy: r.text(4)?,
        trust_bindings,
        description: r.opt_text(6)?,
        max_session_duration: r.int(7)?,
        boundary_arn: r.opt_text(8)?,
        service_linked,
        last_used: r.opt_int(10)?,
        last_used_region: r.opt_text(11)?,
        id,
    })
}

pub(crate) fn instance_profile(r: &impl Cells) -> Result<InstanceProfileRecord, StoreError> {
    Ok(InstanceProfileRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        path: r.text(2)?,
        created: r.int(3)?,
    })
}

pub(crate) fn instance_profile_role(
    r: &impl Cells,
) -> Result<InstanceProfileRoleRecord, StoreError> {
    Ok(InstanceProfileRoleRecord {
        profile_id: r.text(0)?,
        role_id: r.text(1)?,
    })
}

pub(crate) fn deletion_task(r: &impl Cells) -> Result<DeletionTaskRecord, StoreError> {
    Ok(DeletionTaskRecord {
        id: r.text(0)?,
        created: r.int(1)?,
    })
}

pub(crate) fn managed_policy(r: &impl Cells) -> Result<ManagedPolicyRecord, StoreError> {
    Ok(ManagedPolicyRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        path: r.text(2)?,
        created: r.int(3)?,
        description: r.opt_text(4)?,
        default_version: r.text(5)?,
        next_version: r.int(6)?,
    })
}

pub(crate) fn policy_version(r: &impl Cells) -> Result<PolicyVersionRecord, StoreError> {
    Ok(PolicyVersionRecord {
        policy_id: r.text(0)?,
        version_id: r.text(1)?,
        document: r.text(2)?,
        created: r.int(3)?,
    })
}

pub(crate) fn attachment(r: &impl Cells) -> Result<AttachmentRecord, StoreError> {
    Ok(AttachmentRecord {
        owner_kind: owner_kind(&r.text(0)?, "policy_attachments")?,
        owner_id: r.text(1)?,
        policy_arn: r.text(2)?,
    })
}

pub(crate) fn all<R: Cells, T>(
    rows: &[R],
    f: impl Fn(&R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}
