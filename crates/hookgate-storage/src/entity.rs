//! The `webhooks` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub application_id: String,
    #[sea_orm(unique)]
    pub token: String,
    pub display_name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub disabled: bool,
    pub verification_type: String,
    pub verification_code: String,
    pub signing_secret: Option<String>,
    pub response_code: i32,
    pub wait_for_reply: bool,
    pub reply_timeout_ms: i64,
    pub basic_auth_username: String,
    pub basic_auth_password_digest: Option<String>,
    pub verification_provider: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub hmac: Option<String>,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expire_time: Option<ChronoDateTimeUtc>,
    pub revision: i64,
    pub create_time: ChronoDateTimeUtc,
    pub update_time: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
