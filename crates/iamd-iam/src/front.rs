//! The front door: the only way to run an IAM or STS operation. Each request is
//! checked (which action on which resource, [`crate::authz`]), authorized by the one
//! authorizer ([`Iam::authorize`]) and only then executed; execution itself is private
//! to this crate, so no caller can run an operation it did not authorize.

use iamd_api::iam::IamRequest;
use iamd_api::sts::{self, StsRequest};
use iamd_policy::Context;
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::ops::Output;
use crate::principal::{Check, Principal};

impl<S: Store> Iam<S> {
    /// Runs one IAM operation for `p`: checks, authorization, execution. `ctx` holds the
    /// request's condition keys ([`crate::request_context`] plus
    /// [`Iam::add_principal_keys`]).
    pub async fn handle(
        &self,
        p: &Principal,
        req: IamRequest,
        ctx: &Context,
    ) -> Result<Output, IamError> {
        let checks = self.checks(p, &req)?;
        self.authorize(p, &checks, ctx)?;
        self.execute(p, req).await
    }

    /// Runs one STS operation for `p`; GetCallerIdentity answers who is calling.
    pub fn handle_sts(
        &self,
        p: &Principal,
        req: StsRequest,
        ctx: &Context,
    ) -> Result<Output, IamError> {
        let action = format!("sts:{}", req.operation_name());
        // As for IAM (`Iam::checks`): `*` only for an action the Service Authorization
        // Reference lists with no resource type; AssumeRole and the other role actions
        // need their role mapped first.
        if !iamd_policy::sar_resource_types(&action).is_some_and(<[_]>::is_empty) {
            return Err(IamError::NotImplemented(format!(
                "The operation {} is not implemented by this server yet.",
                req.operation_name()
            )));
        }
        let check = Check::wildcard(action);
        self.authorize(p, std::slice::from_ref(&check), ctx)?;
        match req {
            StsRequest::GetCallerIdentity(_) => Ok(Some(Box::new(sts::GetCallerIdentityResult {
                user_id: Some(p.user_id().to_string()),
                account: Some(p.account().to_string()),
                arn: Some(p.arn().into_owned()),
            }))),
            other => Err(IamError::NotImplemented(format!(
                "The operation {} is not implemented by this server yet.",
                other.operation_name()
            ))),
        }
    }
}
