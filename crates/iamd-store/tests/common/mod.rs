//! What both test files share: a fresh empty store per scenario on each backend, and
//! the macros that run every scenario on both.

use std::any::Any;

use iamd_store::testing::PgCluster;
use iamd_store::AnyStore;

/// Keeps a store's backing (its temp dir) alive for the test.
pub type Guard = Box<dyn Any + Send>;

/// A store in a fresh temp dir.
pub async fn sqlite_store() -> (AnyStore, Guard) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let store = match AnyStore::open_dir(dir.path()).await {
        Ok(s) => s,
        Err(e) => panic!("open sqlite store: {e}"),
    };
    (store, Box::new(dir))
}

/// A store on a fresh database of the shared test cluster. Fails (never skips) if
/// PostgreSQL is missing.
pub async fn postgres_store() -> (AnyStore, Guard) {
    let cluster = match PgCluster::shared() {
        Ok(c) => c,
        Err(e) => panic!("PostgreSQL test cluster unavailable: {e}"),
    };
    let url = match cluster.create_database().await {
        Ok(u) => u,
        Err(e) => panic!("creating a test database: {e}"),
    };
    let store = match AnyStore::open(&url).await {
        Ok(s) => s,
        Err(e) => panic!("open postgres store {url}: {e}"),
    };
    assert_eq!(store.backend(), "postgres");
    (store, Box::new(()))
}

/// `mod $module` with one test per scenario `$name` (an `async fn(AnyStore)` at the
/// crate root), each on a fresh store from `common::$factory`, on a runtime with
/// `$threads` workers.
macro_rules! on_backend {
    ($module:ident, $factory:ident, $threads:literal: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $name() {
                    let (store, _guard) = $crate::common::$factory().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}
pub(crate) use on_backend;

/// Every scenario named, once on SQLite (`mod sqlite`) and once on PostgreSQL
/// (`mod postgres`), with `threads = N` runtime workers.
macro_rules! on_both {
    (threads = $threads:literal; $($name:ident),* $(,)?) => {
        $crate::common::on_backend!(sqlite, sqlite_store, $threads: $($name),*);
        $crate::common::on_backend!(postgres, postgres_store, $threads: $($name),*);
    };
}
pub(crate) use on_both;
