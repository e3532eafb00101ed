//! Webhook persistence.

use crate::{
    change::{self, Change},
    entity,
    error::from_db,
    migration::Migrator,
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use hookgate_domain::{
    token, Error, HmacScheme, PreviousSecret, Secret, VerificationType, Webhook, WebhookName,
    WebhookSpec,
};
use sea_orm::{
    sea_query::Expr,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
    ActiveValue::Set,
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

/// How long the change log keeps a write. A gateway that has not read the log for half of
/// this reloads every webhook instead.
pub const CHANGE_RETENTION: Duration = Duration::from_secs(3600);
/// Writers prune the change log at most this often.
const PRUNE_EVERY: TimeDelta = TimeDelta::minutes(10);
/// SQLite's default limit on bound parameters is 999.
const IDS_PER_QUERY: usize = 500;

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
    /// When this process last pruned the change log, in seconds since the epoch.
    last_prune: Arc<AtomicI64>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) with the default pool size.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_pool(url, DEFAULT_POOL).await
    }

    /// Connects with at most `max_connections` open at once: each replica's share of the
    /// server's connection limit.
    pub async fn connect_with_pool(url: &str, max_connections: u32) -> Result<Self, Error> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections.max(1))
            .min_connections(0)
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
        Ok(Self {
            db,
            last_prune: Arc::default(),
        })
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
        let txn = self.db.begin().await.map_err(from_db)?;
        entity::Entity::insert(to_active(&webhook)?)
            .exec_without_returning(&txn)
            .await
            .map_err(from_db)?;
        self.log_change(txn, &webhook).await?;
        Ok(webhook)
    }

    /// Records that `before` changed and commits: every write goes through here, so a
    /// gateway following the log misses none.
    async fn log_change(&self, txn: DatabaseTransaction, before: &Webhook) -> Result<(), Error> {
        let now = now();
        change::Entity::insert(change::ActiveModel {
            seq: sea_orm::ActiveValue::NotSet,
            webhook_id: Set(before.name.webhook_id.clone()),
            token: Set(before.token.clone()),
            change_time: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(from_db)?;
        txn.commit().await.map_err(from_db)?;
        self.prune_changes(now).await;
        Ok(())
    }

    /// Drops log rows older than the retention, at most once per `PRUNE_EVERY`. A failure
    /// only delays it: the write it follows has committed.
    async fn prune_changes(&self, now: DateTime<Utc>) {
        let last = self.last_prune.load(Ordering::Relaxed);
        let due = now.timestamp() - last >= PRUNE_EVERY.num_seconds();
        if !due
            || self
                .last_prune
                .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let retention = TimeDelta::from_std(CHANGE_RETENTION).unwrap_or(TimeDelta::hours(1));
        let pruned = change::Entity::delete_many()
            .filter(change::Column::ChangeTime.lt(now - retention))
            .exec(&self.db)
            .await;
        if let Err(error) = pruned {
            tracing::warn!(%error, "pruning the webhook change log failed");
        }
    }

    /// The number of the newest change, 0 when there is none.
    pub async fn latest_change(&self) -> Result<i64, Error> {
        let newest = change::Entity::find()
            .order_by_desc(change::Column::Seq)
            .one(&self.db)
            .await
            .map_err(from_db)?;
        Ok(newest.map_or(0, |model| model.seq))
    }

    /// Up to `limit` changes numbered above `after`, in number order.
    pub async fn changes_after(&self, after: i64, limit: u64) -> Result<Vec<Change>, Error> {
        let models = change::Entity::find()
            .filter(change::Column::Seq.gt(after))
            .order_by_asc(change::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(from_db)?;
        Ok(models.into_iter().map(Change::from).collect())
    }

    /// How many webhooks there are, in every application.
    pub async fn count(&self) -> Result<u64, Error> {
        entity::Entity::find()
            .count(&self.db)
            .await
            .map_err(from_db)
    }

    /// The webhooks with these ids that exist, for routing: see [`Store::scan_routing`].
    pub async fn find_routing_by_ids(&self, ids: &[&str]) -> Result<Vec<Webhook>, Error> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let models = routing_columns()
                .filter(entity::Column::Id.is_in(chunk.iter().copied()))
                .into_model::<entity::Model>()
                .all(&self.db)
                .await
                .map_err(from_db)?;
            for model in models {
                found.push(from_model(model)?);
            }
        }
        Ok(found)
    }

    /// Up to `limit` webhooks of every application with ids after `after_id`, in id order,
    /// for routing: display names and descriptions come back empty, since only people
    /// read them and a gateway holding every webhook need not.
    pub async fn scan_routing(
        &self,
        after_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Webhook>, Error> {
        let mut query = routing_columns()
            .order_by_asc(entity::Column::Id)
            .limit(limit);
        if let Some(after) = after_id {
            query = query.filter(entity::Column::Id.gt(after));
        }
        let models = query
            .into_model::<entity::Model>()
            .all(&self.db)
            .await
            .map_err(from_db)?;
        models.into_iter().map(from_model).collect()
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
        webhook: &Webhook,
        secret: Secret,
    ) -> Result<bool, Error> {
        let name = &webhook.name;
        let txn = self.db.begin().await.map_err(from_db)?;
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
            .exec(&txn)
            .await
            .map_err(from_db)?;
        if result.rows_affected != 1 {
            txn.rollback().await.map_err(from_db)?;
            return Ok(false);
        }
        // Logged like every write, so every gateway's snapshot learns the secret.
        self.log_change(txn, webhook).await?;
        Ok(true)
    }

    /// Deletes the webhook if it is still at `current.revision`.
    pub async fn delete(&self, current: &Webhook) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(from_db)?;
        let result = entity::Entity::delete_many()
            .filter(entity::Column::Id.eq(current.name.webhook_id.as_str()))
            .filter(entity::Column::ApplicationId.eq(current.name.application_id.as_str()))
            .filter(entity::Column::Revision.eq(current.revision))
            .exec(&txn)
            .await
            .map_err(from_db)?;
        self.commit_one_row(txn, result.rows_affected, current)
            .await
    }

    async fn compare_and_set(&self, current: &Webhook, next: &Webhook) -> Result<(), Error> {
        let mut active = to_active(next)?;
        active.id = sea_orm::ActiveValue::NotSet;
        active.application_id = sea_orm::ActiveValue::NotSet;
        active.create_time = sea_orm::ActiveValue::NotSet;
        let txn = self.db.begin().await.map_err(from_db)?;
        let result = entity::Entity::update_many()
            .set(active)
            .filter(entity::Column::Id.eq(current.name.webhook_id.as_str()))
            .filter(entity::Column::ApplicationId.eq(current.name.application_id.as_str()))
            .filter(Expr::col(entity::Column::Revision).eq(current.revision))
            .exec(&txn)
            .await
            .map_err(from_db)?;
        self.commit_one_row(txn, result.rows_affected, current)
            .await
    }

    /// Logs and commits a write that touched one row. Zero rows touched means the webhook
    /// is gone or another writer got there first; nothing is committed then.
    async fn commit_one_row(
        &self,
        txn: DatabaseTransaction,
        rows: u64,
        current: &Webhook,
    ) -> Result<(), Error> {
        if rows == 1 {
            return self.log_change(txn, current).await;
        }
        txn.rollback().await.map_err(from_db)?;
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

/// Every column, except that the display name and description are read as empty.
fn routing_columns() -> sea_orm::Select<entity::Entity> {
    use sea_orm::{IdenStatic, Iterable};
    let people_only = |column: &entity::Column| {
        matches!(
            column,
            entity::Column::DisplayName | entity::Column::Description
        )
    };
    let mut select = entity::Entity::find()
        .select_only()
        .columns(entity::Column::iter().filter(|column| !people_only(column)));
    for column in entity::Column::iter().filter(people_only) {
        select = select.column_as(Expr::value(""), column.as_str());
    }
    select
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
        basic_auth_password_digest: Set(spec
            .basic_auth_password_digest
            .as_ref()
            .map(|digest| digest.expose().to_string())),
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
            hmac: hmac.map(Box::new),
            previous_secret: previous_secret.map(Box::new),
            response_code,
            wait_for_reply: model.wait_for_reply,
            reply_timeout: Duration::from_millis(reply_timeout),
            basic_auth_username: model.basic_auth_username,
            basic_auth_password_digest: model.basic_auth_password_digest.map(Secret::from),
            deduplication: deduplication.map(Box::new),
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
