//! Writes the seed corpus of the `session_token` fuzz target (fuzz/corpus/session_token):
//! tokens sealed with the target's fixed key, as text and as raw bytes, and claims
//! encodings, for every principal kind.
//!
//!     cargo run -p iamd-session --example fuzz_seeds -- fuzz/corpus/session_token
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "one-off seed writer"
)]
use base64::Engine as _;
use iamd_session::*;

#[path = "../src/typical.rs"]
mod typical;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let master = [0x46u8; 32];
    let key_id = "ASIAFUZZEXAMPLE0";
    let base = typical::typical_claims();
    let mut full = base.clone();
    full.mfa_authenticated_at = Some(1_699_999_000);
    full.source_identity = Some("melvins@example.com".into());
    full.role_chained = true;
    full.from_session_credentials = true;
    full.session_policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::houdini/in/*"}]}"#.into());
    full.session_policy_arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    full.transitive_tag_keys = vec!["team".into()];
    let mut fed = base.clone();
    fed.principal = SessionPrincipal::FederatedUser {
        name: "bob".into(),
        issuer_id: "AIDAJQABLZS4A3QDU576Q".into(),
    };
    let mut user = base.clone();
    user.principal = SessionPrincipal::UserSession {
        user_id: "AIDAJQABLZS4A3QDU576Q".into(),
        user_name: "melvins".into(),
        user_path: "/".into(),
    };
    user.mfa_authenticated_at = Some(1_700_000_000);
    let mut root = base.clone();
    root.principal = SessionPrincipal::RootSession;
    let mut expired = base.clone();
    expired.expires_at = 1_700_000_100;

    let write = |name: &str, mode: u8, body: &[u8]| {
        let mut v = vec![mode];
        v.extend_from_slice(body);
        std::fs::write(dir.join(name), v).unwrap();
    };
    for (i, (name, c)) in [
        ("role", &base),
        ("role-full", &full),
        ("federated", &fed),
        ("user", &user),
        ("root", &root),
        ("expired", &expired),
    ]
    .into_iter()
    .enumerate()
    {
        let nonce = [i as u8; NONCE_LEN];
        let ring = Keyring::new(&master, 2).unwrap();
        let token = seal(&ring, c, key_id, &nonce).unwrap();
        write(&format!("token-{name}"), 0, token.as_bytes());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        write(&format!("raw-{name}"), 1, &raw);
        write(&format!("claims-{name}"), 2, &codec::encode(c).unwrap());
    }
    for g in [0u32, 1] {
        let ring = Keyring::new(&master, g).unwrap();
        let token = seal(&ring, &base, key_id, &[9; NONCE_LEN]).unwrap();
        write(&format!("token-generation-{g}"), 0, token.as_bytes());
    }
}
