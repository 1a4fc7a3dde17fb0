//! STS: GetCallerIdentity (a wildcard-only action) answers who is calling.

use iamd_api::sts;
use iamd_store::Store;

use super::{Cx, Operation, Output};
use crate::core::Iam;
use crate::error::IamError;
use crate::principal::{Check, Principal};

impl Operation for sts::GetCallerIdentityRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    async fn run<S: Store>(self, _: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        Ok(Some(Box::new(sts::GetCallerIdentityResult {
            user_id: Some(p.user_id().to_string()),
            account: Some(p.account().to_string()),
            arn: Some(p.arn().into_owned()),
        })))
    }
}
