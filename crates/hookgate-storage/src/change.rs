//! The `webhook_changes` table: one row per write, numbered by the database, so gateways
//! can follow every create, update, rotation and deletion without reading all webhooks.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub webhook_id: String,
    /// The token the webhook had before the write: after a rotation or a deletion it
    /// must stop resolving.
    pub token: String,
    pub change_time: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// One write to a webhook, as gateways read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Assigned by the database in insertion order; commits may land out of order.
    pub seq: i64,
    pub webhook_id: String,
    /// The token that resolved to the webhook before this write.
    pub token: String,
}

impl From<Model> for Change {
    fn from(model: Model) -> Self {
        Self {
            seq: model.seq,
            webhook_id: model.webhook_id,
            token: model.token,
        }
    }
}
