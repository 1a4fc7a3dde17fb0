//! The front door: the only way to run an IAM or STS operation. The implemented
//! operations are listed once below; for each request the front door asks the
//! operation's own checks (which action on which resources, [`Operation::checks`]),
//! authorizes them with the one authorizer ([`Iam::authorize`]) and only then runs it
//! ([`Operation::run`], private to this crate, so no caller can run an operation it
//! did not authorize). An operation not listed is `NotImplemented`, before any
//! authorization: nothing is ever checked against a `*` it was not written for.

use iamd_api::iam::IamRequest;
use iamd_api::sts::StsRequest;
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::ops::{Cx, Operation, Output};
use crate::principal::{Check, LazyContext, Principal};

fn not_implemented(op: &str) -> IamError {
    IamError::NotImplemented(format!(
        "The operation {op} is not implemented by this server yet."
    ))
}

impl<S: Store> Iam<S> {
    /// The account of the IAM resource `arn` (`arn:aws:iam::ACCOUNT:…`) when this
    /// server holds it, else the caller's.
    fn for_resource(&self, p: &Principal, arn: &str) -> Iam<S> {
        arn.split(':')
            .nth(4)
            .filter(|a| *a != p.account())
            .and_then(|a| self.in_account(a))
            .unwrap_or_else(|| self.for_principal(p))
    }

