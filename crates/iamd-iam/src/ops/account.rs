//! The account: GetAccountSummary (a wildcard-only action).

use std::collections::BTreeMap;

use iamd_api::iam as api;
use iamd_store::Store;

use super::{out, quota, Cx, Operation, Output};
use crate::core::Iam;
use crate::error::IamError;
use crate::principal::{Check, Principal};

impl Operation for api::GetAccountSummaryRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let root_keys = state.keys.values().any(|k| k.rec.user_id.is_none());
        // Versions in use: every version of every customer-managed policy, and the
        // default version of each AWS-managed policy in use in this account.
        let local_versions: usize = state.policies.values().map(|p| p.versions.len()).sum();
        let aws_in_use = state.aws_managed_in_use().len();
        let m: BTreeMap<String, i32> = [
            ("Users", count(state.users.len())),
            ("UsersQuota", quota::USERS),
            ("Groups", count(state.groups.len())),
            ("GroupsQuota", quota::GROUPS),
            ("GroupsPerUserQuota", count(quota::GROUPS_PER_USER)),
            ("AccessKeysPerUserQuota", count(quota::ACCESS_KEYS_PER_USER)),
            ("UserPolicySizeQuota", count(quota::USER_POLICY_SIZE)),
            ("GroupPolicySizeQuota", count(quota::GROUP_POLICY_SIZE)),
            ("AccountAccessKeysPresent", i32::from(root_keys)),
            ("AccountMFAEnabled", 0),
            // The account root has no console password here.
            ("AccountPasswordPresent", 0),
            ("AccountSigningCertificatesPresent", 0),
            ("MFADevices", 0),
            ("MFADevicesInUse", 0),
            ("Policies", count(state.policies.len())),
            ("PoliciesQuota", count(quota::MANAGED_POLICIES)),
            ("PolicySizeQuota", count(quota::MANAGED_POLICY_SIZE)),
            ("PolicyVersionsInUse", count(local_versions + aws_in_use)),
            (
                "PolicyVersionsInUseQuota",
                count(quota::POLICY_VERSIONS_IN_USE),
            ),
            ("VersionsPerPolicyQuota", count(quota::VERSIONS_PER_POLICY)),
            (
                "AttachedPoliciesPerGroupQuota",
                count(quota::ATTACHED_POLICIES),
            ),
            (
                "AttachedPoliciesPerRoleQuota",
                count(quota::ATTACHED_POLICIES),
            ),
            (
                "AttachedPoliciesPerUserQuota",
                count(quota::ATTACHED_POLICIES),
            ),
            ("Roles", count(state.roles.len())),
            ("RolesQuota", count(quota::ROLES)),
            ("RolePolicySizeQuota", count(quota::ROLE_POLICY_SIZE)),
            ("AssumeRolePolicySizeQuota", count(quota::TRUST_POLICY_SIZE)),
            ("InstanceProfiles", count(state.profiles.len())),
            ("InstanceProfilesQuota", count(quota::INSTANCE_PROFILES)),
            ("Providers", 0),
            ("ServerCertificates", 0),
            ("ServerCertificatesQuota", 20),
            ("SigningCertificatesPerUserQuota", 2),
            ("GlobalEndpointTokenVersion", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        out(api::GetAccountSummaryResult {
            summary_map: Some(m),
        })
    }
}
