//! Webhook persistence.

use crate::{entity, error::from_db, migration::Migrator};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use hookgate_domain::{
    token, Error, HmacScheme, PreviousSecret, Secret, VerificationType, Webhook, WebhookName,
    WebhookSpec,
};
use sea_orm::{
    sea_query::Expr,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
    ActiveValue::Set,
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Connections per process unless configured: enough for a laptop's `serve`.
pub const DEFAULT_POOL: u32 = 16;

/// The advisory lock key migrations take on PostgreSQL ("hookgate" in ASCII).
const MIGRATION_LOCK: i64 = 0x686f_6f6b_6761_7465;

/// One page of a listing; `more` says whether another page follows.
#[derive(Debug)]
pub struct Page {
    pub webhooks: Vec<Webhook>,
    pub more: bool,
}

/// Webhook storage on one database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_pool(url, DEFAULT_POOL).await
    }

    /// Connects with at most `max_connections` open at once: each replica's share of the
    /// server's connection limit.
    pub async fn connect_with_pool(url: &str, max_connections: u32) -> Result<Self, Error> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections.max(1))
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false)
            // Concurrent writers (delivery claims) would otherwise queue behind SQLite's
            // rollback journal and its fsyncs; a power cut may lose the last commits, never
            // consistency.
            .map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
            });
        let db = Database::connect(options).await.map_err(from_db)?;
        Ok(Self { db })
    }

    /// Applies every pending migration. On PostgreSQL under a transaction-scoped advisory
    /// lock, so replicas that start together migrate one after the other instead of racing
    /// on the same DDL.
    pub async fn migrate(&self) -> Result<(), Error> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Migrator::up(&self.db, None).await.map_err(from_db);
        }
        let transaction = self.db.begin().await.map_err(from_db)?;
        transaction
            .execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .map_err(from_db)?;
        Migrator::up(&transaction, None).await.map_err(from_db)?;
        transaction.commit().await.map_err(from_db)
    }

    /// `Ok` once every migration this binary knows is applied, for `/readyz`. Migrations it
    /// does not know (a newer binary's) are fine: they must keep older replicas working
    /// during a rollout.
    pub async fn schema_current(&self) -> Result<(), Error> {
        let backend = self.db.get_database_backend();
        let applied: std::collections::HashSet<String> = self
            .db
            .query_all(Statement::from_string(
                backend,
                "SELECT version FROM seaql_migrations",
            ))
            .await
            .map_err(|_| Error::Unavailable("schema: not migrated yet".to_owned()))?
            .iter()
            .filter_map(|row| row.try_get::<String>("", "version").ok())
            .collect();
        let missing: Vec<String> = Migrator::migrations()
            .iter()
            .map(|migration| migration.name().to_owned())
            .filter(|name| !applied.contains(name))
            .collect();
        match missing.is_empty() {
            true => Ok(()),
            false => Err(Error::Unavailable(format!(
                "schema: migrations not applied yet: {}",
                missing.join(", ")
            ))),
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await.map_err(from_db)
    }

    pub async fn create(&self, application_id: &str, spec: WebhookSpec) -> Result<Webhook, Error> {
        let now = now();
        let webhook = Webhook {
            name: WebhookName::new(application_id, token::new_webhook_id()),
            token: token::new_url_token(),
            spec,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        entity::Entity::insert(to_active(&webhook)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(from_db)?;
        Ok(webhook)
    }

    pub async fn get(&self, name: &WebhookName) -> Result<Webhook, Error> {
        entity::Entity::find_by_id(name.webhook_id.clone())
            .filter(entity::Column::ApplicationId.eq(name.application_id.as_str()))
            .one(&self.db)
            .await
            .map_err(from_db)?
            .map(from_model)
            .transpose()?
            .ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// The webhook a URL token belongs to: one indexed query.
    pub async fn find_by_token(&self, url_token: &str) -> Result<Option<Webhook>, Error> {
        entity::Entity::find()
            .filter(entity::Column::Token.eq(url_token))
            .one(&self.db)
            .await
            .map_err(from_db)?
            .map(from_model)
            .transpose()
    }

    /// Up to `limit` webhooks of an application with ids after `after_id`, oldest first.
    pub async fn list(
        &self,
        application_id: &str,
        after_id: Option<&str>,
        limit: u64,
    ) -> Result<Page, Error> {
        let mut query = entity::Entity::find()
            .filter(entity::Column::ApplicationId.eq(application_id))
            .order_by_asc(entity::Column::Id)
            .limit(limit + 1);
        if let Some(after) = after_id {
            query = query.filter(entity::Column::Id.gt(after));
        }
        let mut models = query.all(&self.db).await.map_err(from_db)?;
        let more = models.len() as u64 > limit;
        models.truncate(limit as usize);
        let webhooks = models
            .into_iter()
            .map(from_model)
            .collect::<Result<_, _>>()?;
        Ok(Page { webhooks, more })
    }

    /// Replaces the spec of a webhook still at `current.revision`; ABORTED when it moved on.
    pub async fn update(&self, current: &Webhook, spec: WebhookSpec) -> Result<Webhook, Error> {
        let updated = Webhook {
            spec,
            revision: current.revision + 1,
            update_time: now(),
            ..current.clone()
        };
        self.compare_and_set(current, &updated).await?;
        Ok(updated)
    }

    /// Gives the webhook a new token; the old one stops resolving at once.
    pub async fn rotate_token(&self, current: &Webhook) -> Result<Webhook, Error> {
        let rotated = Webhook {
            token: token::new_url_token(),
            revision: current.revision + 1,
            update_time: now(),
            ..current.clone()
        };
        self.compare_and_set(current, &rotated).await?;
        Ok(rotated)
    }

    /// Sets the signing secret of a webhook that has none (Asana's handshake hands it
    /// over). Returns whether it was set: a webhook that already has one keeps it.
    pub async fn keep_signing_secret(
        &self,
        name: &WebhookName,
        secret: Secret,
    ) -> Result<bool, Error> {
        let result = entity::Entity::update_many()
            .col_expr(
                entity::Column::SigningSecret,
                Expr::value(secret.into_exposed()),
            )
            .col_expr(
                entity::Column::Revision,
                Expr::col(entity::Column::Revision).add(1),
            )
            .col_expr(entity::Column::UpdateTime, Expr::value(now()))
            .filter(entity::Column::Id.eq(name.webhook_id.as_str()))
            .filter(entity::Column::ApplicationId.eq(name.application_id.as_str()))
            .filter(entity::Column::SigningSecret.is_null())
            .exec(&self.db)
            .await
            .map_err(from_db)?;
        Ok(result.rows_affected == 1)
    }

    /// Deletes the webhook if it is still at `current.revision`.
    pub async fn delete(&self, current: &Webhook) -> Result<(), Error> {
        let result = entity::Entity::delete_many()
            .filter(entity::Column::Id.eq(current.name.webhook_id.as_str()))
            .filter(entity::Column::ApplicationId.eq(current.name.application_id.as_str()))
            .filter(entity::Column::Revision.eq(current.revision))
            .exec(&self.db)
            .await
            .map_err(from_db)?;
        self.expect_one_row(result.rows_affected, current).await
    }

    async fn compare_and_set(&self, current: &Webhook, next: &Webhook) -> Result<(), Error> {
        let mut active = to_active(next)?;
        active.id = sea_orm::ActiveValue::NotSet;
        active.application_id = sea_orm::ActiveValue::NotSet;
        active.create_time = sea_orm::ActiveValue::NotSet;
        let result = entity::Entity::update_many()
            .set(active)
            .filter(entity::Column::Id.eq(current.name.webhook_id.as_str()))
            .filter(entity::Column::ApplicationId.eq(current.name.application_id.as_str()))
            .filter(Expr::col(entity::Column::Revision).eq(current.revision))
            .exec(&self.db)
            .await
            .map_err(from_db)?;
        self.expect_one_row(result.rows_affected, current).await
    }

    /// Zero rows touched means the webhook is gone or another writer got there first.
    async fn expect_one_row(&self, rows: u64, current: &Webhook) -> Result<(), Error> {
        if rows == 1 {
            return Ok(());
        }
        match self.get(&current.name).await {
            Ok(_) => Err(Error::EtagMismatch(current.name.to_string())),
            Err(e) => Err(e),
        }
    }

    /// The underlying connection, for callers that must run raw statements (tests, tools).
    pub fn connection(&self) -> &impl ConnectionTrait {
        &self.db
    }
}

/// The current time at the precision every backend keeps (PostgreSQL: microseconds), so
/// what a write returns equals what a later read returns.
fn now() -> DateTime<Utc> {
    let time = Utc::now();
    time.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(time)
}

fn to_active(webhook: &Webhook) -> Result<entity::ActiveModel, Error> {
    let spec = &webhook.spec;
    let exposed = |secret: &Option<Secret>| secret.as_ref().map(|s| s.expose().clone());
    let hmac = spec
        .hmac
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| Error::Internal(format!("hmac scheme not storable: {error}")))?;
    Ok(entity::ActiveModel {
        id: Set(webhook.name.webhook_id.clone()),
        application_id: Set(webhook.name.application_id.clone()),
        token: Set(webhook.token.clone()),
        display_name: Set(spec.display_name.clone()),
        description: Set(spec.description.clone()),
        disabled: Set(spec.disabled),
        verification_type: Set(spec.verification_type.as_str().to_owned()),
        verification_code: Set(spec.verification_code.expose().clone()),
        signing_secret: Set(exposed(&spec.signing_secret)),
        response_code: Set(i32::from(spec.response_code)),
        wait_for_reply: Set(spec.wait_for_reply),
        reply_timeout_ms: Set(i64::try_from(spec.reply_timeout.as_millis()).unwrap_or(i64::MAX)),
        basic_auth_username: Set(spec.basic_auth_username.clone()),
        basic_auth_password_digest: Set(exposed(&spec.basic_auth_password_digest)),
        verification_provider: Set(spec.verification_provider.clone()),
        hmac: Set(hmac),
        previous_signing_secret: Set(spec
            .previous_secret
            .as_ref()
            .map(|p| p.secret.expose().clone())),
        previous_secret_expire_time: Set(spec.previous_secret.as_ref().map(|p| p.expire_time)),
        deduplication_key: Set(spec.deduplication.as_ref().map(|d| d.key.clone())),
        deduplication_enabled: Set(spec.deduplication.as_ref().is_some_and(|d| d.enabled)),
        deduplication_window_ms: Set(spec.deduplication.as_ref().map_or(0, |d| {
            i64::try_from(d.window.as_millis()).unwrap_or(i64::MAX)
        })),
        revision: Set(webhook.revision),
        create_time: Set(webhook.create_time),
        update_time: Set(webhook.update_time),
    })
}

fn from_model(model: entity::Model) -> Result<Webhook, Error> {
    let corrupt =
        |what: &str| Error::Internal(format!("stored webhook {} has an invalid {what}", model.id));
    let verification_type = VerificationType::parse(&model.verification_type)
        .ok_or_else(|| corrupt("verification_type"))?;
    let response_code = u16::try_from(model.response_code).map_err(|_| corrupt("response_code"))?;
    let reply_timeout =
        u64::try_from(model.reply_timeout_ms).map_err(|_| corrupt("reply_timeout"))?;
    let hmac = model
        .hmac
        .as_deref()
        .map(serde_json::from_str::<HmacScheme>)
        .transpose()
        .map_err(|_| corrupt("hmac"))?;
    let previous_secret = match (
        model.previous_signing_secret,
        model.previous_secret_expire_time,
    ) {
        (Some(secret), Some(expire_time)) => Some(PreviousSecret {
            secret: secret.into(),
            expire_time,
        }),
        _ => None,
    };
    let deduplication = deduplication(
        model.deduplication_key.clone(),
        model.deduplication_enabled,
        model.deduplication_window_ms,
    )
    .map_err(|()| corrupt("deduplication_window_ms"))?;
    Ok(Webhook {
        name: WebhookName::new(model.application_id, model.id),
        token: model.token,
        spec: WebhookSpec {
            display_name: model.display_name,
            description: model.description,
            disabled: model.disabled,
            verification_type,
            verification_code: model.verification_code.into(),
            signing_secret: model.signing_secret.map(Secret::from),
            verification_provider: model.verification_provider,
            hmac,
            previous_secret,
            response_code,
            wait_for_reply: model.wait_for_reply,
            reply_timeout: Duration::from_millis(reply_timeout),
            basic_auth_username: model.basic_auth_username,
            basic_auth_password_digest: model.basic_auth_password_digest.map(Secret::from),
            deduplication,
        },
        revision: model.revision,
        create_time: model.create_time,
        update_time: model.update_time,
    })
}

fn deduplication(
    key: Option<String>,
    enabled: bool,
    window_ms: i64,
) -> Result<Option<hookgate_domain::dedup::Deduplication>, ()> {
    let Some(key) = key else { return Ok(None) };
    let window = u64::try_from(window_ms).map_err(|_| ())?;
    Ok(Some(hookgate_domain::dedup::Deduplication {
        enabled,
        key,
        window: Duration::from_millis(window),
    }))
}