    /// The checks of one operation.
    fn checks_of(
        &self,
        p: &Principal,
        action: &'static str,
        checks: impl FnOnce(&Cx<'_>) -> Result<Vec<Check>, IamError>,
    ) -> Result<Vec<Check>, IamError> {
        let state = self.read();
        let account = self.account_id();
        let mut checks = checks(&Cx {
            state: &state,
            account,
            principal: p,
            action,
        })?;
        for c in &mut checks {
            crate::ops::boundaries::add_existing_boundary_key(&state, account, c);
        }
        Ok(checks)
    }

    /// Checks, authorization, execution of one IAM or STS operation.
    async fn checked<O: Operation>(
        &self,
        p: &Principal,
        op: O,
        action: &'static str,
        ctx: &LazyContext<'_>,
    ) -> Result<Output, IamError> {
        let checks = self.checks_of(p, action, |cx| op.checks(cx))?;
        self.authorize(p, &checks, ctx)?;
        op.run(self, p).await
    }
}

/// The front door for the operations listed: `handle` / `handle_sts`, the names
/// ([`IMPLEMENTED`], [`STS_IMPLEMENTED`]) and, for tests, `checks` of a request.
macro_rules! front_door {
    (iam: [$($op:ident),* $(,)?], sts: [$($sts:ident),* $(,)?] $(,)?) => {
        /// The IAM operations this server implements.
        #[cfg_attr(not(test), allow(dead_code))]
        pub(crate) const IMPLEMENTED: &[&str] = &[$(stringify!($op)),*];
        /// The STS operations this server implements.
        #[cfg_attr(not(test), allow(dead_code))]
        pub(crate) const STS_IMPLEMENTED: &[&str] = &[$(stringify!($sts)),*];

        impl<S: Store> Iam<S> {
            /// Runs one IAM operation for `p`: its checks, authorization, execution.
            /// `ctx` holds the request's condition keys ([`crate::request_context`]
            /// plus [`Iam::add_principal_keys`]), built when a decision needs them.
            pub async fn handle(
                &self,
                p: &Principal,
                req: IamRequest,
                ctx: &LazyContext<'_>,
            ) -> Result<Output, IamError> {
                // GetSessionToken credentials call IAM only when MFA was used (AWS).
                // Federated users never (AWS).
                if matches!(p, Principal::Session(s) if !s.mfa)
                    || matches!(p, Principal::FederatedUser(_))
                {
                    return Err(IamError::InvalidClientTokenId);
                }
                // Served in the caller's account.
                let this = &self.for_principal(p);
                match req {
                    $(IamRequest::$op(r) => {
                        this.checked(p, r, concat!("iam:", stringify!($op)), ctx).await
                    })*
                    other => Err(not_implemented(other.operation_name())),
                }
            }

            /// Runs one STS operation for `p`, the same way.
            pub async fn handle_sts(
                &self,
                p: &Principal,
                req: StsRequest,
                ctx: &LazyContext<'_>,
            ) -> Result<Output, IamError> {
                // Federated users may call only GetCallerIdentity of STS (AWS).
                if let Principal::FederatedUser(_) = p {
                    if !matches!(req, StsRequest::GetCallerIdentity(_)) {
                        return Err(crate::ops::sts::session_credentials_refused(
                            req.operation_name(),
                        ));
                    }
                }
                // Served in the caller's account; AssumeRole in the role's (the
                // session belongs to it; the caller's identity policies still come
                // from the caller's account).
                let this = &match &req {
                    StsRequest::AssumeRole(r) => self.for_resource(p, &r.role_arn),
                    _ => self.for_principal(p),
                };
                match req {
                    $(StsRequest::$sts(r) => {
                        this.checked(p, r, concat!("sts:", stringify!($sts)), ctx).await
                    })*
                    other => Err(not_implemented(other.operation_name())),
                }
            }

            /// The checks `handle` would authorize for `req`.
            #[cfg(test)]
            pub(crate) fn checks(
                &self,
                p: &Principal,
                req: &IamRequest,
            ) -> Result<Vec<Check>, IamError> {
                match req {
                    $(IamRequest::$op(r) => {
                        self.checks_of(p, concat!("iam:", stringify!($op)), |cx| r.checks(cx))
                    })*
                    other => Err(not_implemented(other.operation_name())),
                }
            }
        }
    };
}

front_door! {
    iam: [
        // users (ops/users.rs)
        CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser,
        // tags (ops/tags.rs)
        TagUser, UntagUser, ListUserTags,
        // groups and membership (ops/groups.rs)
        CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup,
        AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser,
        // inline policies (ops/inline_policies.rs)
        PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy,
        PutGroupPolicy, GetGroupPolicy, ListGroupPolicies, DeleteGroupPolicy,
        // access keys (ops/access_keys.rs)
        CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
        GetAccessKeyLastUsed,
        // roles and service-linked roles (ops/roles.rs)
        CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription,
        UpdateAssumeRolePolicy, DeleteRole,
        CreateServiceLinkedRole, DeleteServiceLinkedRole, GetServiceLinkedRoleDeletionStatus,
        PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy,
        TagRole, UntagRole, ListRoleTags,
        // instance profiles (ops/instance_profiles.rs; tags: ops/tags.rs)
        CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles, DeleteInstanceProfile,
        AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile, ListInstanceProfilesForRole,
        TagInstanceProfile, UntagInstanceProfile, ListInstanceProfileTags,
        // managed policies, versions, tags, attachments (ops/managed_policies.rs)
        CreatePolicy, GetPolicy, DeletePolicy, ListPolicies,
        CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
        SetDefaultPolicyVersion,
        TagPolicy, UntagPolicy, ListPolicyTags,
        AttachUserPolicy, DetachUserPolicy, ListAttachedUserPolicies,
        AttachGroupPolicy, DetachGroupPolicy, ListAttachedGroupPolicies,
        AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies,
        ListEntitiesForPolicy,
        // permissions boundaries (ops/boundaries.rs)
        PutUserPermissionsBoundary, DeleteUserPermissionsBoundary,
        PutRolePermissionsBoundary, DeleteRolePermissionsBoundary,
        // the account (ops/account.rs, ops/authorization_details.rs)
        GetAccountSummary, GetAccountAuthorizationDetails,
        // the policy simulator (ops/simulator.rs)
        SimulateCustomPolicy, SimulatePrincipalPolicy,
        GetContextKeysForCustomPolicy, GetContextKeysForPrincipalPolicy,
    ],
    sts: [
        // ops/sts.rs
        GetCallerIdentity, AssumeRole, GetSessionToken, GetFederationToken,
        GetAccessKeyInfo, DecodeAuthorizationMessage,
    ],
}
