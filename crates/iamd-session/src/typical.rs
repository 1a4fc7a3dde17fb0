//! A typical session: a role session without policies, with two tags. Included by the
//! unit tests, `benches/token.rs` and `examples/fuzz_seeds.rs` (each imports the crate's
//! items into the including module).
use super::*;

/// A role session without policies, with two tags.
pub fn typical_claims() -> SessionClaims {
    SessionClaims {
        tags: vec![
            SessionTag {
                key: "team".into(),
                value: "melvins".into(),
            },
            SessionTag {
                key: "cost-center".into(),
                value: "12345".into(),
            },
        ],
        ..SessionClaims::new(
            "123456789012".into(),
            SessionPrincipal::AssumedRole {
                role_id: "AROA3XFRBF535PLBIFPI4".into(),
                role_name: "houdini-writer".into(),
                role_path: "/".into(),
                session_name: "melvins-ci-2024".into(),
            },
            SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            1_700_000_000,
            1_700_003_600,
        )
    }
}
