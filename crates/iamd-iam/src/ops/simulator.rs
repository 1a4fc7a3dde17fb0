//! The policy simulator's operations; the simulator itself is `simulate.rs`.
//! SimulateCustomPolicy and GetContextKeysForCustomPolicy are wildcard-only actions;
//! the principal variants are checked on the simulated principal's ARN.

use iamd_api::iam as api;
use iamd_store::Store;

use super::{Cx, Operation, Output};
use crate::core::Iam;
use crate::error::IamError;
use crate::principal::{Check, Principal};

impl Operation for api::SimulateCustomPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.simulate_custom_policy(self)
    }
}

impl Operation for api::SimulatePrincipalPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.by_arn(&self.policy_source_arn))
    }
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.simulate_principal_policy(self)
    }
}

impl Operation for api::GetContextKeysForCustomPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.get_context_keys_for_custom_policy(self)
    }
}

impl Operation for api::GetContextKeysForPrincipalPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.by_arn(&self.policy_source_arn))
    }
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.get_context_keys_for_principal_policy(self)
    }
}
