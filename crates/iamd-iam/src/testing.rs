//! Test support: an in-memory [`Store`], a service opened over it, and a caller that
//! goes through the front door ([`Iam::handle`]) with a request written as a Query form.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use iamd_api::{iam, Params};
use iamd_policy::Context;
use iamd_store::{Change, Snapshot, Store, StoreError};

use crate::core::{Iam, InitOptions};
use crate::crypto::MasterKey;
use crate::error::IamError;
use crate::principal::{request_context, Principal, RequestOrigin};

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const ROOT_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// A store in memory: loads `snapshot`, records every committed batch, and fails every
/// `apply` while `failing` is set (nothing of the batch is recorded then).
#[derive(Clone, Default)]
pub(crate) struct MemStore {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) committed: Arc<Mutex<Vec<Vec<Change>>>>,
    pub(crate) failing: Arc<AtomicBool>,
}

impl MemStore {
    pub(crate) fn with(snapshot: Snapshot) -> Self {
        MemStore {
            snapshot: Arc::new(snapshot),
            ..MemStore::default()
        }
    }

    /// How many batches were committed.
    pub(crate) fn batches(&self) -> usize {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub(crate) fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }
}

impl Store for MemStore {
    /// The first account's snapshot; other accounts start empty (they are created
    /// at run time in these tests).
    async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        Ok(match account {
            None => (*self.snapshot).clone(),
            Some(_) => Snapshot::default(),
        })
    }
    async fn other_accounts(&self) -> Result<Vec<iamd_store::AccountRecord>, StoreError> {
        Ok(Vec::new())
    }
    async fn apply_in(&self, _: Option<&str>, changes: &[Change]) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Conflict("the test store refuses".into()));
        }
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(changes.to_vec());
        Ok(())
    }
}

pub(crate) fn master() -> MasterKey {
    MasterKey::from_bytes(&[7; 32]).unwrap_or_else(|e| panic!("{e}"))
}

/// The service over `store`, account [`ACCOUNT`], root key [`ROOT_KEY`].
pub(crate) async fn open(store: MemStore) -> Iam<MemStore> {
    let init = InitOptions {
        account_id: Some(ACCOUNT.to_string()),
        root_key: Some((ROOT_KEY.to_string(), "secret".to_string())),
        existing_only: false,
        keep_root_key: None,
    };
    match Iam::open(store, master(), init).await {
        Ok((iam, _)) => iam,
        Err(e) => panic!("open: {e}"),
    }
}

pub(crate) fn root() -> Principal {
    Principal::Root {
        account: ACCOUNT.to_string(),
    }
}

/// The request `op` with the Query form `form` (`UserName=u&…`).
pub(crate) fn request(op: &str, form: &str) -> iam::IamRequest {
    let p = Params::from_form(form.as_bytes()).unwrap_or_else(|e| panic!("{op}: {e:?}"));
    iam::decode(op, &p).unwrap_or_else(|e| panic!("{op} {form}: {e:?}"))
}

/// The request-level and principal context keys of a request by `p`.
pub(crate) fn context<S: Store>(iam: &Iam<S>, p: &Principal) -> Context {
    let mut ctx = request_context(&RequestOrigin::default(), 16);
    iam.add_principal_keys(p, &mut ctx);
    ctx
}

/// Runs `op` with `form` as `p` through the front door; the output as XML text.
pub(crate) async fn call<S: Store>(
    iam: &Iam<S>,
    p: &Principal,
    op: &str,
    form: &str,
) -> Result<String, IamError> {
    // Built on first use, as the server builds it.
    let build = || context(iam, p);
    let ctx = crate::LazyContext::new(&build);
    let out = iam.handle(p, request(op, form), &ctx).await?;
    let mut xml = String::new();
    if let Some(o) = out {
        o.write_xml(&mut xml);
    }
    Ok(xml)
}

/// [`call`] as the root, panicking on an error.
pub(crate) async fn ok<S: Store>(iam: &Iam<S>, op: &str, form: &str) -> String {
    call(iam, &root(), op, form)
        .await
        .unwrap_or_else(|e| panic!("{op} {form}: {e:?}"))
}

/// [`call`] as the root, which must fail; the error.
pub(crate) async fn err<S: Store>(iam: &Iam<S>, op: &str, form: &str) -> IamError {
    match call(iam, &root(), op, form).await {
        Ok(xml) => panic!("{op} {form} succeeded: {xml}"),
        Err(e) => e,
    }
}

/// The text between `<tag>` and `</tag>` (the first one).
pub(crate) fn field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = xml[start..]
        .find(&format!("</{tag}>"))
        .unwrap_or_else(|| panic!("no </{tag}> in {xml}"))
        + start;
    xml[start..end].to_string()
}

/// Runs the STS operation `op` with `form` as `p` through the front door.
pub(crate) async fn sts_call<S: Store>(
    iam: &Iam<S>,
    p: &Principal,
    op: &str,
    form: &str,
) -> Result<String, IamError> {
    let params = Params::from_form(form.as_bytes()).unwrap_or_else(|e| panic!("{op}: {e:?}"));
    let req = iamd_api::sts::decode(op, &params).unwrap_or_else(|e| panic!("{op}: {e:?}"));
    let ctx = context(iam, p);
    let out = iam
        .handle_sts(p, req, &crate::LazyContext::ready(&ctx))
        .await?;
    let mut xml = String::new();
    if let Some(o) = out {
        o.write_xml(&mut xml);
    }
    Ok(xml)
}
