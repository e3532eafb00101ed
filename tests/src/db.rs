//! Throwaway databases: a SQLite file and, when the server answers, a PostgreSQL database.

use hookgate_storage::Store;
use sea_orm::{ConnectionTrait, Database};
use std::{future::Future, path::PathBuf};

/// Where the PostgreSQL server for tests is; override with `HOOKGATE_TEST_POSTGRES_URL`.
fn postgres_admin_url() -> String {
    std::env::var("HOOKGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// With `HOOKGATE_TEST_REQUIRE_POSTGRES=1` (as in CI) an unreachable server fails the run.
fn postgres_required() -> bool {
    std::env::var("HOOKGATE_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A database that exists for one test.
pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    sqlite_file: Option<PathBuf>,
    postgres_database: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let file = std::env::temp_dir().join(format!(
            "hookgate-test-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        Self {
            backend: "sqlite",
            url: format!("sqlite://{}?mode=rwc", file.display()),
            sqlite_file: Some(file),
            postgres_database: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (loudly) when the server is unreachable.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let admin = match Database::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(error) if !postgres_required() => {
                eprintln!("\n*** SKIPPING POSTGRESQL: {admin_url} is unreachable ({error}); set HOOKGATE_TEST_REQUIRE_POSTGRES=1 to fail instead ***\n");
                return None;
            }
            Err(error) => panic!("PostgreSQL at {admin_url} is required but unreachable: {error}"),
        };
        let name = format!("hookgate_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url);
        Some(Self {
            backend: "postgres",
            url: format!("{base}/{name}"),
            sqlite_file: None,
            postgres_database: Some(name),
        })
    }

    /// The `host:port` part of the URL, resolved: where a proxy in front of it forwards to.
    pub fn server_addr(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs;
        let (start, end) = self.authority();
        self.url[start..end]
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("{} has no host:port", self.url))
    }

    /// This database's URL with `addr` as the server, e.g. a proxy's.
    pub fn url_through(&self, addr: std::net::SocketAddr) -> String {
        let (start, end) = self.authority();
        format!("{}{addr}{}", &self.url[..start], &self.url[end..])
    }

    /// Where `host:port` is in the URL: after the credentials, before the database name.
    fn authority(&self) -> (usize, usize) {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        let path = self.url[after_scheme..]
            .find('/')
            .map_or(self.url.len(), |i| after_scheme + i);
        let start = self.url[after_scheme..path]
            .rfind('@')
            .map_or(after_scheme, |i| after_scheme + i + 1);
        (start, path)
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

/// Drops a test database, even while pools still hold connections to it.
fn drop_postgres_database(name: String) {
    // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of its own.
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        });
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_database.take() {
            drop_postgres_database(name);
        }
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// Runs `test` once on SQLite and once on PostgreSQL.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    test(TestDb::sqlite()).await;
    if let Some(db) = TestDb::postgres().await {
        test(db).await;
    }
}
