//! Policies as the service keeps them: the document text as the client sent it, and
//! its compiled form, built once when written (or loaded).

use std::sync::Arc;

use iamd_policy::{CompiledPolicy, PolicyType};

#[derive(Debug, Clone)]
pub struct StoredPolicy {
    pub document: Arc<str>,
    pub compiled: Arc<CompiledPolicy>,
}

impl StoredPolicy {
    /// Compiles an inline identity policy. `id` names it in decision evidence.
    pub fn inline(document: &str, id: &str) -> Result<Self, String> {
        let compiled =
            CompiledPolicy::from_json(document, PolicyType::Inline, id).map_err(|findings| {
                findings
                    .first()
                    .map(|f| f.message.clone())
                    .unwrap_or_default()
            })?;
        Ok(StoredPolicy {
            document: document.into(),
            compiled: Arc::new(compiled),
        })
    }
}
