//! Delivery claims: which deliveries of a deduplicated webhook are in Kafka, or being
//! published, shared by every gateway on the database.
//!
//! A row is `pending` while its owner publishes (until `expire_time_ms`, the owner's lease)
//! and `delivered` once Kafka acknowledged (until the window ends). Every change but the
//! first insert is a compare-and-set on `owner`, a value unique to each claim attempt, so
//! two gateways never both believe they hold a key.

use crate::{error::from_db, Store};
use hookgate_domain::Error;
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TryInsertResult,
};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_claims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub webhook_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_hash: String,
        pub owner: String,
        pub delivered: bool,
        pub expire_time_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// One delivery of one webhook, as stored. Times are Unix milliseconds of the gateways'
/// clocks, which keeps comparisons exact on every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub owner: String,
    pub delivered: bool,
    /// Until when the owner's lease (pending) or the window (delivered) lasts.
    pub expire_time_ms: i64,
}

/// The answer to a claim attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAttempt {
    /// The caller holds the key and should publish.
    Won,
    /// Someone else holds it: delivered, or still publishing.
    Held(ClaimRow),
}

/// How often a claim attempt retries when rows change under it.
const CLAIM_ROUNDS: usize = 4;

impl Store {
    /// Claims `key_hash` of `webhook_id` for `owner` until `lease_until_ms`, taking over a
    /// row whose lease or window ended before `now_ms`.
    pub async fn claim_delivery(
        &self,
        webhook_id: &str,
        key_hash: &str,
        owner: &str,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> Result<ClaimAttempt, Error> {
        let slot = Slot {
            webhook_id,
            key_hash,
        };
        slot.claim(&self.db, owner, lease_until_ms, now_ms).await
    }

    pub async fn find_claim(
        &self,
        webhook_id: &str,
        key_hash: &str,
    ) -> Result<Option<ClaimRow>, Error> {
        let slot = Slot {
            webhook_id,
            key_hash,
        };
        slot.find(&self.db).await
    }

    /// Marks `owner`'s claim delivered until `expire_time_ms`; false when it lost the key.
    pub async fn complete_claim(
        &self,
        webhook_id: &str,
        key_hash: &str,
        owner: &str,
        expire_time_ms: i64,
    ) -> Result<bool, Error> {
        let slot = Slot {
            webhook_id,
            key_hash,
        };
        slot.complete(&self.db, owner, expire_time_ms).await
    }

    /// Frees `owner`'s pending claim, so a retry of the delivery publishes.
    pub async fn release_claim(
        &self,
        webhook_id: &str,
        key_hash: &str,
        owner: &str,
    ) -> Result<bool, Error> {
        let result = Entity::delete_many()
            .filter(Column::WebhookId.eq(webhook_id))
            .filter(Column::KeyHash.eq(key_hash))
            .filter(Column::Owner.eq(owner))
            .filter(Column::Delivered.eq(false))
            .exec(&self.db)
            .await
            .map_err(from_db)?;
        Ok(result.rows_affected == 1)
    }

    /// Deletes up to `batch` claims that ended before `now_ms`; returns how many went.
    /// Small batches keep each statement short, so claims are never queued behind it.
    pub async fn purge_claims(&self, now_ms: i64, batch: u64) -> Result<u64, Error> {
        let expired = Query::select()
            .columns([Column::WebhookId, Column::KeyHash])
            .from(Entity)
            .and_where(Column::ExpireTimeMs.lt(now_ms))
            .limit(batch)
            .to_owned();
        let result = Entity::delete_many()
            .filter(
                Expr::tuple([
                    Expr::col(Column::WebhookId).into(),
                    Expr::col(Column::KeyHash).into(),
                ])
                .in_subquery(expired),
            )
            // A claim taken over since the select has a new expiry and stays.
            .filter(Column::ExpireTimeMs.lt(now_ms))
            .exec(&self.db)
            .await
            .map_err(from_db)?;
        Ok(result.rows_affected)
    }
}

/// One delivery of one webhook.
#[derive(Clone, Copy)]
struct Slot<'a> {
    webhook_id: &'a str,
    key_hash: &'a str,
}

impl Slot<'_> {
    async fn claim(
        self,
        db: &impl ConnectionTrait,
        owner: &str,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> Result<ClaimAttempt, Error> {
        for _ in 0..CLAIM_ROUNDS {
            let row = entity::ActiveModel {
                webhook_id: Set(self.webhook_id.to_owned()),
                key_hash: Set(self.key_hash.to_owned()),
                owner: Set(owner.to_owned()),
                delivered: Set(false),
                expire_time_ms: Set(lease_until_ms),
            };
            let inserted = Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([Column::WebhookId, Column::KeyHash])
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec_without_returning(db)
                .await
                .map_err(from_db)?;
            if matches!(inserted, TryInsertResult::Inserted(1)) {
                return Ok(ClaimAttempt::Won);
            }
            let Some(current) = self.find(db).await? else {
                continue; // released or purged in between: insert again
            };
            if current.expire_time_ms > now_ms {
                return Ok(ClaimAttempt::Held(current));
            }
            let taken = Entity::update_many()
                .col_expr(Column::Owner, Expr::value(owner))
                .col_expr(Column::Delivered, Expr::value(false))
                .col_expr(Column::ExpireTimeMs, Expr::value(lease_until_ms))
                .filter(Column::WebhookId.eq(self.webhook_id))
                .filter(Column::KeyHash.eq(self.key_hash))
                .filter(Column::Owner.eq(current.owner.as_str()))
                // The owner may have settled since the read; only the row as read goes.
                .filter(Column::ExpireTimeMs.eq(current.expire_time_ms))
                .filter(Column::Delivered.eq(current.delivered))
                .exec(db)
                .await
                .map_err(from_db)?;
            if taken.rows_affected == 1 {
                return Ok(ClaimAttempt::Won);
            }
        }
        Err(Error::Unavailable("delivery claim contended".into()))
    }

    async fn find(self, db: &impl ConnectionTrait) -> Result<Option<ClaimRow>, Error> {
        Ok(
            Entity::find_by_id((self.webhook_id.to_owned(), self.key_hash.to_owned()))
                .one(db)
                .await
                .map_err(from_db)?
                .map(|model| ClaimRow {
                    owner: model.owner,
                    delivered: model.delivered,
                    expire_time_ms: model.expire_time_ms,
                }),
        )
    }

    async fn complete(
        self,
        db: &impl ConnectionTrait,
        owner: &str,
        expire_time_ms: i64,
    ) -> Result<bool, Error> {
        let result = Entity::update_many()
            .col_expr(Column::Delivered, Expr::value(true))
            .col_expr(Column::ExpireTimeMs, Expr::value(expire_time_ms))
            .filter(Column::WebhookId.eq(self.webhook_id))
            .filter(Column::KeyHash.eq(self.key_hash))
            .filter(Column::Owner.eq(owner))
            .exec(db)
            .await
            .map_err(from_db)?;
        Ok(result.rows_affected == 1)
    }
}
