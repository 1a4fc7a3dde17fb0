//! What IAM's named entities have in common (users and groups today; roles will
//! implement [`Entity`] too): a name unique case-insensitively, a path, an ARN, the
//! wire shape AWS returns, and AWS's messages about them. The operations that treat
//! every kind alike (list by path prefix, rename/move, create) are written once over
//! this trait in `ops.rs`.

use std::collections::BTreeMap;

use iamd_api::iam as api;
use iamd_api::Timestamp;
use iamd_store::Change;

use crate::error::IamError;
use crate::ops::{group_arn, user_arn};
use crate::state::{Group, State, User};

pub(crate) trait Entity: Sized {
    /// The kind as AWS's messages spell it at the start of a sentence ("User").
    const KIND: &'static str;
    /// The entity as AWS returns it.
    type Api;

    /// lower(name) → id for every entity of this kind, in AWS's listing order.
    fn names(state: &State) -> &BTreeMap<String, String>;
    fn by_id<'a>(state: &'a State, id: &str) -> Option<&'a Self>;
    fn by_name<'a>(state: &'a State, name: &str) -> Option<&'a Self>;

    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn path(&self) -> &str;
    fn to_api(&self, account: &str) -> Self::Api;
    /// The change that stores this entity with a new name and/or path.
    fn renamed(&self, name: Option<String>, path: Option<String>) -> Change;

    /// AWS's NoSuchEntity for the name `name`.
    fn not_found(name: &str) -> IamError {
        IamError::NoSuchEntity(format!(
            "The {} with name {name} cannot be found.",
            Self::KIND.to_lowercase()
        ))
    }

    /// AWS's EntityAlreadyExists for the name `name`.
    fn already_exists(name: &str) -> IamError {
        IamError::EntityAlreadyExists(format!("{} with name {name} already exists.", Self::KIND))
    }

    /// The entity named `name` (case-insensitively), or NoSuchEntity.
    fn named<'a>(state: &'a State, name: &str) -> Result<&'a Self, IamError> {
        Self::by_name(state, name).ok_or_else(|| Self::not_found(name))
    }

    /// EntityAlreadyExists when `name` is taken by an entity other than the one with
    /// id `except`.
    fn ensure_name_free(state: &State, name: &str, except: Option<&str>) -> Result<(), IamError> {
        match Self::by_name(state, name) {
            Some(other) if Some(other.id()) != except => Err(Self::already_exists(name)),
            _ => Ok(()),
        }
    }
}

/// `id`, `name`, `path` and `renamed`, alike for every kind: they read and rewrite
/// `self.rec`, whose fields have these names; `$put` is the change that stores a record.
macro_rules! record_methods {
    ($put:path) => {
        fn id(&self) -> &str {
            &self.rec.id
        }
        fn name(&self) -> &str {
            &self.rec.name
        }
        fn path(&self) -> &str {
            &self.rec.path
        }
        fn renamed(&self, name: Option<String>, path: Option<String>) -> Change {
            let mut rec = self.rec.clone();
            if let Some(name) = name {
                rec.name = name;
            }
            if let Some(path) = path {
                rec.path = path;
            }
            $put(rec)
        }
    };
}

impl Entity for User {
    const KIND: &'static str = "User";
    type Api = api::User;

    fn names(state: &State) -> &BTreeMap<String, String> {
        &state.user_names
    }
    fn by_id<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        state.users.get(id)
    }
    fn by_name<'a>(state: &'a State, name: &str) -> Option<&'a Self> {
        state.user_by_name(name)
    }

    record_methods!(Change::PutUser);

    fn to_api(&self, account: &str) -> api::User {
        api::User {
            path: self.rec.path.clone(),
            user_name: self.rec.name.clone(),
            user_id: self.rec.id.clone(),
            arn: user_arn(account, &self.rec.path, &self.rec.name),
            create_date: Timestamp::from_millis(self.rec.created),
            password_last_used: None,
            permissions_boundary: None,
            tags: None,
        }
    }
}

impl Entity for Group {
    const KIND: &'static str = "Group";
    type Api = api::Group;

    fn names(state: &State) -> &BTreeMap<String, String> {
        &state.group_names
    }
    fn by_id<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        state.groups.get(id)
    }
    fn by_name<'a>(state: &'a State, name: &str) -> Option<&'a Self> {
        state.group_by_name(name)
    }

    record_methods!(Change::PutGroup);

    fn to_api(&self, account: &str) -> api::Group {
        api::Group {
            path: self.rec.path.clone(),
            group_name: self.rec.name.clone(),
            group_id: self.rec.id.clone(),
            arn: group_arn(account, &self.rec.path, &self.rec.name),
            create_date: Timestamp::from_millis(self.rec.created),
        }
    }
}
